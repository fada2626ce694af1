//! The store itself: connecting (bringing the schema up to date through
//! `schema.rs`) and what the aggregates share (organisations' data keys,
//! locking a person, reading checked columns).

use std::sync::Arc;
use std::time::Duration;

use limen_domain::{OrgId, PersonId};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::anchor::{AnchorError, AuditAnchor};
use crate::audit::{AuditKey, BrokenLink};
use crate::crypto::{DataKey, MasterKey};
use crate::schema::{MIGRATIONS, SECURE_DELETE_VERSION, WRAPPED_KEYS_VERSION};

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
    #[error("this model version is no longer in use: the recognition model changed")]
    ModelNotInUse,
    #[error("no such organisation")]
    UnknownOrganisation,
    #[error("this master key is not the one the database's keys are wrapped with")]
    KeyMismatch,
    #[error("a person holds 1 to {max} vectors", max = limen_domain::MAX_VECTORS_PER_PERSON)]
    InvalidVectorSet,
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("the SQLite write-ahead log could not be emptied: a reader held it")]
    CheckpointBlocked,
    #[error("the audit trail was altered before it was keyed, so it is left as it is: {0}")]
    AuditTampered(BrokenLink),
    #[error(transparent)]
    Anchor(#[from] AnchorError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    master: Arc<MasterKey>,
    /// The key of the audit chains' links, unwrapped at open: a master key
    /// that cannot unwrap it is not this database's.
    pub(crate) audit_key: Arc<AuditKey>,
    /// Kept for the extra connection a change listener holds (PostgreSQL).
    pub(crate) url: Arc<str>,
    /// Where each committed audit entry's chain head is recorded outside
    /// the database (see the `anchor` module); none for a bare store.
    pub(crate) anchor: Option<Arc<AuditAnchor>>,
    /// SQLite: this process's writers take their turns in the order they
    /// asked (see [`WriteTx`]).
    write_turns: Arc<tokio::sync::Mutex<()>>,
}

/// How long a writer waits for its turn before the request fails.
const WRITE_TURN_WAIT: Duration = Duration::from_secs(15);

/// A transaction that will write. On SQLite it also holds this process's
/// turn to write: SQLite lets one writer in at a time and makes the others
/// poll with growing sleeps, so a writer of many batches in a row (an
/// import of 60,000 people) could keep a single write waiting past its
/// busy timeout. Turns are handed out first come, first served.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

impl Store {
    /// Connects (creating an SQLite file when needed) and brings the schema
    /// up to date.
    pub async fn open(url: &str, master: MasterKey) -> Result<Store, StoreError> {
        Store::open_at(url, master, MIGRATIONS.len()).await
    }

    /// Connects and applies the first `migrations` migrations only: for
    /// testing that a database of an earlier version migrates.
    pub(crate) async fn open_at(
        url: &str,
        master: MasterKey,
        migrations: usize,
    ) -> Result<Store, StoreError> {
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
        let mut options = AnyPoolOptions::new()
            .max_connections(8)
            // A database that cannot be reached fails a request within
            // seconds rather than holding it (and a door) for half a minute.
            .acquire_timeout(Duration::from_secs(5));
        if backend == Backend::Sqlite {
            // A connection to a local file cannot have gone away while idle:
            // no ping (a round trip to the connection's worker thread) before
            // each of the few queries every door frame makes.
            options = options.test_before_acquire(false);
            // P4: what a delete frees is overwritten with zeros, on every
            // connection (the setting is not stored in the file), instead
            // of lingering in free space until reused.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA secure_delete = ON")
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await?;
        let mut store = Store {
            pool,
            backend,
            audit_key: Arc::new(AuditKey::derive(&master)),
            master: Arc::new(master),
            url: url.into(),
            anchor: None,
            write_turns: Arc::default(),
        };
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&store.pool)
                .await?;
        }
        let applied = store.migrate(&MIGRATIONS[..migrations]).await?;
        let wraps_keys = MIGRATIONS[..migrations]
            .iter()
            .any(|m| m.version == WRAPPED_KEYS_VERSION);
        if wraps_keys {
            store.audit_key = Arc::new(store.stored_audit_key().await?);
        }
        // Only a database that existed before secure deletion can hold old
        // bytes; a new one (its first migration applied now) has none, and
        // its first start does not depend on a checkpoint nobody needs.
        let upgraded = applied.contains(&SECURE_DELETE_VERSION) && !applied.contains(&1);
        if backend == Backend::Sqlite && upgraded {
            // Outside any transaction, as VACUUM must be; every page is
            // written anew and the old file's free space goes with it.
            sqlx::query("VACUUM").execute(&store.pool).await?;
            store.truncate_wal().await?;
        }
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

    /// Called after a commit that deleted biometric data. On SQLite the
    /// zeroed pages are in the write-ahead log, while earlier frames of the
    /// log and the database file still hold the old bytes: checkpointing
    /// overwrites the file's pages and truncating drops the log's frames.
    /// (PostgreSQL leaves dead rows to VACUUM: see the crate documentation.)
    ///
    /// The deletion is committed by now and must be reported as done, so
    /// that galleries follow it: a checkpoint that fails here is repeated
    /// by every retention sweep ([`Store::purge_expired`]), which reports
    /// its failure.
    pub(crate) async fn shred_deleted(&self) {
        let _ = self.truncate_wal().await;
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`, waiting up to the busy timeout for another
    /// writer): a deferred transaction that reads first and writes later
    /// fails outright when another writer committed in between, which lost
    /// audit entries under concurrent requests.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = tokio::time::timeout(
                    WRITE_TURN_WAIT,
                    Arc::clone(&self.write_turns).lock_owned(),
                )
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?;
                WriteTx {
                    tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: Some(turn),
                }
            }
            Backend::Postgres => WriteTx {
                tx: self.pool.begin().await?,
                _turn: None,
            },
        })
    }

    /// SQLite: moves the write-ahead log into the database file and
    /// truncates it to nothing. Nothing to do on PostgreSQL.
    pub(crate) async fn truncate_wal(&self) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        // One row: whether a reader kept it from completing, the log's
        // frames, the frames checkpointed. A blocked checkpoint truncates
        // nothing.
        let busy: i64 = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if busy != 0 {
            return Err(StoreError::CheckpointBlocked);
        }
        Ok(())
    }

    /// The audit key as stored; `KeyMismatch` when the master key cannot
    /// unwrap it, that is when the master key is not this database's.
    async fn stored_audit_key(&self) -> Result<AuditKey, StoreError> {
        let wrapped: Vec<u8> = sqlx::query("SELECT wrapped FROM wrapped_keys WHERE purpose = $1")
            .bind(AuditKey::PURPOSE)
            .fetch_one(&self.pool)
            .await?
            .try_get("wrapped")?;
        self.master
            .unwrap_key(&wrapped, AuditKey::PURPOSE)
            .map(AuditKey::from_bytes)
            .map_err(|_| StoreError::KeyMismatch)
    }

    /// The organisation's data key, unwrapped for the caller's use.
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
}

/// Locks the organisation's row for the rest of the transaction (a row
/// lock on PostgreSQL, the write lock on SQLite) and tells whether it
/// exists.
pub(crate) async fn lock_organisation(
    conn: &mut AnyConnection,
    org: &OrgId,
) -> Result<bool, StoreError> {
    let touched = sqlx::query("UPDATE organisations SET id = id WHERE id = $1")
        .bind(org.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(touched.rows_affected() == 1)
}

/// Locks the person's row for the rest of the transaction (a row lock on
/// PostgreSQL, the write lock on SQLite) and tells whether the person
/// exists in that organisation.
pub(crate) async fn lock_person(
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

/// A text column parsed into its checked type; a value that does not
/// parse means the row was not written by this store.
pub(crate) fn parse_col<T, E>(
    row: &AnyRow,
    column: &'static str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    parse(&text).map_err(|_| StoreError::Corrupt(column))
}

#[cfg(test)]
pub(crate) mod tests {
    use limen_domain::{NewPerson, Person, PersonId, now};
    use sqlx::Connection;

    use super::*;
    use crate::AuditRecord;

    /// The audit entry the store's audited methods take; what it says does
    /// not matter to these tests.
    pub(crate) fn entry() -> AuditRecord {
        AuditRecord {
            chain: "store-tests".into(),
            actor: "test".into(),
            action: limen_domain::AuditAction::Seeded,
            subject: String::new(),
            detail: limen_domain::AuditDetail::None,
        }
    }

    /// An empty PostgreSQL database of its own on the test server, or
    /// `None` (with a notice) when no server is configured outside CI.
    pub(crate) struct ScratchPostgres {
        pub(crate) url: String,
        base: String,
        name: String,
    }

    impl ScratchPostgres {
        pub(crate) async fn create() -> Option<ScratchPostgres> {
            let Ok(base) = std::env::var("LIMEN_TEST_POSTGRES_URL") else {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but LIMEN_TEST_POSTGRES_URL is not: run the tests through scripts/test.sh"
                );
                eprintln!(
                    "NOTICE: LIMEN_TEST_POSTGRES_URL is unset, so this PostgreSQL test is SKIPPED"
                );
                return None;
            };
            let name = format!("limen_scratch_{}", OrgId::generate());
            let mut admin = sqlx::PgConnection::connect(&base).await.expect("connect");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .expect("create database");
            let (prefix, _) = base.rsplit_once('/').expect("a database URL with a path");
            let url = format!("{prefix}/{name}");
            Some(ScratchPostgres { url, base, name })
        }

        pub(crate) async fn drop_database(self) {
            let mut admin = sqlx::PgConnection::connect(&self.base)
                .await
                .expect("connect");
            sqlx::query(&format!("DROP DATABASE {}", self.name))
                .execute(&mut admin)
                .await
                .expect("drop database");
        }
    }

    /// An organisation as every schema version holds it (a store of an
    /// older version cannot run today's `create_organisation`).
    pub(crate) async fn bare_organisation(store: &Store) -> OrgId {
        let org = OrgId::generate();
        let (_, wrapped) = store.master_key().new_data_key(org.as_str());
        sqlx::query(
            "INSERT INTO organisations (id, name, wrapped_key, created_at) VALUES ($1, 'Acme', $2, 1000)",
        )
        .bind(org.as_str())
        .bind(wrapped)
        .execute(&store.pool)
        .await
        .expect("organisation");
        org
    }

    /// A new organisation with one imported person who has consented.
    pub(crate) async fn consenting_person(store: &Store) -> (OrgId, Person) {
        let org = bare_organisation(store).await;
        let row = NewPerson::parse(1, "Ann", "Lee", "ann@acme.test", "A1").expect("row");
        store
            .import_people(|_| entry(), &org, std::slice::from_ref(&row))
            .await
            .expect("import")
            .expect("accepted");
        // Read without `people` or `person`, which need the latest schema:
        // callers hold stores of older versions.
        let found = sqlx::query("SELECT id, created_at FROM people WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_one(&store.pool)
            .await
            .expect("imported");
        let id: String = found.try_get("id").expect("id");
        let person = Person {
            id: PersonId::parse(&id).expect("id"),
            org_id: org.clone(),
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            acs_id: row.acs_id,
            created_at: found.try_get("created_at").expect("created_at"),
            invited_at: None,
            language: None,
        };
        // Written as every schema version has consents.
        sqlx::query(
            "INSERT INTO consents (person_id, statement_version, method, given_at) VALUES ($1, 'v1', 'api', $2)",
        )
        .bind(person.id.as_str())
        .bind(now())
        .execute(&store.pool)
        .await
        .expect("consent");
        (org, person)
    }
}
