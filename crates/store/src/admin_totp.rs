//! An admin's second factor: the shared secret of their authenticator app,
//! sealed under the organisation's data key (re-sealed when the master key
//! rotates), and the last time step whose code was taken.

use limen_domain::{AdminId, OrgId};
use sqlx::Row;
use zeroize::Zeroizing;

use crate::store::{Store, StoreError};

/// An admin's second factor as it stands.
pub enum AdminTotp {
    Off,
    /// Being set up: the secret shown, not yet confirmed by a code.
    Pending(Zeroizing<Vec<u8>>),
    On(Zeroizing<Vec<u8>>),
}

pub(crate) fn totp_context(org: &OrgId, admin: &AdminId) -> Vec<u8> {
    format!("limen admin totp\0{org}\0{admin}").into_bytes()
}

impl Store {
    pub async fn admin_totp(&self, org: &OrgId, admin: &AdminId) -> Result<AdminTotp, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) = sqlx::query(
            "SELECT totp_secret, totp_pending FROM admins WHERE org_id = $1 AND id = $2",
        )
        .bind(org.as_str())
        .bind(admin.as_str())
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(AdminTotp::Off);
        };
        let on: Option<Vec<u8>> = row.try_get("totp_secret")?;
        let pending: Option<Vec<u8>> = row.try_get("totp_pending")?;
        let context = totp_context(org, admin);
        let open = |sealed: Vec<u8>, key: &crate::crypto::DataKey| {
            key.open(&sealed, &context)
                .map_err(|_| StoreError::Corrupt("admin second factor"))
        };
        Ok(match (on, pending) {
            (Some(sealed), _) => {
                AdminTotp::On(open(sealed, &self.data_key(&mut conn, org).await?)?)
            }
            (None, Some(sealed)) => {
                AdminTotp::Pending(open(sealed, &self.data_key(&mut conn, org).await?)?)
            }
            (None, None) => AdminTotp::Off,
        })
    }

    /// Whether the admin signs in with a code, read without opening the
    /// secret.
    pub async fn admin_totp_on(&self, org: &OrgId, admin: &AdminId) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS totp_on \
             FROM admins WHERE org_id = $1 AND id = $2",
        )
        .bind(org.as_str())
        .bind(admin.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => row.try_get::<i64, _>("totp_on")? == 1,
            None => false,
        })
    }

    /// Keeps a secret being set up, replacing one set up before and not
    /// confirmed; false when the second factor is on already.
    pub async fn set_pending_admin_totp(
        &self,
        org: &OrgId,
        admin: &AdminId,
        secret: &[u8],
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let sealed = self
            .data_key(&mut conn, org)
            .await?
            .seal(secret, &totp_context(org, admin));
        let done = sqlx::query(
            "UPDATE admins SET totp_pending = $1 \
             WHERE org_id = $2 AND id = $3 AND totp_secret IS NULL",
        )
        .bind(sealed)
        .bind(org.as_str())
        .bind(admin.as_str())
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns the pending secret on, the code that confirmed it taken
    /// (`step`); false when none was pending.
    pub async fn enable_admin_totp(
        &self,
        org: &OrgId,
        admin: &AdminId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE admins SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 \
             WHERE org_id = $2 AND id = $3 AND totp_pending IS NOT NULL AND totp_secret IS NULL",
        )
        .bind(step)
        .bind(org.as_str())
        .bind(admin.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes the code of `step`: false when that step's code or a later
    /// one was taken already, so that a code seen over a shoulder or in a
    /// proxy's log cannot sign in a second time.
    pub async fn take_admin_totp_step(
        &self,
        admin: &AdminId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE admins SET totp_last_step = $1 \
             WHERE id = $2 AND totp_secret IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(admin.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn disable_admin_totp(&self, org: &OrgId, admin: &AdminId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE admins SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org.as_str())
        .bind(admin.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
