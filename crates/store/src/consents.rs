//! Consent: given for one statement version and language, withdrawn at
//! any time. Withdrawing (or a consent lapsing because its statement is
//! outdated) deletes the person's vectors in the same transaction (P3).

use limen_domain::{Consent, Language, Person, now};
use sqlx::Row;

use crate::audit::AuditRecord;
use crate::changes::record_face_change;
use crate::faces::delete_set;
use crate::store::{Store, StoreError, lock_person, parse_col};

impl Store {
    pub async fn give_consent(
        &self,
        audit: &AuditRecord,
        person: &Person,
        statement_version: &str,
        statement_language: Language,
        method: &str,
    ) -> Result<Consent, StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        let given_at = now();
        // A new consent replaces the active one (for example for a newer statement).
        sqlx::query(
            "UPDATE consents SET withdrawn_at = $2 WHERE person_id = $1 AND withdrawn_at IS NULL",
        )
        .bind(person.id.as_str())
        .bind(given_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO consents (person_id, statement_version, statement_language, method, given_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(person.id.as_str())
            .bind(statement_version)
            .bind(statement_language.code())
            .bind(method)
            .bind(given_at)
            .execute(&mut *tx)
            .await?;
        self.commit_audited(tx, audit).await?;
        Ok(Consent {
            statement_version: statement_version.to_owned(),
            statement_language,
            method: method.to_owned(),
            given_at,
            withdrawn_at: None,
        })
    }

    /// Withdraws consent and deletes the vectors in the same transaction.
    /// Returns whether there was an active consent; `audit` is recorded
    /// only then.
    pub async fn withdraw_consent(
        &self,
        audit: &AuditRecord,
        person: &Person,
    ) -> Result<bool, StoreError> {
        self.end_consent(audit, person, None).await
    }

    /// Lets a consent to another statement version than the `current`
    /// ones (one per language) lapse, as a withdrawal; a consent to one of
    /// them (given meanwhile) stays. Returns whether a consent lapsed;
    /// `audit` is recorded only then.
    pub async fn lapse_outdated_consent(
        &self,
        audit: &AuditRecord,
        person: &Person,
        current: &[String],
    ) -> Result<bool, StoreError> {
        self.end_consent(audit, person, Some(current)).await
    }

    async fn end_consent(
        &self,
        audit: &AuditRecord,
        person: &Person,
        unless: Option<&[String]>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        if let Some(current) = unless {
            let active: Option<String> = sqlx::query(
                "SELECT statement_version FROM consents WHERE person_id = $1 AND withdrawn_at IS NULL",
            )
            .bind(person.id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
            if active.is_some_and(|version| current.contains(&version)) {
                return Ok(false);
            }
        }
        let withdrawn = sqlx::query(
            "UPDATE consents SET withdrawn_at = $2 WHERE person_id = $1 AND withdrawn_at IS NULL",
        )
        .bind(person.id.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let deleted = delete_set(&mut tx, &person.id).await?;
        if withdrawn + deleted > 0 {
            record_face_change(&mut tx, self.backend(), &person.org_id, Some(&person.id)).await?;
        }
        if withdrawn > 0 {
            self.commit_audited(tx, audit).await?;
        } else {
            tx.commit().await?;
        }
        if deleted > 0 {
            self.shred_deleted().await;
        }
        Ok(withdrawn > 0)
    }

    pub async fn consents(&self, person: &Person) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.statement_version, c.statement_language, c.method, c.given_at, c.withdrawn_at FROM consents c JOIN people p ON p.id = c.person_id \
             WHERE p.org_id = $1 AND p.id = $2 ORDER BY c.given_at, c.id",
        )
        .bind(person.org_id.as_str())
        .bind(person.id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Consent {
                    statement_version: row.try_get("statement_version")?,
                    statement_language: parse_col(row, "statement_language", |s| s.parse())?,
                    method: row.try_get("method")?,
                    given_at: row.try_get("given_at")?,
                    withdrawn_at: row.try_get("withdrawn_at")?,
                })
            })
            .collect()
    }
}
