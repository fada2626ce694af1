//! Giving and withdrawing consent.

use limen_domain::{Actor, Consent, Person, Statement};

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
        let consent = self
            .store()
            .give_consent(person, statement_version, method)
            .await?;
        self.audit_employee(
            person,
            "consent.given",
            &format!("statement {statement_version} by {method}"),
        )
        .await;
        Ok(consent)
    }

    /// Withdraws consent: the vectors are deleted in the same transaction
    /// and the person leaves every gallery. Returns whether there was an
    /// active consent.
    pub async fn withdraw_consent(&self, person: &Person) -> Result<bool, ServiceError> {
        let withdrawn = self.store().withdraw_consent(person).await?;
        self.galleries.follow_own_change().await;
        if withdrawn {
            self.audit_employee(person, "consent.withdrawn", "vector deleted")
                .await;
        }
        Ok(withdrawn)
    }

    pub(crate) async fn audit_employee(&self, person: &Person, action: &str, detail: &str) {
        audit::record(
            self.store(),
            person.org_id.as_str(),
            &Actor::Employee(person.id.clone()),
            action,
            person.id.as_str(),
            detail,
        )
        .await;
    }
}
