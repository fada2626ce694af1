//! Dropping what has outlived its retention period.

use limen_domain::{UnixTime, now};

use crate::store::{Store, StoreError};

impl Store {
    /// Drops expired sessions (employees' and admins'), invitations and
    /// password links, admins invited whose link expired unused, and cancellation records
    /// older than `cancellations_before`; on SQLite, then empties the
    /// write-ahead log, which also completes any checkpoint a reader held
    /// back after a deletion of biometric data.
    pub async fn purge_expired(&self, cancellations_before: UnixTime) -> Result<(), StoreError> {
        let now = now();
        for expiring in [
            "sessions",
            "admin_sessions",
            "invitations",
            "password_resets",
        ] {
            sqlx::query(&format!("DELETE FROM {expiring} WHERE expires_at <= $1"))
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        sqlx::query(
            "DELETE FROM admins WHERE registered_at IS NULL AND invitation_expires_at <= $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM cancellations WHERE cancelled_at < $1")
            .bind(cancellations_before)
            .execute(&self.pool)
            .await?;
        self.truncate_wal().await
    }

    /// Deletes decision events older than `before` (their retention is over).
    pub async fn purge_decision_events(&self, before: UnixTime) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM decision_events WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
