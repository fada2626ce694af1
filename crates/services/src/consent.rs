//! Giving and withdrawing consent.

use limen_domain::{AuditAction, AuditDetail, Consent, Language, Person, Statement};

use crate::error::ServiceError;
use crate::{Services, audit};

impl Services {
    /// The privacy statement as the person's organisation shows it in
    /// `language`.
    pub async fn statement_for(
        &self,
        person: &Person,
        language: Language,
    ) -> Result<Statement, ServiceError> {
        Ok(Statement::for_organisation(
            &self.organisation_name(person).await?.name,
            language,
        ))
    }

    /// Records consent to the statement version the person read, with the
    /// language it is in; refused when it is not a current one.
    pub async fn give_consent(
        &self,
        person: &Person,
        statement_version: &str,
        method: &str,
    ) -> Result<Consent, ServiceError> {
        let name = self.organisation_name(person).await?.name;
        let Some(language) = Language::ALL.into_iter().find(|language| {
            Statement::for_organisation(&name, *language).version == statement_version
        }) else {
            return Err(ServiceError::StatementOutdated);
        };
        let entry = audit::by_employee(
            person,
            AuditAction::ConsentGiven,
            AuditDetail::Consent {
                statement: statement_version.to_owned(),
                language,
                method: method.to_owned(),
            },
        );
        Ok(self
            .store()
            .give_consent(&entry, person, statement_version, language, method)
            .await?)
    }

    /// Withdraws consent: the vectors are deleted in the same transaction
    /// and the person leaves every gallery. Returns whether there was an
    /// active consent.
    pub async fn withdraw_consent(&self, person: &Person) -> Result<bool, ServiceError> {
        let entry = audit::by_employee(person, AuditAction::ConsentWithdrawn, AuditDetail::None);
        let withdrawn = self.store().withdraw_consent(&entry, person).await?;
        self.galleries
            .follow_own_removal(&person.org_id, &person.id)
            .await;
        Ok(withdrawn)
    }
}
