//! The people an organisation imports.

use limen_domain::{
    AcsId, EmailAddress, ImportReport, Language, ModelVersion, NewPerson, OrgId, Person, PersonId,
    PersonName, PersonOverview, PersonStatus, RowError, RowProblem, now,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::audit::AuditRecord;
use crate::changes::record_face_change;
use crate::store::{Store, StoreError, lock_person, parse_col};

pub(crate) const PERSON_COLUMNS: &str = "p.id, p.org_id, p.first_name, p.last_name, p.email, p.acs_id, p.created_at, p.invited_at, p.language";

impl Store {
    /// The rows that clash with each other or with someone already in the
    /// organisation (another person holding the same ACS id).
    pub async fn import_conflicts(
        &self,
        org: &OrgId,
        rows: &[NewPerson],
    ) -> Result<Vec<RowError>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        import_conflicts(&mut conn, org, rows).await
    }

    /// Imports `rows` in one transaction: new e-mail addresses are created,
    /// known ones updated. If any row clashes (see [`Store::import_conflicts`])
    /// the clashes are returned and nothing is written; otherwise the
    /// import is recorded as `audit` makes it from the report.
    pub async fn import_people(
        &self,
        audit: impl FnOnce(&ImportReport) -> AuditRecord,
        org: &OrgId,
        rows: &[NewPerson],
    ) -> Result<Result<ImportReport, Vec<RowError>>, StoreError> {
        let mut tx = self.begin_write().await?;
        let errors = import_conflicts(&mut tx, org, rows).await?;
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let mut report = ImportReport {
            created: 0,
            updated: 0,
        };
        for row in rows {
            let updated = sqlx::query(
                "UPDATE people SET first_name = $3, last_name = $4, acs_id = $5 WHERE org_id = $1 AND email = $2",
            )
            .bind(org.as_str())
            .bind(row.email.as_str())
            .bind(row.first_name.as_str())
            .bind(row.last_name.as_str())
            .bind(row.acs_id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated > 0 {
                report.updated += 1;
                continue;
            }
            sqlx::query(
                "INSERT INTO people (id, org_id, first_name, last_name, email, acs_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(PersonId::generate().as_str())
            .bind(org.as_str())
            .bind(row.first_name.as_str())
            .bind(row.last_name.as_str())
            .bind(row.email.as_str())
            .bind(row.acs_id.as_str())
            .bind(now())
            .execute(&mut *tx)
            .await?;
            report.created += 1;
        }
        self.commit_audited(tx, &audit(&report)).await?;
        Ok(Ok(report))
    }

    /// Everyone in the organisation with their status. `active_model` is
    /// the model version new vectors are made with; older vectors need renewal.
    pub async fn people(
        &self,
        org: &OrgId,
        active_model: &ModelVersion,
    ) -> Result<Vec<PersonOverview>, StoreError> {
        self.overviews(org, active_model, "", None).await
    }

    /// At most `limit` of the organisation's people from `offset` on (in
    /// the order of [`Store::people`]) whose name or e-mail address holds
    /// `search` (all when it is empty; letters compared in lower case,
    /// which SQLite does for ASCII letters only), and how many match in all.
    pub async fn people_page(
        &self,
        org: &OrgId,
        active_model: &ModelVersion,
        search_for: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<PersonOverview>, usize), StoreError> {
        let pattern = like_pattern(search_for);
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS matching FROM people p WHERE p.org_id = $1 AND {}",
            search("$2")
        ))
        .bind(org.as_str())
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?
        .try_get("matching")?;
        let people = self
            .overviews(org, active_model, search_for, Some((offset, limit)))
            .await?;
        Ok((people, usize::try_from(total).unwrap_or_default()))
    }

    async fn overviews(
        &self,
        org: &OrgId,
        active_model: &ModelVersion,
        search_for: &str,
        page: Option<(usize, usize)>,
    ) -> Result<Vec<PersonOverview>, StoreError> {
        let (offset, limit) = page.unwrap_or((0, usize::MAX));
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let rows = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS}, a.registered_at, \
               (SELECT COUNT(*) FROM consents c WHERE c.person_id = p.id AND c.withdrawn_at IS NULL) AS active_consents, \
               (SELECT COUNT(*) FROM face_vectors v WHERE v.person_id = p.id) AS vectors, \
               (SELECT COUNT(*) FROM face_vectors v WHERE v.person_id = p.id AND v.model_version = $2) AS current_vectors, \
               p.renewal_needed_since \
             FROM people p LEFT JOIN accounts a ON a.person_id = p.id \
             WHERE p.org_id = $1 AND {} ORDER BY p.last_name, p.first_name, p.email \
             LIMIT $4 OFFSET $5",
            search("$3")
        ))
        .bind(org.as_str())
        .bind(active_model.as_str())
        .bind(like_pattern(search_for))
        .bind(as_i64(limit))
        .bind(as_i64(offset))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let person = person_from_row(row)?;
                let registered: Option<i64> = row.try_get("registered_at")?;
                let consents: i64 = row.try_get("active_consents")?;
                let vectors: i64 = row.try_get("vectors")?;
                let current: i64 = row.try_get("current_vectors")?;
                let lapsed: Option<i64> = row.try_get("renewal_needed_since")?;
                let status = if vectors > 0 {
                    if current > 0 {
                        PersonStatus::Enrolled
                    } else {
                        PersonStatus::RenewalNeeded
                    }
                } else if consents > 0 {
                    // A transition's end took their vectors; consent stands.
                    if lapsed.is_some() {
                        PersonStatus::RenewalNeeded
                    } else {
                        PersonStatus::Consented
                    }
                } else if registered.is_some() {
                    PersonStatus::Registered
                } else if person.invited_at.is_some() {
                    PersonStatus::Invited
                } else {
                    PersonStatus::Imported
                };
                Ok(PersonOverview { person, status })
            })
            .collect()
    }

    pub async fn person(&self, org: &OrgId, id: &PersonId) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM people p WHERE p.org_id = $1 AND p.id = $2"
        ))
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// Records the language the person chose to read Limen in; `false`
    /// for no such person.
    pub async fn set_person_language(
        &self,
        audit: &AuditRecord,
        person: &Person,
        language: Language,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query("UPDATE people SET language = $1 WHERE org_id = $2 AND id = $3")
            .bind(language.code())
            .bind(person.org_id.as_str())
            .bind(person.id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }

    /// The person has left: everything about them goes, including any
    /// record of a cancelled registration. Recorded as a face change.
    pub async fn delete_person(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        id: &PersonId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, org, id).await? {
            return Ok(false);
        }
        for statement in [
            "DELETE FROM face_vectors WHERE person_id = $1",
            "DELETE FROM vector_keys WHERE person_id = $1",
            "DELETE FROM consents WHERE person_id = $1",
            "DELETE FROM sessions WHERE person_id = $1",
            "DELETE FROM accounts WHERE person_id = $1",
            "DELETE FROM invitations WHERE person_id = $1",
            "DELETE FROM password_resets WHERE person_id = $1",
            "DELETE FROM cancellations WHERE person_id = $1",
            // Passages stay counted but no longer name who passed.
            "UPDATE decision_events SET person_id = NULL WHERE person_id = $1",
            "DELETE FROM people WHERE id = $1",
        ] {
            sqlx::query(statement)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        record_face_change(&mut tx, self.backend(), org, Some(id)).await?;
        self.commit_audited(tx, audit).await?;
        self.shred_deleted().await;
        Ok(true)
    }
}

/// People whose name or e-mail address matches the `LIKE` pattern bound
/// as `placeholder`.
fn search(placeholder: &str) -> String {
    format!(
        "(lower(p.first_name || ' ' || p.last_name) LIKE {placeholder} ESCAPE '\\' \
         OR lower(p.email) LIKE {placeholder} ESCAPE '\\')"
    )
}

/// `%search%` in lower case, with `LIKE`'s wildcards in `search` escaped.
fn like_pattern(search: &str) -> String {
    let mut pattern = String::from("%");
    for c in search.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

async fn import_conflicts(
    conn: &mut AnyConnection,
    org: &OrgId,
    rows: &[NewPerson],
) -> Result<Vec<RowError>, StoreError> {
    let mut errors = Vec::new();
    // The first row of each e-mail address and ACS id: one lookup per row,
    // so a 60,000-row import costs milliseconds here, not a quadratic
    // scan inside the write transaction.
    let mut first_email = std::collections::HashMap::new();
    let mut first_acs_id = std::collections::HashMap::new();
    for row in rows {
        let first = *first_email.entry(row.email.as_str()).or_insert(row.row);
        if first != row.row {
            errors.push(RowError {
                row: row.row,
                field: "email",
                problem: RowProblem::DuplicateOf(first),
            });
        }
        let first = *first_acs_id.entry(row.acs_id.as_str()).or_insert(row.row);
        if first != row.row {
            errors.push(RowError {
                row: row.row,
                field: "acs_id",
                problem: RowProblem::DuplicateOf(first),
            });
        }
        let holder = sqlx::query("SELECT email FROM people WHERE org_id = $1 AND acs_id = $2")
            .bind(org.as_str())
            .bind(row.acs_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(holder) = holder {
            let holder_email: String = holder.try_get("email")?;
            if holder_email != row.email.as_str() {
                errors.push(RowError {
                    row: row.row,
                    field: "acs_id",
                    problem: RowProblem::AcsIdTaken,
                });
            }
        }
    }
    errors.sort_by_key(|e| e.row);
    Ok(errors)
}

pub(crate) fn person_from_row(row: &AnyRow) -> Result<Person, StoreError> {
    Ok(Person {
        id: parse_col(row, "id", PersonId::parse)?,
        org_id: parse_col(row, "org_id", OrgId::parse)?,
        first_name: parse_col(row, "first_name", PersonName::parse)?,
        last_name: parse_col(row, "last_name", PersonName::parse)?,
        email: parse_col(row, "email", EmailAddress::parse)?,
        acs_id: parse_col(row, "acs_id", AcsId::parse)?,
        created_at: row.try_get("created_at")?,
        invited_at: row.try_get("invited_at")?,
        language: row
            .try_get::<Option<String>, _>("language")?
            .map(|code| code.parse().map_err(|_| StoreError::Corrupt("language")))
            .transpose()?,
    })
}
