//! Giving and withdrawing consent.

use limen_domain::{Consent, Person, Statement};

use crate::error::ServiceError;
use crate::{Services, audit};

impl Services {
    /// The privacy statement as the person's organisation shows it.
    pub async fn statement_for(&self, person: &Person) -> Result<Statement, ServiceError> {
        let org = self
            .store()
            .organisation(&person.org_id)
            .await?
            .ok_or(ServiceError::UnknownOrganisation)?;
        Ok(Statement::for_organisation(&org.name))
    }

    /// Records consent to the statement version the person read; refused
    /// when it is not the current one.
    pub async fn give_consent(
        &self,
        person: &Person,
        statement_version: &str,
        method: &str,
    ) -> Result<Consent, ServiceError> {
        if statement_version != self.statement_for(person).await?.version {
            return Err(ServiceError::StatementOutdated);
        }
        let entry = audit::by_employee(
            person,
            "consent.given",
            &format!("statement {statement_version} by {method}"),
        );
        Ok(self
            .store()
            .give_consent(&entry, person, statement_version, method)
            .await?)
    }

    /// Withdraws consent: the vectors are deleted in the same transaction
    /// and the person leaves every gallery. Returns whether there was an
    /// active consent.
    pub async fn withdraw_consent(&self, person: &Person) -> Result<bool, ServiceError> {
        let entry = audit::by_employee(person, "consent.withdrawn", "vector deleted");
        let withdrawn = self.store().withdraw_consent(&entry, person).await?;
        self.galleries
            .follow_own_removal(&person.org_id, &person.id)
            .await;
        Ok(withdrawn)
    }
}
