//! The store itself: connecting, migrating, and what the aggregates share
//! (organisations' data keys, locking a person, reading checked columns).

use std::sync::Arc;
use std::time::Duration;

use limen_domain::{OrgId, PersonId, now};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row};

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
    #[error("a person holds 1 to {max} vectors", max = limen_domain::MAX_VECTORS_PER_PERSON)]
    InvalidVectorSet,
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
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
    /// Kept for the extra connection a change listener holds (PostgreSQL).
    pub(crate) url: Arc<str>,
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
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/sqlite/0003_face_sets_and_changes.sql"),
        postgres: include_str!("../migrations/postgres/0003_face_sets_and_changes.sql"),
    },
];

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
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            // A database that cannot be reached fails a request within
            // seconds rather than holding it (and a door) for half a minute.
            .acquire_timeout(Duration::from_secs(5))
            .connect(&url)
            .await?;
        let store = Store {
            pool,
            backend,
            master: Arc::new(master),
            url: url.into(),
        };
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&store.pool)
                .await?;
        }
        store.migrate(&MIGRATIONS[..migrations]).await?;
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

    async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
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
        for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
            let script = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            // Comments go first, so that a `;` in one splits nothing.
            let script = strip_comments(script);
            for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(statement).execute(&mut *tx).await?;
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

fn strip_comments(statement: &str) -> String {
    statement
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
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
