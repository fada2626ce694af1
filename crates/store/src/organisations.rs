//! Organisations (the operator's customers) and their data keys.

use limen_domain::{Actor, DEFAULT_TIME_ZONE, Language, OrgId, Organisation, SecurityLevel, now};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::api_keys::{admin_token_name, insert_key};
use crate::audit::AuditRecord;
use crate::changes::record_face_change;
use crate::store::{Store, StoreError, parse_col};

impl Store {
    /// Creates an organisation with a fresh data key and its first admin
    /// token (given here as its hash), recorded as `audit` makes it.
    pub async fn create_organisation(
        &self,
        audit: impl FnOnce(&Organisation) -> AuditRecord,
        name: &str,
        admin_token_hash: &[u8],
    ) -> Result<Organisation, StoreError> {
        let id = OrgId::generate();
        let (_, wrapped) = self.master_key().new_data_key(id.as_str());
        let created_at = now();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO organisations (id, name, wrapped_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.as_str())
        .bind(name)
        .bind(wrapped)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        insert_key(
            &mut tx,
            &id,
            &admin_token_name(),
            admin_token_hash,
            &Actor::Operator,
        )
        .await?;
        let organisation = Organisation {
            id,
            name: name.to_owned(),
            created_at,
            language: Language::default(),
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
        };
        self.commit_audited(tx, &audit(&organisation)).await?;
        Ok(organisation)
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, language, time_zone FROM organisations ORDER BY created_at, name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(organisation_from_row).collect()
    }

    pub async fn organisation(&self, id: &OrgId) -> Result<Option<Organisation>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, created_at, language, time_zone FROM organisations WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(organisation_from_row).transpose()
    }

    /// The organisation's security level; `None` for no such organisation.
    pub async fn security_level(&self, id: &OrgId) -> Result<Option<SecurityLevel>, StoreError> {
        let row = sqlx::query("SELECT security_level FROM organisations WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| parse_col(&row, "security_level", |s| s.parse()))
            .transpose()
    }

    /// Sets the organisation's security level; `false` for no such
    /// organisation.
    pub async fn set_security_level(
        &self,
        audit: &AuditRecord,
        id: &OrgId,
        level: SecurityLevel,
    ) -> Result<bool, StoreError> {
        self.set_organisation_setting(audit, id, "security_level", level.as_str())
            .await
    }

    /// Sets the language the organisation's people read where they chose
    /// none; `false` for no such organisation.
    pub async fn set_organisation_language(
        &self,
        audit: &AuditRecord,
        id: &OrgId,
        language: Language,
    ) -> Result<bool, StoreError> {
        self.set_organisation_setting(audit, id, "language", language.code())
            .await
    }

    /// Sets the time zone (an IANA name, checked by the caller) its admins
    /// read times in.
    pub async fn set_organisation_time_zone(
        &self,
        audit: &AuditRecord,
        id: &OrgId,
        time_zone: &str,
    ) -> Result<bool, StoreError> {
        self.set_organisation_setting(audit, id, "time_zone", time_zone)
            .await
    }

    /// Sets one of the organisation's settings (a column named here, never
    /// by input); `false` for no such organisation.
    async fn set_organisation_setting(
        &self,
        audit: &AuditRecord,
        id: &OrgId,
        column: &'static str,
        value: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!("UPDATE organisations SET {column} = $1 WHERE id = $2");
        let change = sqlx::query(&sql).bind(value).bind(id.as_str());
        self.change_audited(audit, change).await
    }

    /// Erases the organisation with everything it holds, its audit chain
    /// and its wrapped data key: whatever copies of its ciphertext survive
    /// elsewhere can no longer be decrypted. Recorded as a face change, so
    /// that every instance drops the organisation's gallery.
    pub async fn delete_organisation(
        &self,
        audit: &AuditRecord,
        id: &OrgId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // People first, as every change to one person locks them first:
        // the two orders cannot deadlock.
        sqlx::query("UPDATE people SET id = id WHERE org_id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        // Explicit deletes rather than relying on cascades alone, so that
        // nothing of the organisation outlives it even if a foreign key is
        // ever declared without ON DELETE CASCADE.
        for statement in [
            "DELETE FROM decision_events WHERE org_id = $1",
            "DELETE FROM device_frames WHERE device_id IN (SELECT d.id FROM devices d JOIN entrances e ON e.id = d.entrance_id WHERE e.org_id = $1)",
            "DELETE FROM devices WHERE entrance_id IN (SELECT id FROM entrances WHERE org_id = $1)",
            "DELETE FROM entrances WHERE org_id = $1",
            "DELETE FROM face_vectors WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM vector_keys WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM consents WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM sessions WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM accounts WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM invitations WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM password_resets WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM people WHERE org_id = $1",
            "DELETE FROM cancellations WHERE org_id = $1",
            "DELETE FROM api_keys WHERE org_id = $1",
            "DELETE FROM admin_sessions WHERE admin_id IN (SELECT id FROM admins WHERE org_id = $1)",
            "DELETE FROM password_resets WHERE admin_id IN (SELECT id FROM admins WHERE org_id = $1)",
            "DELETE FROM admins WHERE org_id = $1",
            "DELETE FROM audit_entries WHERE chain = $1",
        ] {
            sqlx::query(statement)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let deleted = sqlx::query("DELETE FROM organisations WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        record_face_change(&mut tx, self.backend(), id, None).await?;
        self.commit_audited(tx, audit).await?;
        self.shred_deleted().await;
        Ok(true)
    }
}

fn organisation_from_row(row: &AnyRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: parse_col(row, "id", OrgId::parse)?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        language: parse_col(row, "language", |s| s.parse())?,
        time_zone: row.try_get("time_zone")?,
    })
}
