//! The operator's services (`limen admin …`): organisations and the audit
//! trail's check. They hold no gallery: a running instance follows the
//! organisations deleted here through the change sequence, like any other
//! change it did not make itself.

use limen_domain::{Actor, OrgId, Organisation};
use limen_store::token::new_token;
use std::path::PathBuf;

use limen_store::{BrokenLink, MasterKey, OPERATOR_CHAIN, ORGANISATION_DELETED, Rotated, Store};

use crate::audit;
use crate::error::ServiceError;

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
                |org| audit::by_operator("organisation.created", &org.id, name),
                name,
                &hash,
            )
            .await?;
        Ok((org, AdminToken(token)))
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>, ServiceError> {
        Ok(self.store.organisations().await?)
    }

    /// A new admin token; every earlier one stops working.
    pub async fn replace_admin_token(&self, org: &OrgId) -> Result<AdminToken, ServiceError> {
        let (token, hash) = new_token();
        let entry = audit::by_operator("admin_token.replaced", org, "earlier tokens revoked");
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
        let entry = audit::by_operator(ORGANISATION_DELETED, org, "data and data key destroyed");
        if !self.store.delete_organisation(&entry, org).await? {
            return Err(ServiceError::UnknownOrganisation);
        }
        Ok(())
    }

    /// Re-keys the database under `new` (see
    /// [`Store::rotate_master_key`]); the rotation is recorded in the
    /// operator's chain.
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<Rotated, ServiceError> {
        let entry = |rotated: &Rotated| {
            let detail = format!(
                "{} organisations re-keyed, {} vector keys and {} connector secrets wrapped anew",
                rotated.organisations, rotated.vector_keys, rotated.connector_secrets
            );
            audit::entry(
                OPERATOR_CHAIN,
                &Actor::Operator,
                "master_key.rotated",
                "",
                &detail,
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
