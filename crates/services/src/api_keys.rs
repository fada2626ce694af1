//! An organisation's API keys: its admins make, list and revoke them; each
//! change is recorded in the organisation's chain with the key that made it.

use limen_domain::{ApiKey, ApiKeyId, AuditAction, AuditDetail, Label, OrgAdmin, OrgId};
use limen_store::NewApiKey;
use limen_store::token::new_token;

use crate::error::ServiceError;
use crate::{Services, audit};

/// A key as made: the token is shown this once; only its hash is stored.
pub struct ApiKeyToken {
    pub key: ApiKey,
    pub token: String,
}

impl Services {
    pub async fn create_api_key(
        &self,
        admin: &OrgAdmin,
        name: &Label,
    ) -> Result<ApiKeyToken, ServiceError> {
        let (token, hash) = new_token();
        let entry = |key: &ApiKey| {
            audit::by_admin(
                admin,
                AuditAction::ApiKeyCreated,
                key.id.as_str(),
                AuditDetail::Name {
                    name: key.name.as_str().to_owned(),
                },
            )
        };
        match self
            .store()
            .create_api_key(entry, &admin.org, name, &hash, &admin.actor())
            .await?
        {
            NewApiKey::Created(key) => Ok(ApiKeyToken { key, token }),
            NewApiKey::NameTaken => Err(ServiceError::ApiKeyNameTaken),
            NewApiKey::TooMany => Err(ServiceError::TooManyApiKeys),
        }
    }

    pub async fn api_keys(&self, org: &OrgId) -> Result<Vec<ApiKey>, ServiceError> {
        Ok(self.store().api_keys(org).await?)
    }

    /// Revokes a key of the admin's organisation (the one in use too);
    /// false when it has no such key.
    pub async fn revoke_api_key(
        &self,
        admin: &OrgAdmin,
        key: &ApiKeyId,
    ) -> Result<bool, ServiceError> {
        let entry = audit::by_admin(
            admin,
            AuditAction::ApiKeyRevoked,
            key.as_str(),
            AuditDetail::None,
        );
        Ok(self.store().revoke_api_key(&entry, &admin.org, key).await?)
    }
}
