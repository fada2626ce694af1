use std::sync::Arc;

use limen_domain::{
    AcsId, Consent, EmailAddress, ImportReport, NewPerson, OrgId, Organisation, Person, PersonId,
    PersonName, PersonOverview, PersonStatus, RowError, UnixTime, now,
};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row};
use zeroize::Zeroizing;

use crate::audit::{self, AuditEntry, AuditEvent, BrokenLink};
use crate::crypto::{DataKey, MasterKey};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("unsupported database URL: use sqlite:PATH or postgres://…")]
    UnsupportedUrl,
    #[error("no active consent: a face vector may only be stored for a person who has consented")]
    NoConsent,
    #[error("no such person in this organisation")]
    UnknownPerson,
    #[error("no such organisation")]
    UnknownOrganisation,
    #[error("the organisation's data key cannot be unwrapped with this master key")]
    KeyMismatch,
    #[error("a vector must be a non-empty list of finite numbers")]
    InvalidVector,
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A decrypted vector; its numbers are wiped from memory when dropped.
pub struct StoredVector {
    pub model_version: String,
    pub enrolled_at: UnixTime,
    pub values: Zeroizing<Vec<f32>>,
}

impl std::fmt::Debug for StoredVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredVector")
            .field("model_version", &self.model_version)
            .field("enrolled_at", &self.enrolled_at)
            .field("values", &format_args!("<{} numbers>", self.values.len()))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error(
        "this registration link is not valid: it may have been used already or replaced by a newer one"
    )]
    Unknown,
    #[error("this registration link has expired; ask your organisation to send a new invitation")]
    Expired,
    #[error("this person is already registered")]
    AlreadyRegistered,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RedeemError {
    fn from(e: sqlx::Error) -> Self {
        RedeemError::Store(e.into())
    }
}

pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    master: Arc<MasterKey>,
}

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/sqlite/0002_entrances.sql"),
        postgres: include_str!("../migrations/postgres/0002_entrances.sql"),
    },
];

const PERSON_COLUMNS: &str =
    "p.id, p.org_id, p.first_name, p.last_name, p.email, p.acs_id, p.created_at, p.invited_at";

impl Store {
    /// Connects (creating an SQLite file when needed) and brings the schema
    /// up to date.
    pub async fn open(url: &str, master: MasterKey) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .connect(&url)
            .await?;
        let store = Store {
            pool,
            backend,
            master: Arc::new(master),
        };
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&store.pool)
                .await?;
        }
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The master key, for deriving keys with other purposes.
    pub fn master_key(&self) -> &MasterKey {
        &self.master
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Several instances may start at once against one database:
            // one migrates, the others wait and then find nothing to do.
            sqlx::query("SELECT pg_advisory_xact_lock(7071000001)")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS limen_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM limen_migrations")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let script = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            for statement in script
                .split(';')
                .map(strip_comments)
                .filter(|s| !s.is_empty())
            {
                sqlx::query(&statement).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO limen_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(migration.version)
                .bind(now())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ----- organisations -------------------------------------------------

    /// Creates an organisation with a fresh data key and its first admin
    /// token (given here as its hash).
    pub async fn create_organisation(
        &self,
        name: &str,
        admin_token_hash: &[u8],
    ) -> Result<Organisation, StoreError> {
        let id = OrgId::generate();
        let wrapped = self.master.new_wrapped_data_key(id.as_str());
        let created_at = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO organisations (id, name, wrapped_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.as_str())
        .bind(name)
        .bind(wrapped)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO admin_tokens (token_hash, org_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(admin_token_hash.to_vec())
        .bind(id.as_str())
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Organisation {
            id,
            name: name.to_owned(),
            created_at,
        })
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, created_at FROM organisations ORDER BY created_at, name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(organisation_from_row).collect()
    }

    pub async fn organisation(&self, id: &OrgId) -> Result<Option<Organisation>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM organisations WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(organisation_from_row).transpose()
    }

    /// Erases the organisation with everything it holds, its audit chain
    /// and its wrapped data key: whatever copies of its ciphertext survive
    /// elsewhere can no longer be decrypted.
    pub async fn delete_organisation(&self, id: &OrgId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Explicit deletes rather than relying on cascades alone, so that
        // nothing of the organisation outlives it even if a foreign key is
        // ever declared without ON DELETE CASCADE.
        for statement in [
            "DELETE FROM decision_events WHERE org_id = $1",
            "DELETE FROM devices WHERE entrance_id IN (SELECT id FROM entrances WHERE org_id = $1)",
            "DELETE FROM entrances WHERE org_id = $1",
            "DELETE FROM face_vectors WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM consents WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM sessions WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM accounts WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM invitations WHERE person_id IN (SELECT id FROM people WHERE org_id = $1)",
            "DELETE FROM people WHERE org_id = $1",
            "DELETE FROM cancellations WHERE org_id = $1",
            "DELETE FROM admin_tokens WHERE org_id = $1",
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
        tx.commit().await?;
        if self.backend == Backend::Sqlite {
            // Deleted pages keep their old bytes until overwritten: VACUUM
            // rebuilds the file, and the checkpoint empties the write-ahead
            // log that VACUUM itself wrote through.
            sqlx::query("VACUUM").execute(&self.pool).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(deleted > 0)
    }

    /// Gives the organisation a new admin token (as its hash) and revokes
    /// every earlier one. False when there is no such organisation.
    pub async fn replace_admin_token(
        &self,
        org: &OrgId,
        token_hash: &[u8],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT id FROM organisations WHERE id = $1")
            .bind(org.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        sqlx::query("DELETE FROM admin_tokens WHERE org_id = $1")
            .bind(org.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO admin_tokens (token_hash, org_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash.to_vec())
        .bind(org.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn org_for_admin_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<OrgId>, StoreError> {
        let row = sqlx::query("SELECT org_id FROM admin_tokens WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| parse_col(&r, "org_id", OrgId::parse))
            .transpose()
    }

    pub(crate) async fn data_key(
        &self,
        conn: &mut AnyConnection,
        org: &OrgId,
    ) -> Result<DataKey, StoreError> {
        let row = sqlx::query("SELECT wrapped_key FROM organisations WHERE id = $1")
            .bind(org.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::UnknownOrganisation)?;
        let wrapped: Vec<u8> = row.try_get("wrapped_key")?;
        self.master
            .unwrap_data_key(&wrapped, org.as_str())
            .map_err(|_| StoreError::KeyMismatch)
    }

    // ----- people --------------------------------------------------------

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

    /// Imports people all-or-nothing: new e-mail addresses are created,
    /// known ones updated. If any row clashes (see [`Store::import_conflicts`])
    /// the clashes are returned and nothing is written.
    pub async fn import_people(
        &self,
        org: &OrgId,
        rows: &[NewPerson],
    ) -> Result<Result<ImportReport, Vec<RowError>>, StoreError> {
        let mut tx = self.pool.begin().await?;
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
        tx.commit().await?;
        Ok(Ok(report))
    }

    /// Everyone in the organisation with their status. `active_model` is
    /// the model version new vectors are made with; older vectors need renewal.
    pub async fn people(
        &self,
        org: &OrgId,
        active_model: &str,
    ) -> Result<Vec<PersonOverview>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS}, a.registered_at, v.model_version, \
               (SELECT COUNT(*) FROM consents c WHERE c.person_id = p.id AND c.withdrawn_at IS NULL) AS active_consents \
             FROM people p LEFT JOIN accounts a ON a.person_id = p.id LEFT JOIN face_vectors v ON v.person_id = p.id \
             WHERE p.org_id = $1 ORDER BY p.last_name, p.first_name, p.email"
        ))
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let person = person_from_row(row)?;
                let registered: Option<i64> = row.try_get("registered_at")?;
                let model: Option<String> = row.try_get("model_version")?;
                let consents: i64 = row.try_get("active_consents")?;
                let status = match (
                    model,
                    consents > 0,
                    registered.is_some(),
                    person.invited_at.is_some(),
                ) {
                    (Some(model), ..) if model != active_model => PersonStatus::RenewalNeeded,
                    (Some(_), ..) => PersonStatus::Enrolled,
                    (None, true, ..) => PersonStatus::Consented,
                    (None, false, true, _) => PersonStatus::Registered,
                    (None, false, false, true) => PersonStatus::Invited,
                    (None, false, false, false) => PersonStatus::Imported,
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

    /// The person has left: everything about them goes, including any
    /// record of a cancelled registration.
    pub async fn delete_person(&self, org: &OrgId, id: &PersonId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !lock_person(&mut tx, org, id).await? {
            return Ok(false);
        }
        for statement in [
            "DELETE FROM face_vectors WHERE person_id = $1",
            "DELETE FROM consents WHERE person_id = $1",
            "DELETE FROM sessions WHERE person_id = $1",
            "DELETE FROM accounts WHERE person_id = $1",
            "DELETE FROM invitations WHERE person_id = $1",
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
        tx.commit().await?;
        Ok(true)
    }

    // ----- invitations and accounts --------------------------------------

    /// Records a new invitation, replacing (and so invalidating) any earlier one.
    pub async fn replace_invitation(
        &self,
        org: &OrgId,
        person: &PersonId,
        token_hash: &[u8],
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if !lock_person(&mut tx, org, person).await? {
            return Err(StoreError::UnknownPerson);
        }
        sqlx::query("DELETE FROM invitations WHERE person_id = $1")
            .bind(person.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO invitations (token_hash, person_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash.to_vec())
        .bind(person.as_str())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE people SET invited_at = $2 WHERE id = $1")
            .bind(person.as_str())
            .bind(now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The person a still-valid invitation is for, without using it up.
    pub async fn invitation(&self, token_hash: &[u8]) -> Result<Person, RedeemError> {
        let row = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS}, i.expires_at FROM invitations i JOIN people p ON p.id = i.person_id WHERE i.token_hash = $1"
        ))
        .bind(token_hash.to_vec())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(RedeemError::Unknown)?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if expires_at <= now() {
            return Err(RedeemError::Expired);
        }
        Ok(person_from_row(&row)?)
    }

    /// Uses up an invitation and creates the account it was for.
    pub async fn redeem_invitation(
        &self,
        token_hash: &[u8],
        password_hash: &str,
    ) -> Result<Person, RedeemError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "DELETE FROM invitations WHERE token_hash = $1 RETURNING person_id, expires_at",
        )
        .bind(token_hash.to_vec())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(RedeemError::Unknown)?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if expires_at <= now() {
            // Leave the expired link in place: refusing it must change nothing.
            return Err(RedeemError::Expired);
        }
        let person_id: String = row.try_get("person_id")?;
        let person = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM people p WHERE p.id = $1"
        ))
        .bind(&person_id)
        .fetch_one(&mut *tx)
        .await?;
        let person = person_from_row(&person)?;
        let created = sqlx::query(
            "INSERT INTO accounts (person_id, password_hash, registered_at) VALUES ($1, $2, $3) ON CONFLICT (person_id) DO NOTHING",
        )
        .bind(&person_id)
        .bind(password_hash)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if created == 0 {
            return Err(RedeemError::AlreadyRegistered);
        }
        tx.commit().await?;
        Ok(person)
    }

    /// Registered people with this e-mail address (one per organisation
    /// that imported it), with their password hashes.
    pub async fn accounts_by_email(
        &self,
        email: &EmailAddress,
    ) -> Result<Vec<(Person, String)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS}, a.password_hash FROM people p JOIN accounts a ON a.person_id = p.id WHERE p.email = $1"
        ))
        .bind(email.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((person_from_row(row)?, row.try_get("password_hash")?)))
            .collect()
    }

    pub async fn password_hash(&self, person: &Person) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT a.password_hash FROM accounts a JOIN people p ON p.id = a.person_id WHERE p.org_id = $1 AND p.id = $2",
        )
        .bind(person.org_id.as_str())
        .bind(person.id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
    }

    /// Sets a new password and ends every session but `keep_session`.
    pub async fn change_password(
        &self,
        person: &Person,
        password_hash: &str,
        keep_session: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        sqlx::query("UPDATE accounts SET password_hash = $2 WHERE person_id = $1")
            .bind(person.id.as_str())
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE person_id = $1 AND token_hash <> $2")
            .bind(person.id.as_str())
            .bind(keep_session.to_vec())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- sessions ------------------------------------------------------

    pub async fn create_session(
        &self,
        person: &Person,
        token_hash: &[u8],
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash.to_vec())
            .bind(person.id.as_str())
            .bind(now())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The person a live session belongs to (only while they have an account).
    pub async fn session_person(&self, token_hash: &[u8]) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM sessions s JOIN people p ON p.id = s.person_id \
             JOIN accounts a ON a.person_id = p.id WHERE s.token_hash = $1 AND s.expires_at > $2"
        ))
        .bind(token_hash.to_vec())
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ----- consent and vectors -------------------------------------------

    pub async fn give_consent(
        &self,
        person: &Person,
        statement_version: &str,
        method: &str,
    ) -> Result<Consent, StoreError> {
        let mut tx = self.pool.begin().await?;
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
        sqlx::query("INSERT INTO consents (person_id, statement_version, method, given_at) VALUES ($1, $2, $3, $4)")
            .bind(person.id.as_str())
            .bind(statement_version)
            .bind(method)
            .bind(given_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Consent {
            statement_version: statement_version.to_owned(),
            method: method.to_owned(),
            given_at,
            withdrawn_at: None,
        })
    }

    /// Withdraws consent and deletes the vector in the same transaction.
    /// Returns whether there was an active consent.
    pub async fn withdraw_consent(&self, person: &Person) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        let withdrawn = sqlx::query(
            "UPDATE consents SET withdrawn_at = $2 WHERE person_id = $1 AND withdrawn_at IS NULL",
        )
        .bind(person.id.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM face_vectors WHERE person_id = $1")
            .bind(person.id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(withdrawn > 0)
    }

    pub async fn consents(&self, person: &Person) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.statement_version, c.method, c.given_at, c.withdrawn_at FROM consents c JOIN people p ON p.id = c.person_id \
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
                    method: row.try_get("method")?,
                    given_at: row.try_get("given_at")?,
                    withdrawn_at: row.try_get("withdrawn_at")?,
                })
            })
            .collect()
    }

    /// Stores (or replaces) the person's vector, encrypted with their
    /// organisation's data key. Refused unless the person has an active
    /// consent at the moment of writing (P3).
    pub async fn store_vector(
        &self,
        person: &Person,
        model_version: &str,
        values: &[f32],
    ) -> Result<(), StoreError> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return Err(StoreError::InvalidVector);
        }
        let mut tx = self.pool.begin().await?;
        // Locking the person serialises this with a concurrent withdrawal,
        // which would otherwise delete the vector before it is written.
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        let consented: i64 = sqlx::query(
            "SELECT COUNT(*) FROM consents WHERE person_id = $1 AND withdrawn_at IS NULL",
        )
        .bind(person.id.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if consented == 0 {
            return Err(StoreError::NoConsent);
        }
        let key = self.data_key(&mut tx, &person.org_id).await?;
        let plain: Zeroizing<Vec<u8>> =
            Zeroizing::new(values.iter().flat_map(|v| v.to_le_bytes()).collect());
        let sealed = key.seal(&plain, &vector_context(person, model_version));
        sqlx::query(
            "INSERT INTO face_vectors (person_id, model_version, sealed, enrolled_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (person_id) DO UPDATE SET model_version = excluded.model_version, sealed = excluded.sealed, \
             enrolled_at = excluded.enrolled_at",
        )
        .bind(person.id.as_str())
        .bind(model_version)
        .bind(sealed)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn vector(&self, person: &Person) -> Result<Option<StoredVector>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT v.model_version, v.sealed, v.enrolled_at FROM face_vectors v JOIN people p ON p.id = v.person_id \
             WHERE p.org_id = $1 AND p.id = $2",
        )
        .bind(person.org_id.as_str())
        .bind(person.id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let model_version: String = row.try_get("model_version")?;
        let sealed: Vec<u8> = row.try_get("sealed")?;
        let key = self.data_key(&mut conn, &person.org_id).await?;
        let values = open_vector(&key, &sealed, &person.org_id, &person.id, &model_version)?;
        Ok(Some(StoredVector {
            model_version,
            enrolled_at: row.try_get("enrolled_at")?,
            values,
        }))
    }

    pub async fn delete_vector(&self, person: &Person) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM face_vectors WHERE person_id IN (SELECT id FROM people WHERE org_id = $1 AND id = $2)")
            .bind(person.org_id.as_str())
            .bind(person.id.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// Cancels the registration: account, sessions, consents and vector are
    /// erased; the person stays imported, and a dated record that they
    /// cancelled is kept as proof.
    pub async fn cancel_registration(&self, person: &Person) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        for statement in [
            "DELETE FROM face_vectors WHERE person_id = $1",
            "DELETE FROM consents WHERE person_id = $1",
            "DELETE FROM sessions WHERE person_id = $1",
            "DELETE FROM accounts WHERE person_id = $1",
            "DELETE FROM invitations WHERE person_id = $1",
            "UPDATE people SET invited_at = NULL WHERE id = $1",
        ] {
            sqlx::query(statement)
                .bind(person.id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO cancellations (org_id, person_id, cancelled_at) VALUES ($1, $2, $3)",
        )
        .bind(person.org_id.as_str())
        .bind(person.id.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn cancellations(&self, person: &Person) -> Result<Vec<UnixTime>, StoreError> {
        let rows = sqlx::query("SELECT cancelled_at FROM cancellations WHERE org_id = $1 AND person_id = $2 ORDER BY cancelled_at")
            .bind(person.org_id.as_str())
            .bind(person.id.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    /// Drops what has outlived its retention period: expired sessions and
    /// invitations, and cancellation records older than `cancellations_before`.
    pub async fn purge_expired(&self, cancellations_before: UnixTime) -> Result<(), StoreError> {
        let now = now();
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM invitations WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM cancellations WHERE cancelled_at < $1")
            .bind(cancellations_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ----- audit trail -----------------------------------------------------

    /// Appends an entry to a chain (an organisation's id, or the operator's).
    pub async fn audit(&self, chain: &str, event: AuditEvent<'_>) -> Result<(), StoreError> {
        // Two writers may race for the same next position; the primary key
        // refuses the loser, who then links to the winner's entry instead.
        let mut attempt = 0;
        loop {
            match self.try_append_audit(chain, &event).await {
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if e.is_unique_violation() && attempt < 10 =>
                {
                    attempt += 1
                }
                other => return other,
            }
        }
    }

    async fn try_append_audit(
        &self,
        chain: &str,
        event: &AuditEvent<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let last = sqlx::query(
            "SELECT seq, hash FROM audit_entries WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(chain)
        .fetch_optional(&mut *tx)
        .await?;
        let (seq, prev_hash) = match last {
            Some(row) => (
                row.try_get::<i64, _>("seq")? + 1,
                row.try_get::<Vec<u8>, _>("hash")?,
            ),
            None => (1, audit::GENESIS_HASH.to_vec()),
        };
        let at = now();
        let hash = audit::entry_hash(&prev_hash, chain, seq, at, event);
        sqlx::query(
            "INSERT INTO audit_entries (chain, seq, at, actor, action, subject, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(chain)
        .bind(seq)
        .bind(at)
        .bind(event.actor)
        .bind(event.action)
        .bind(event.subject)
        .bind(event.detail)
        .bind(prev_hash)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn audit_trail(&self, chain: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_entries WHERE chain = $1 ORDER BY seq",
        )
        .bind(chain)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Checks every chain; returns how many entries were checked, or the
    /// first broken link.
    pub async fn verify_audit(&self) -> Result<Result<usize, BrokenLink>, StoreError> {
        let chains: Vec<String> =
            sqlx::query("SELECT DISTINCT chain FROM audit_entries ORDER BY chain")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
        let mut checked = 0;
        for chain in chains {
            let entries = self.audit_trail(&chain).await?;
            if let Err(broken) = audit::verify_chain(&entries) {
                return Ok(Err(broken));
            }
            checked += entries.len();
        }
        Ok(Ok(checked))
    }
}

async fn import_conflicts(
    conn: &mut AnyConnection,
    org: &OrgId,
    rows: &[NewPerson],
) -> Result<Vec<RowError>, StoreError> {
    let mut errors = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        if let Some(first) = rows[..index].iter().find(|r| r.email == row.email) {
            errors.push(RowError {
                row: row.row,
                field: "email",
                message: format!("duplicate of row {}", first.row),
            });
        }
        if let Some(first) = rows[..index].iter().find(|r| r.acs_id == row.acs_id) {
            errors.push(RowError {
                row: row.row,
                field: "acs_id",
                message: format!("duplicate of row {}", first.row),
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
                    message: "already belongs to another person in this organisation".into(),
                });
            }
        }
    }
    errors.sort_by_key(|e| e.row);
    Ok(errors)
}

/// Locks the person's row for the rest of the transaction (a row lock on
/// PostgreSQL, the write lock on SQLite) and tells whether the person
/// exists in that organisation.
async fn lock_person(
    conn: &mut AnyConnection,
    org: &OrgId,
    person: &PersonId,
) -> Result<bool, StoreError> {
    let touched = sqlx::query("UPDATE people SET id = id WHERE org_id = $1 AND id = $2")
        .bind(org.as_str())
        .bind(person.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(touched > 0)
}

fn vector_context(person: &Person, model_version: &str) -> Vec<u8> {
    vector_context_of(&person.org_id, &person.id, model_version)
}

fn vector_context_of(org: &OrgId, person: &PersonId, model_version: &str) -> Vec<u8> {
    format!("limen vector\0{org}\0{person}\0{model_version}").into_bytes()
}

/// Decrypts a sealed vector back into its numbers.
pub(crate) fn open_vector(
    key: &DataKey,
    sealed: &[u8],
    org: &OrgId,
    person: &PersonId,
    model_version: &str,
) -> Result<Zeroizing<Vec<f32>>, StoreError> {
    let plain = key
        .open(sealed, &vector_context_of(org, person, model_version))
        .map_err(|_| StoreError::Corrupt("vector"))?;
    if plain.len() % 4 != 0 {
        return Err(StoreError::Corrupt("vector length"));
    }
    Ok(Zeroizing::new(
        plain
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    ))
}

fn strip_comments(statement: &str) -> String {
    statement
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

pub(crate) fn parse_col<T, E>(
    row: &AnyRow,
    column: &'static str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    parse(&text).map_err(|_| StoreError::Corrupt(column))
}

fn organisation_from_row(row: &AnyRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: parse_col(row, "id", OrgId::parse)?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
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
    })
}

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        chain: row.try_get("chain")?,
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        subject: row.try_get("subject")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
