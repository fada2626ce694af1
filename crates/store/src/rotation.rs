//! Rotating the master key: every organisation gets a new data key, what
//! its old one wrapped or sealed (its people's vector keys, its connector
//! secrets, its admins' second-factor secrets) is wrapped or sealed anew, and the new data keys and the audit
//! key are wrapped by the new master key, all in one transaction. Afterwards nothing in the database needs the old
//! master key or an old data key; once the old key file is gone, a copy of
//! the database taken before (a backup, a dead row left in a PostgreSQL
//! page, an old WAL segment) cannot be decrypted, including the vectors of
//! people deleted since and the data of organisations deleted since.

use limen_domain::{AdminId, EntranceId, OrgId, PersonId};
use sqlx::Row;

use crate::admin_totp::totp_context;
use crate::audit::{AuditKey, AuditRecord};
use crate::crypto::MasterKey;
use crate::entrances::secret_context;
use crate::faces::vector_key_context;
use crate::store::{Store, StoreError, parse_col};

/// What a rotation re-keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotated {
    pub organisations: usize,
    /// People's vector keys, re-wrapped (their vectors stay as sealed).
    pub vector_keys: usize,
    pub connector_secrets: usize,
    /// Admins' second-factor secrets, sealed anew.
    pub admin_secrets: usize,
}

impl Store {
    /// Re-keys the database under `new`. Either all of it is re-keyed or,
    /// on any error, none of it: the database then still opens with the
    /// current master key only, and afterwards with `new` only. Run it
    /// with no instance serving: a running one still holds the old key.
    /// The rotation is recorded as `audit` makes it from what was re-keyed.
    pub async fn rotate_master_key(
        &self,
        audit: impl FnOnce(&Rotated) -> AuditRecord,
        new: &MasterKey,
    ) -> Result<Rotated, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut rotated = Rotated {
            organisations: 0,
            vector_keys: 0,
            connector_secrets: 0,
            admin_secrets: 0,
        };
        // Locks every organisation's row (PostgreSQL) for the transaction.
        let orgs = sqlx::query("UPDATE organisations SET id = id RETURNING id, wrapped_key")
            .fetch_all(&mut *tx)
            .await?;
        for row in &orgs {
            let org = parse_col(row, "id", OrgId::parse)?;
            let wrapped: Vec<u8> = row.try_get("wrapped_key")?;
            let old = self
                .master_key()
                .unwrap_data_key(&wrapped, org.as_str())
                .map_err(|_| StoreError::KeyMismatch)?;
            let (fresh, fresh_wrapped) = new.new_data_key(org.as_str());

            let vector_keys = sqlx::query(
                "SELECT k.person_id, k.wrapped FROM vector_keys k \
                 JOIN people p ON p.id = k.person_id WHERE p.org_id = $1",
            )
            .bind(org.as_str())
            .fetch_all(&mut *tx)
            .await?;
            for vector_key in &vector_keys {
                let person = parse_col(vector_key, "person_id", PersonId::parse)?;
                let context = vector_key_context(&org, &person);
                let key = old
                    .unwrap_key(&vector_key.try_get::<Vec<u8>, _>("wrapped")?, &context)
                    .map_err(|_| StoreError::Corrupt("vector key"))?;
                sqlx::query("UPDATE vector_keys SET wrapped = $1 WHERE person_id = $2")
                    .bind(key.wrapped_by(&fresh, &context))
                    .bind(person.as_str())
                    .execute(&mut *tx)
                    .await?;
                rotated.vector_keys += 1;
            }

            let secrets = sqlx::query(
                "SELECT id, sealed_secret FROM entrances WHERE org_id = $1 AND sealed_secret IS NOT NULL",
            )
            .bind(org.as_str())
            .fetch_all(&mut *tx)
            .await?;
            for secret in &secrets {
                let entrance = parse_col(secret, "id", EntranceId::parse)?;
                let context = secret_context(&org, &entrance);
                let sealed: Vec<u8> = secret.try_get("sealed_secret")?;
                let plain = old
                    .open(&sealed, &context)
                    .map_err(|_| StoreError::Corrupt("entrance secret"))?;
                sqlx::query("UPDATE entrances SET sealed_secret = $1 WHERE id = $2")
                    .bind(fresh.seal(&plain, &context))
                    .bind(entrance.as_str())
                    .execute(&mut *tx)
                    .await?;
                rotated.connector_secrets += 1;
            }

            let admins = sqlx::query(
                "SELECT id, totp_secret, totp_pending FROM admins WHERE org_id = $1 \
                 AND (totp_secret IS NOT NULL OR totp_pending IS NOT NULL)",
            )
            .bind(org.as_str())
            .fetch_all(&mut *tx)
            .await?;
            for row in &admins {
                let admin = parse_col(row, "id", AdminId::parse)?;
                let context = totp_context(&org, &admin);
                let reseal = |column: &str| -> Result<Option<Vec<u8>>, StoreError> {
                    let sealed: Option<Vec<u8>> = row.try_get(column)?;
                    sealed
                        .map(|sealed| {
                            old.open(&sealed, &context)
                                .map(|plain| fresh.seal(&plain, &context))
                                .map_err(|_| StoreError::Corrupt("admin second factor"))
                        })
                        .transpose()
                };
                sqlx::query("UPDATE admins SET totp_secret = $1, totp_pending = $2 WHERE id = $3")
                    .bind(reseal("totp_secret")?)
                    .bind(reseal("totp_pending")?)
                    .bind(admin.as_str())
                    .execute(&mut *tx)
                    .await?;
                rotated.admin_secrets += 1;
            }

            sqlx::query("UPDATE organisations SET wrapped_key = $1 WHERE id = $2")
                .bind(fresh_wrapped)
                .bind(org.as_str())
                .execute(&mut *tx)
                .await?;
            rotated.organisations += 1;
        }
        // The audit key keeps its value, so that every link still verifies.
        sqlx::query("UPDATE wrapped_keys SET wrapped = $1 WHERE purpose = $2")
            .bind(new.wrap_key(self.audit_key.bytes(), AuditKey::PURPOSE))
            .bind(AuditKey::PURPOSE)
            .execute(&mut *tx)
            .await?;
        self.commit_audited(tx, &audit(&rotated)).await?;
        // SQLite: the old wrapped keys and ciphertexts leave the log too.
        self.shred_deleted().await;
        Ok(rotated)
    }
}
