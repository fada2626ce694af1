//! What a person sees of their own data: an overview for their account
//! page, and everything held on them for export. Typed, so that the API
//! and the pages serialise or render the same thing.

use limen_domain::{
    AcsId, AuditAction, AuditDetail, Consent, DecisionEvent, EmailAddress, FaceVector, Language,
    ModelVersion, OrgId, Person, PersonId, PersonName, Recorded, UnixTime, now,
};
use serde::Serialize;

use crate::error::ServiceError;
use crate::{Services, audit};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OrganisationName {
    pub id: OrgId,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AccountOverview {
    pub person_id: PersonId,
    pub organisation: OrganisationName,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: EmailAddress,
    /// The active consent, if any.
    pub consent: Option<Consent>,
    /// When the active consent lapses because it names an older privacy
    /// statement than the one shown now (consent again to keep it).
    pub consent_lapses_at: Option<UnixTime>,
    /// The stored face, if any: never its numbers here.
    pub face: Option<FaceSummary>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FaceSummary {
    pub model_version: ModelVersion,
    pub enrolled_at: UnixTime,
    pub vectors: usize,
    /// Made by an older model than the one entrances use now.
    pub renewal_needed: bool,
}

/// Everything held on the person, the vectors included: it is their data.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PersonExport {
    pub exported_at: UnixTime,
    pub organisation: OrganisationName,
    pub person: ExportedPerson,
    pub account: ExportedAccount,
    pub consents: Vec<Consent>,
    pub face_vectors: Vec<ExportedVector>,
    pub cancelled_registrations: Vec<UnixTime>,
    /// The e-mails that asked them to renew their face for a new model.
    pub renewal_requests: Vec<ExportedRenewalRequest>,
    /// The e-mails that asked them to consent to a new privacy statement.
    pub reconsent_requests: Vec<ExportedReconsentRequest>,
    /// The decisions at the organisation's entrances that named them.
    pub decisions: Vec<DecisionEvent>,
    /// What the audit trail records about them (consents, enrolments,
    /// vectors migrated or retired, exports …), oldest first.
    pub history: Vec<ExportedEvent>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExportedEvent {
    pub at: UnixTime,
    /// `employee:<id>`, `admin`, `operator` or `anonymous`.
    pub actor: String,
    /// The action's code, e.g. `consent.given`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub action: Recorded<AuditAction>,
    /// In English; empty when the action says it all.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub detail: Recorded<AuditDetail>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExportedReconsentRequest {
    /// The statement version they were asked to consent to.
    pub statement_version: String,
    pub sent_at: UnixTime,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExportedRenewalRequest {
    /// The version they were asked to enrol with.
    pub model_version: ModelVersion,
    /// 0 for the first request, then the reminders.
    pub notice: u32,
    pub sent_at: UnixTime,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExportedPerson {
    pub id: PersonId,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: EmailAddress,
    pub acs_id: AcsId,
    pub imported_at: UnixTime,
    pub invited_at: Option<UnixTime>,
    /// The language they chose to read Limen in, if they chose.
    pub language: Option<Language>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExportedAccount {
    pub name: EmailAddress,
    pub password: &'static str,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExportedVector {
    pub model_version: ModelVersion,
    pub enrolled_at: UnixTime,
    pub values: FaceVector,
}

impl Services {
    pub async fn account_overview(&self, person: &Person) -> Result<AccountOverview, ServiceError> {
        let organisation = self.organisation_name(person).await?;
        let consent = self
            .store()
            .consents(person)
            .await?
            .into_iter()
            .find(Consent::is_active);
        let vectors = self.store().vectors(person).await?;
        let active = self.in_use().await?.rollout.active.clone();
        let face = vectors.first().map(|first| FaceSummary {
            model_version: first.model_version.clone(),
            enrolled_at: first.enrolled_at,
            vectors: vectors.len(),
            renewal_needed: first.model_version != active,
        });
        let consent_lapses_at = match consent {
            Some(_) => self.consent_lapses_at(person).await?,
            None => None,
        };
        Ok(AccountOverview {
            person_id: person.id.clone(),
            organisation,
            first_name: person.first_name.clone(),
            last_name: person.last_name.clone(),
            email: person.email.clone(),
            consent,
            consent_lapses_at,
            face,
        })
    }

    /// Everything held on the person. The export is recorded first: an
    /// export that cannot be recorded is refused.
    pub async fn export(&self, person: &Person) -> Result<PersonExport, ServiceError> {
        self.store()
            .audit(&audit::by_employee(
                person,
                AuditAction::DataExported,
                AuditDetail::None,
            ))
            .await?;
        let organisation = self.organisation_name(person).await?;
        let consents = self.store().consents(person).await?;
        let face_vectors = self
            .store()
            .vectors(person)
            .await?
            .into_iter()
            .map(|v| ExportedVector {
                model_version: v.model_version,
                enrolled_at: v.enrolled_at,
                values: v.vector,
            })
            .collect();
        let cancelled_registrations = self.store().cancellations(person).await?;
        let reconsent_requests = self
            .store()
            .reconsent_requests(&person.id)
            .await?
            .into_iter()
            .map(|(statement_version, sent_at)| ExportedReconsentRequest {
                statement_version,
                sent_at,
            })
            .collect();
        let renewal_requests = self
            .store()
            .renewal_notices(&person.id)
            .await?
            .into_iter()
            .map(|(model_version, notice, sent_at)| ExportedRenewalRequest {
                model_version,
                notice,
                sent_at,
            })
            .collect();
        let decisions = self
            .store()
            .decisions_about(&person.org_id, &person.id)
            .await?;
        let history = self
            .store()
            .audit_about(person.org_id.as_str(), person.id.as_str())
            .await?
            .into_iter()
            .map(|entry| ExportedEvent {
                at: entry.at,
                actor: entry.actor,
                action: entry.action,
                detail: entry.detail,
            })
            .collect();
        Ok(PersonExport {
            exported_at: now(),
            organisation,
            person: ExportedPerson {
                id: person.id.clone(),
                first_name: person.first_name.clone(),
                last_name: person.last_name.clone(),
                email: person.email.clone(),
                acs_id: person.acs_id.clone(),
                imported_at: person.created_at,
                invited_at: person.invited_at,
                language: person.language,
            },
            account: ExportedAccount {
                name: person.email.clone(),
                password: "stored only as an Argon2id hash, which is not exported",
            },
            consents,
            face_vectors,
            cancelled_registrations,
            renewal_requests,
            reconsent_requests,
            decisions,
            history,
        })
    }

    pub(crate) async fn organisation_name(
        &self,
        person: &Person,
    ) -> Result<OrganisationName, ServiceError> {
        let org = self
            .store()
            .organisation(&person.org_id)
            .await?
            .ok_or(ServiceError::UnknownOrganisation)?;
        Ok(OrganisationName {
            id: org.id,
            name: org.name,
        })
    }
}
