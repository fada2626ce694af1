//! Privacy statement versions as each organisation has shown them, and the
//! requests to consent again when the statement changed.

use limen_domain::{Language, OrgId, Person, PersonId, UnixTime};
use sqlx::Row;

use crate::audit::AuditRecord;
use crate::people::{PERSON_COLUMNS, person_from_row};
use crate::store::{Store, StoreError};

impl Store {
    /// Records that `org` shows statement `version` from `at` unless it was
    /// recorded before; returns since when it is shown.
    pub async fn note_statement_version(
        &self,
        org: &OrgId,
        version: &str,
        at: UnixTime,
    ) -> Result<UnixTime, StoreError> {
        sqlx::query(
            "INSERT INTO statement_versions (org_id, version, shown_from) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id, version) DO NOTHING",
        )
        .bind(org.as_str())
        .bind(version)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query(
            "SELECT shown_from FROM statement_versions WHERE org_id = $1 AND version = $2",
        )
        .bind(org.as_str())
        .bind(version)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?)
    }

    /// Since when `org` shows statement `version`, if it has been noted.
    pub async fn statement_shown_from(
        &self,
        org: &OrgId,
        version: &str,
    ) -> Result<Option<UnixTime>, StoreError> {
        Ok(sqlx::query(
            "SELECT shown_from FROM statement_versions WHERE org_id = $1 AND version = $2",
        )
        .bind(org.as_str())
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?)
    }

    /// The people of `org` whose active consent, given to the statement
    /// in `language`, names another version than `current`.
    pub async fn outdated_consents(
        &self,
        org: &OrgId,
        language: Language,
        current: &str,
    ) -> Result<Vec<Person>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM people p WHERE p.org_id = $1 AND EXISTS \
               (SELECT 1 FROM consents c WHERE c.person_id = p.id AND c.withdrawn_at IS NULL \
                  AND c.statement_language = $2 AND c.statement_version <> $3) \
             ORDER BY p.id"
        ))
        .bind(org.as_str())
        .bind(language.code())
        .bind(current)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(person_from_row).collect()
    }

    /// Claims the sending of the request to consent to `version`: true for
    /// the one caller that should send it.
    pub async fn claim_reconsent_request(
        &self,
        person: &PersonId,
        version: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO reconsent_requests (person_id, statement_version, sent_at) VALUES ($1, $2, $3) \
             ON CONFLICT (person_id, statement_version) DO NOTHING",
        )
        .bind(person.as_str())
        .bind(version)
        .bind(at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Gives a claim back when its e-mail could not be sent.
    pub async fn release_reconsent_request(
        &self,
        person: &PersonId,
        version: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM reconsent_requests WHERE person_id = $1 AND statement_version = $2",
        )
        .bind(person.as_str())
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The requests to consent again sent to a person: the statement
    /// version each asked for, and when.
    pub async fn reconsent_requests(
        &self,
        person: &PersonId,
    ) -> Result<Vec<(String, UnixTime)>, StoreError> {
        let rows = sqlx::query(
            "SELECT statement_version, sent_at FROM reconsent_requests WHERE person_id = $1 ORDER BY sent_at",
        )
        .bind(person.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("statement_version")?, row.try_get("sent_at")?)))
            .collect()
    }

    /// Renames an organisation (its privacy statement names it, so the
    /// statement changes too).
    pub async fn rename_organisation(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        name: &str,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query("UPDATE organisations SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(org.as_str());
        self.change_audited(audit, change).await
    }
}
