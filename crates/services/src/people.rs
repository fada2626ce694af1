//! The organisation admin's side of people: importing them, inviting them,
//! and erasing a person who has left.

use limen_domain::{
    AuditAction, AuditDetail, ImportReport, NewPerson, OrgAdmin, OrgId, Organisation, Person,
    PersonId, PersonOverview, RowError, UnixTime, now,
};
use limen_store::token::new_token;

use crate::error::ServiceError;
use crate::{Services, audit};

/// Rows an import writes per transaction: each takes tens of
/// milliseconds, so other writers wait no longer than that.
pub const IMPORT_BATCH: usize = 1_000;

/// An invitation made but not yet sent: its link works only once
/// [`Services::record_invitation`] has stored it.
pub struct Invitation {
    pub person: Person,
    pub organisation: Organisation,
    /// The secret of the registration link, shown only in the mail.
    pub token: String,
    token_hash: [u8; 32],
    pub expires_at: UnixTime,
}

impl Services {
    /// Imports people: `rows` as checked one by one (a row that did not
    /// parse carries its errors). If any row is wrong or clashes with
    /// another or with someone already there, nothing is written and every
    /// problem is returned. Otherwise the rows are written in batches of
    /// [`IMPORT_BATCH`], each in its own transaction with its own audit
    /// entry, so that a large import never holds the database from other
    /// writers (on SQLite one writer holds the whole file) for longer than
    /// one batch. Should a later batch fail (someone else took an ACS id
    /// meanwhile, the database went away), the batches before it stay
    /// written; sending the same rows again is safe, as known e-mail
    /// addresses are updated.
    pub async fn import_people(
        &self,
        admin: &OrgAdmin,
        rows: Vec<Result<NewPerson, Vec<RowError>>>,
    ) -> Result<ImportReport, ServiceError> {
        let org = &admin.org;
        let people = self
            .check_import(org, rows)
            .await?
            .map_err(ServiceError::ImportRefused)?;
        let total = people.len();
        let mut report = ImportReport {
            created: 0,
            updated: 0,
        };
        for (done, batch) in people.chunks(IMPORT_BATCH).enumerate() {
            // Counted in people, not in the file's rows (whose numbers
            // skip a CSV's header and blank lines).
            let first = done * IMPORT_BATCH + 1;
            let last = first + batch.len() - 1;
            let entry = |written: &ImportReport| {
                let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
                let detail = AuditDetail::Imported {
                    first: count(first),
                    last: count(last),
                    total: count(total),
                    created: count(written.created),
                    updated: count(written.updated),
                };
                audit::by_admin(admin, AuditAction::PeopleImported, "", detail)
            };
            let interrupted = |errors| {
                let written = report.created + report.updated;
                if written == 0 {
                    ServiceError::ImportRefused(errors)
                } else {
                    ServiceError::ImportInterrupted {
                        written,
                        total,
                        errors,
                    }
                }
            };
            match self.store().import_people(entry, org, batch).await {
                Ok(Ok(written)) => {
                    report.created += written.created;
                    report.updated += written.updated;
                }
                Ok(Err(errors)) => return Err(interrupted(errors)),
                Err(e) if report.created + report.updated == 0 => return Err(e.into()),
                Err(e) => {
                    tracing::error!(error = %e, "an import stopped part way");
                    return Err(interrupted(Vec::new()));
                }
            }
        }
        Ok(report)
    }

    /// What importing `rows` would meet, without writing anything: each
    /// row's own errors, and clashes with each other and with people
    /// already in the organisation, ordered by row. The people, when there
    /// are none. [`Services::import_people`] checks the same, and the store
    /// again inside each write.
    pub async fn check_import(
        &self,
        org: &OrgId,
        rows: Vec<Result<NewPerson, Vec<RowError>>>,
    ) -> Result<Result<Vec<NewPerson>, Vec<RowError>>, ServiceError> {
        let mut people = Vec::with_capacity(rows.len());
        let mut errors = Vec::new();
        for row in rows {
            match row {
                Ok(person) => people.push(person),
                Err(row_errors) => errors.extend(row_errors),
            }
        }
        errors.extend(self.store().import_conflicts(org, &people).await?);
        if errors.is_empty() {
            return Ok(Ok(people));
        }
        errors.sort_by_key(|e| e.row);
        Ok(Err(errors))
    }

    /// Everyone in the organisation with their status (vectors of an older
    /// model than the engine's need renewal). Never a face.
    pub async fn people(&self, org: &OrgId) -> Result<Vec<PersonOverview>, ServiceError> {
        let active = self.in_use().await?.rollout.active.clone();
        Ok(self.store().people(org, &active).await?)
    }

    /// At most `limit` of the organisation's people from `offset` on whose
    /// name or e-mail address holds `search` (everyone when it is empty),
    /// in the order of [`Services::people`], and how many match in all.
    pub async fn people_page(
        &self,
        org: &OrgId,
        search: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<PersonOverview>, usize), ServiceError> {
        let active = self.in_use().await?.rollout.active.clone();
        Ok(self
            .store()
            .people_page(org, &active, search, offset, limit)
            .await?)
    }

    /// One of the organisation's people; [`ServiceError::UnknownPerson`]
    /// when it has no such person (another organisation's included).
    pub async fn person(&self, org: &OrgId, person: &PersonId) -> Result<Person, ServiceError> {
        self.store()
            .person(org, person)
            .await?
            .ok_or(ServiceError::UnknownPerson)
    }

    /// Makes a registration link for a person who has not registered yet.
    pub async fn new_invitation(
        &self,
        org: &OrgId,
        person: &PersonId,
    ) -> Result<Invitation, ServiceError> {
        let person = self.person(org, person).await?;
        let registered = self
            .store()
            .accounts_by_email(&person.email)
            .await?
            .iter()
            .any(|(p, _)| p.id == person.id);
        if registered {
            return Err(ServiceError::AlreadyRegistered);
        }
        let organisation = self
            .store()
            .organisation(org)
            .await?
            .ok_or(ServiceError::UnknownOrganisation)?;
        let (token, token_hash) = new_token();
        let expires_at = now() + i64::from(self.retention().invitation_days) * 86_400;
        Ok(Invitation {
            person,
            organisation,
            token,
            token_hash,
            expires_at,
        })
    }

    /// Stores an invitation once its mail is out, replacing (and so
    /// voiding) any earlier link: a failed send leaves the earlier link
    /// working and the person's status as it was.
    pub async fn record_invitation(
        &self,
        admin: &OrgAdmin,
        invitation: &Invitation,
    ) -> Result<(), ServiceError> {
        let person = &invitation.person;
        let entry = audit::by_admin(
            admin,
            AuditAction::InvitationSent,
            person.id.as_str(),
            AuditDetail::Invitation {
                expires_at: invitation.expires_at,
            },
        );
        self.store()
            .replace_invitation(
                &entry,
                &person.org_id,
                &person.id,
                &invitation.token_hash,
                invitation.expires_at,
            )
            .await?;
        Ok(())
    }

    /// The person has left: everything about them is erased and they leave
    /// every gallery. False when the organisation has no such person.
    pub async fn erase_person(
        &self,
        admin: &OrgAdmin,
        person: &PersonId,
    ) -> Result<bool, ServiceError> {
        let org = &admin.org;
        let entry = audit::by_admin(
            admin,
            AuditAction::PersonErased,
            person.as_str(),
            AuditDetail::None,
        );
        let erased = self.store().delete_person(&entry, org, person).await?;
        if !erased {
            return Ok(false);
        }
        self.galleries.follow_own_removal(org, person).await;
        Ok(true)
    }
}
