//! The language people read Limen in: their own choice, else (on pages)
//! their browser's, else their organisation's default.

use limen_domain::{AuditAction, AuditDetail, Language, OrgAdmin, OrgId, Person};

use crate::error::ServiceError;
use crate::{Services, audit};

impl Services {
    /// Records the language the person chose.
    pub async fn choose_language(
        &self,
        person: &Person,
        language: Language,
    ) -> Result<(), ServiceError> {
        let entry = audit::by_employee(
            person,
            AuditAction::LanguageChosen,
            AuditDetail::Language { language },
        );
        if !self
            .store()
            .set_person_language(&entry, person, language)
            .await?
        {
            return Err(ServiceError::UnknownPerson);
        }
        Ok(())
    }

    /// Sets the language of the organisation's people who chose none.
    pub async fn set_organisation_language(
        &self,
        admin: &OrgAdmin,
        language: Language,
    ) -> Result<(), ServiceError> {
        let org = &admin.org;
        let entry = audit::by_admin(
            admin,
            AuditAction::LanguageChanged,
            org.as_str(),
            AuditDetail::Language { language },
        );
        if !self
            .store()
            .set_organisation_language(&entry, org, language)
            .await?
        {
            return Err(ServiceError::UnknownOrganisation);
        }
        Ok(())
    }

    /// Sets the time zone (an IANA name the caller checked) the
    /// organisation's admins read times in.
    pub async fn set_organisation_time_zone(
        &self,
        admin: &OrgAdmin,
        time_zone: &str,
    ) -> Result<(), ServiceError> {
        let org = &admin.org;
        let entry = audit::by_admin(
            admin,
            AuditAction::TimeZoneChanged,
            org.as_str(),
            AuditDetail::TimeZone {
                zone: time_zone.to_owned(),
            },
        );
        if !self
            .store()
            .set_organisation_time_zone(&entry, org, time_zone)
            .await?
        {
            return Err(ServiceError::UnknownOrganisation);
        }
        Ok(())
    }

    /// The organisation's default language.
    pub async fn organisation_language(&self, org: &OrgId) -> Result<Language, ServiceError> {
        Ok(self
            .store()
            .organisation(org)
            .await?
            .ok_or(ServiceError::UnknownOrganisation)?
            .language)
    }

    /// The language the person reads where no browser asks (e-mail): their
    /// choice, else their organisation's.
    pub async fn mail_language(&self, person: &Person) -> Result<Language, ServiceError> {
        Ok(match person.language {
            Some(chosen) => chosen,
            None => self.organisation_language(&person.org_id).await?,
        })
    }
}
