//! The operator's services (`limen admin …`): organisations, the model
//! rollout and the audit trail's check. They hold no gallery: a running
//! instance follows the organisations deleted and the models activated
//! here through the store, like any other change it did not make itself.

use std::time::Duration;

use limen_domain::{
    Actor, AuditAction, AuditDetail, ModelRollout, ModelVersion, OrgId, Organisation, now,
};
use limen_face::FaceModel;
use limen_matcher::calibration_for;
use limen_store::token::new_token;
use std::path::PathBuf;

use limen_store::{
    BrokenLink, EndedTransition, MasterKey, OPERATOR_CHAIN, Rotated, Store, VersionHolding,
};

use crate::audit;
use crate::error::ServiceError;
use crate::models::retired_entry;

pub struct Operator {
    store: Store,
}

/// An organisation's admin token, shown this once; only its hash is stored.
pub struct AdminToken(pub String);

impl Operator {
    pub fn new(store: Store) -> Operator {
        Operator { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates an organisation, with its data key and first admin token.
    pub async fn create_organisation(
        &self,
        name: &str,
    ) -> Result<(Organisation, AdminToken), ServiceError> {
        let (token, hash) = new_token();
        let org = self
            .store
            .create_organisation(
                |org| {
                    audit::by_operator(
                        AuditAction::OrganisationCreated,
                        &org.id,
                        AuditDetail::Name {
                            name: name.to_owned(),
                        },
                    )
                },
                name,
                &hash,
            )
            .await?;
        Ok((org, AdminToken(token)))
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>, ServiceError> {
        Ok(self.store.organisations().await?)
    }

    /// Renames an organisation. Its privacy statement names it, so the
    /// statement changes: everyone who consented is asked to consent again.
    pub async fn rename_organisation(&self, org: &OrgId, name: &str) -> Result<(), ServiceError> {
        let entry = audit::by_operator(
            AuditAction::OrganisationRenamed,
            org,
            AuditDetail::Name {
                name: name.to_owned(),
            },
        );
        if !self.store.rename_organisation(&entry, org, name).await? {
            return Err(ServiceError::UnknownOrganisation);
        }
        Ok(())
    }

    /// A new admin token; the one the operator issued before stops
    /// working (the keys the organisation's admins made stay).
    pub async fn replace_admin_token(&self, org: &OrgId) -> Result<AdminToken, ServiceError> {
        let (token, hash) = new_token();
        let entry = audit::by_operator(AuditAction::AdminTokenReplaced, org, AuditDetail::None);
        if !self.store.replace_admin_token(&entry, org, &hash).await? {
            return Err(ServiceError::UnknownOrganisation);
        }
        Ok(AdminToken(token))
    }

    /// Erases the organisation with everything it holds and destroys its
    /// data key. Every running instance drops its gallery: at once when
    /// the announcement reaches it, and in any case before it searches
    /// another frame.
    pub async fn delete_organisation(&self, org: &OrgId) -> Result<(), ServiceError> {
        let entry = audit::by_operator(AuditAction::OrganisationDeleted, org, AuditDetail::None);
        if !self.store.delete_organisation(&entry, org).await? {
            return Err(ServiceError::UnknownOrganisation);
        }
        Ok(())
    }

    /// The rollout (as the first instance started it, or as a new database
    /// would start) and, per organisation and version, who holds vectors.
    pub async fn models(&self) -> Result<(ModelRollout, Vec<VersionHolding>), ServiceError> {
        let rollout = self.rollout().await?;
        Ok((rollout, self.store.vectors_by_version().await?))
    }

    /// Makes `version` the one enrolment uses. The previous version stays
    /// matched for `transition`, while its holders are asked to renew (and
    /// reminded `reminders` before the end); then its vectors are deleted.
    pub async fn activate_model(
        &self,
        version: FaceModel,
        transition: Duration,
        reminders: &[Duration],
    ) -> Result<ModelRollout, ServiceError> {
        if calibration_for(version.id).is_none() {
            return Err(ServiceError::Uncalibrated(version.id.to_owned()));
        }
        self.rollout().await?;
        let at = now();
        let seconds = |d: &Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let reminders: Vec<i64> = reminders.iter().map(seconds).collect();
        let ends_at = at.saturating_add(seconds(&transition));
        let entry = audit::entry(
            OPERATOR_CHAIN,
            &Actor::Operator,
            AuditAction::ModelActivated,
            version.id,
            AuditDetail::Activated { until: ends_at },
        );
        Ok(self
            .store
            .activate_model(
                &entry,
                &ModelVersion::new(version.id),
                at,
                ends_at,
                &reminders,
            )
            .await??)
    }

    /// Ends the transition now: the retiring version's vectors are deleted
    /// and their holders need to enrol again. `None` if there was none.
    pub async fn end_model_transition(&self) -> Result<Option<EndedTransition>, ServiceError> {
        Ok(self
            .store
            .end_model_transition(retired_entry, now(), true)
            .await?)
    }

    async fn rollout(&self) -> Result<ModelRollout, ServiceError> {
        Ok(self
            .store
            .start_model_rollout(&ModelVersion::new(FaceModel::DEFAULT.id))
            .await?)
    }

    /// Re-keys the database under `new` (see
    /// [`Store::rotate_master_key`]); the rotation is recorded in the
    /// operator's chain.
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<Rotated, ServiceError> {
        let entry = |rotated: &Rotated| {
            let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
            let detail = AuditDetail::Rekeyed {
                organisations: count(rotated.organisations),
                vector_keys: count(rotated.vector_keys),
                connector_secrets: count(rotated.connector_secrets),
                admin_secrets: count(rotated.admin_secrets),
            };
            audit::entry(
                OPERATOR_CHAIN,
                &Actor::Operator,
                AuditAction::MasterKeyRotated,
                "",
                detail,
            )
        };
        Ok(self.store.rotate_master_key(entry, new).await?)
    }

    /// Checks every chain of the audit trail, against the store's anchor
    /// and `other_anchors` too: how many entries were checked, or the
    /// first broken link.
    pub async fn verify_audit(
        &self,
        other_anchors: &[PathBuf],
    ) -> Result<Result<usize, BrokenLink>, ServiceError> {
        Ok(self.store.verify_audit(other_anchors).await?)
    }
}
