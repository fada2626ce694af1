//! An organisation's API keys: named, revocable, stored as hashes. The
//! admin token the operator hands out is the key named [`ADMIN_TOKEN_NAME`].

use limen_domain::{
    Actor, AdminCredential, ApiKey, ApiKeyId, Label, OrgAdmin, OrgId, UnixTime, now,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::AuditRecord;
use crate::store::{Store, StoreError, lock_organisation, parse_col};

/// The name of the key the operator issues (`limen admin org create`,
/// `limen admin org token`).
pub const ADMIN_TOKEN_NAME: &str = "admin token";

/// Keys an organisation may hold at once: enough for every system that
/// calls the API, few enough that each stays someone's to account for.
pub const MAX_API_KEYS: usize = 100;

/// How stale a key's last-used time may get before a request refreshes it,
/// so that using a key is not a write per request.
const LAST_USED_GRANULARITY: UnixTime = 60;

/// What came of asking for a new key.
#[derive(Debug)]
pub enum NewApiKey {
    Created(ApiKey),
    /// Another key of the organisation has that name, or it is the
    /// operator's admin token's.
    NameTaken,
    /// The organisation holds [`MAX_API_KEYS`] already.
    TooMany,
}

impl Store {
    /// Adds a key (given as its token's hash) to the admin's organisation,
    /// recorded as `audit` makes it.
    pub async fn create_api_key(
        &self,
        audit: impl FnOnce(&ApiKey) -> AuditRecord,
        org: &OrgId,
        name: &Label,
        token_hash: &[u8],
        made_by: &Actor,
    ) -> Result<NewApiKey, StoreError> {
        let mut tx = self.begin_write().await?;
        // Admins making keys at once take turns, so the count below stays
        // true until this key is in.
        if !lock_organisation(&mut tx, org).await? {
            return Err(StoreError::UnknownOrganisation);
        }
        let names: Vec<String> = sqlx::query("SELECT name FROM api_keys WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get("name"))
            .collect::<Result<_, _>>()?;
        // The operator's token keeps its name even while revoked: replacing
        // it must never take a key an admin made.
        if name.as_str() == ADMIN_TOKEN_NAME || names.iter().any(|n| n == name.as_str()) {
            return Ok(NewApiKey::NameTaken);
        }
        if names.len() >= MAX_API_KEYS {
            return Ok(NewApiKey::TooMany);
        }
        let key = insert_key(&mut tx, org, name, token_hash, made_by).await?;
        self.commit_audited(tx, &audit(&key)).await?;
        Ok(NewApiKey::Created(key))
    }

    /// The organisation's keys, oldest first.
    pub async fn api_keys(&self, org: &OrgId) -> Result<Vec<ApiKey>, StoreError> {
        sqlx::query(
            "SELECT id, name, created_at, last_used_at FROM api_keys WHERE org_id = $1 ORDER BY created_at, name",
        )
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(api_key_from_row)
        .collect()
    }

    /// Revokes a key; false when `org` has no such key.
    pub async fn revoke_api_key(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        key: &ApiKeyId,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND org_id = $2")
            .bind(key.as_str())
            .bind(org.as_str());
        self.change_audited(audit, change).await
    }

    /// The admin a key (given as its token's hash) lets in, noting that
    /// the key was used.
    pub async fn admin_for_api_key(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<OrgAdmin>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT id, org_id, last_used_at FROM api_keys WHERE token_hash = $1")
                .bind(token_hash.to_vec())
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let key = parse_col(&row, "id", ApiKeyId::parse)?;
        let last_used: Option<UnixTime> = row.try_get("last_used_at")?;
        let now = now();
        if last_used.is_none_or(|at| now - at >= LAST_USED_GRANULARITY) {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(key.as_str())
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(OrgAdmin {
            org: parse_col(&row, "org_id", OrgId::parse)?,
            by: AdminCredential::ApiKey(key),
        }))
    }

    /// Gives the organisation a new admin token (as its hash), replacing
    /// the one the operator issued before; its other keys stay. False when
    /// there is no such organisation.
    pub async fn replace_admin_token(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        token_hash: &[u8],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM organisations WHERE id = $1")
            .bind(org.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND name = $2")
            .bind(org.as_str())
            .bind(ADMIN_TOKEN_NAME)
            .execute(&mut *tx)
            .await?;
        insert_key(
            &mut tx,
            org,
            &admin_token_name(),
            token_hash,
            &Actor::Operator,
        )
        .await?;
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }
}

pub(crate) fn admin_token_name() -> Label {
    Label::parse(ADMIN_TOKEN_NAME).expect("the admin token's name is a label")
}

pub(crate) async fn insert_key(
    tx: &mut sqlx::AnyConnection,
    org: &OrgId,
    name: &Label,
    token_hash: &[u8],
    made_by: &Actor,
) -> Result<ApiKey, StoreError> {
    let key = ApiKey {
        id: ApiKeyId::generate(),
        name: name.clone(),
        created_at: now(),
        last_used_at: None,
    };
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, token_hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.id.as_str())
    .bind(org.as_str())
    .bind(key.name.as_str())
    .bind(token_hash.to_vec())
    .bind(key.created_at)
    .bind(made_by.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(key)
}

fn api_key_from_row(row: &AnyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: parse_col(row, "id", ApiKeyId::parse)?,
        name: parse_col(row, "name", Label::parse)?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;
    use crate::store::tests::{ScratchPostgres, bare_organisation};
    use crate::token::new_token;

    /// An organisation's admin token from before named keys (schema
    /// version 9) is its key named "admin token" after the upgrade.
    async fn the_admin_token_becomes_a_named_key(url: &str) {
        let master = || MasterKey::from_bytes([3; 32]);
        let old = Store::open_at(url, master(), 9).await.expect("version 9");
        let org = bare_organisation(&old).await;
        let (token, hash) = new_token();
        sqlx::query(
            "INSERT INTO admin_tokens (org_id, token_hash, created_at) VALUES ($1, $2, 1000)",
        )
        .bind(org.as_str())
        .bind(hash.to_vec())
        .execute(&old.pool)
        .await
        .expect("an admin token");
        old.close().await;

        let store = Store::open(url, master()).await.expect("migrated");
        let admin = store
            .admin_for_api_key(&crate::token::token_hash(&token))
            .await
            .expect("lookup")
            .expect("the old token still lets its admin in");
        assert_eq!(admin.org, org);
        let keys = store.api_keys(&org).await.expect("keys");
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (
                AdminCredential::ApiKey(keys[0].id.clone()),
                keys[0].name.as_str(),
                keys[0].created_at
            ),
            (admin.by, ADMIN_TOKEN_NAME, 1000)
        );
        assert!(keys[0].last_used_at.is_some(), "the lookup used it");
        store.close().await;
    }

    #[tokio::test]
    async fn sqlite_admin_tokens_become_named_keys() {
        let dir = std::env::temp_dir().join(format!("limen-keys-{}", OrgId::generate()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        the_admin_token_becomes_a_named_key(&format!("sqlite:{}", dir.join("limen.db").display()))
            .await;
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[tokio::test]
    async fn postgres_admin_tokens_become_named_keys() {
        if let Some(database) = ScratchPostgres::create().await {
            the_admin_token_becomes_a_named_key(&database.url).await;
            database.drop_database().await;
        }
    }
}
