//! A model version that only changes the back-end of the active one
//! (see `limen_face::back_end`) needs no new picture: the operator's
//! activation moves every stored set to it in place. Each person is moved
//! in one transaction with their audit entry (`vector.migrated`), so a run
//! killed half way leaves everyone either moved or untouched, and running
//! it again goes on from there. Nobody is e-mailed: while the retiring
//! version derives into the active one, no renewal request is due.

use limen_domain::{Actor, AuditAction, AuditDetail, FaceVector, ModelVersion, OrgId, PersonId};
use limen_face::{Centring, FaceModel};
use limen_store::{AuditRecord, EndedTransition};

use crate::audit;
use crate::error::ServiceError;
use crate::models::retired_entry;
use crate::operator::Operator;

/// People moved per round of the holders' list.
const HOLDERS_PER_ROUND: usize = 100;

/// What a migration in place did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub people: usize,
    /// The transition's end once nobody held the old version any more;
    /// `None` when another run ended it first.
    pub ended: Option<EndedTransition>,
}

/// Whether `active` derives from `retiring`, so that its holders migrate
/// in place instead of being asked to renew.
pub fn derives_in_place(active: &ModelVersion, retiring: &ModelVersion) -> bool {
    FaceModel::by_id(active.as_str()).is_some_and(|m| m.derives_from(retiring.as_str()))
}

impl Operator {
    /// Moves every set of `from` to `to` (the active version, which
    /// derives from it) with `back_end`, then ends the transition, which
    /// has nothing left to delete.
    pub async fn migrate_in_place(
        &self,
        from: &ModelVersion,
        to: &ModelVersion,
        back_end: &Centring,
    ) -> Result<Migrated, ServiceError> {
        if !derives_in_place(to, from) {
            return Err(ServiceError::Internal);
        }
        let derive = |stored: &FaceVector| {
            let derived = back_end.apply(stored.as_slice())?;
            FaceVector::new(derived.as_slice().to_vec()).ok()
        };
        let mut people = 0;
        loop {
            let holders = self.store().holders_of(from, HOLDERS_PER_ROUND).await?;
            if holders.is_empty() {
                break;
            }
            let before = people;
            for (org, id) in holders {
                let Some(person) = self.store().person(&org, &id).await? else {
                    continue;
                };
                let entry = migrated_entry(&org, &id, from, to);
                if self
                    .store()
                    .migrate_vectors(&entry, &person, from, to, derive)
                    .await?
                {
                    people += 1;
                }
            }
            if people == before {
                // Holders left that none of this round could move: ending
                // the transition would delete their vectors.
                tracing::error!(version = %from, "holders of the old version could not be migrated");
                return Err(ServiceError::Internal);
            }
        }
        let ended = self
            .store()
            .end_model_transition(retired_entry, limen_domain::now(), true)
            .await?;
        Ok(Migrated { people, ended })
    }
}

fn migrated_entry(
    org: &OrgId,
    person: &PersonId,
    from: &ModelVersion,
    to: &ModelVersion,
) -> AuditRecord {
    audit::entry(
        org.as_str(),
        &Actor::Operator,
        AuditAction::VectorMigrated,
        person.as_str(),
        AuditDetail::Migrated {
            from: from.clone(),
            to: to.clone(),
        },
    )
}
