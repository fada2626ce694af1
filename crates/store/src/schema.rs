//! The schema's versions: each migration's SQL for both databases, and
//! applying those not yet applied, with the steps some versions need
//! beyond their SQL (relinking the audit chains, re-sealing sets).

use limen_domain::now;
use sqlx::Row;

use crate::audit::{AuditKey, key_audit_chains};
use crate::store::{Backend, Store, StoreError};

pub(crate) struct Migration {
    pub(crate) version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

/// A migration whose SQL is `migrations/<dialect>/<file>.sql` for both
/// databases: one name, so neither dialect's script can be missed.
macro_rules! migration {
    ($version:expr, $file:literal) => {
        Migration {
            version: $version,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $file, ".sql")),
        }
    };
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_initial"),
    migration!(2, "0002_entrances"),
    migration!(3, "0003_face_sets_and_changes"),
    migration!(SECURE_DELETE_VERSION, "0004_secure_delete"),
    migration!(AUDIT_KEYED_VERSION, "0005_keyed_audit"),
    migration!(6, "0006_security_level"),
    migration!(7, "0007_model_rollout"),
    migration!(WRAPPED_KEYS_VERSION, "0008_wrapped_keys"),
    migration!(VECTOR_KEYS_VERSION, "0009_vector_keys"),
    migration!(10, "0010_api_keys"),
    migration!(11, "0011_languages"),
    migration!(12, "0012_consent_language"),
    migration!(13, "0013_password_resets"),
    migration!(14, "0014_admins"),
    migration!(15, "0015_device_activity"),
    migration!(16, "0016_admin_totp"),
    migration!(18, "0018_time_columns"),
    migration!(19, "0019_time_zone"),
    migration!(21, "0021_password_links_and_connectors"),
];

/// The version from which SQLite deletes securely; reaching it rewrites an
/// older file once, so that data deleted before leaves nothing behind.
pub(crate) const SECURE_DELETE_VERSION: i64 = 4;

/// The version from which audit links are keyed; reaching it relinks the
/// existing chains (see [`key_audit_chains`]).
const AUDIT_KEYED_VERSION: i64 = 5;

/// The version from which the audit key is stored wrapped by the master
/// key (the one it was derived from until then), so that a new master
/// key keeps every link verifiable. (Version 7 is taken on another branch.)
pub(crate) const WRAPPED_KEYS_VERSION: i64 = 8;

/// The version from which each person's set has a key of its own; reaching
/// it re-seals the existing sets (see [`Store::key_vector_sets`]).
const VECTOR_KEYS_VERSION: i64 = 9;

impl Store {
    /// Applies the migrations not yet applied; returns their versions.
    pub(crate) async fn migrate(&self, migrations: &[Migration]) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
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
        let pending: Vec<&Migration> = migrations
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .collect();
        for migration in &pending {
            let script = match self.backend() {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            // Comments go first, so that a `;` in one splits nothing.
            let script = strip_comments(script);
            for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            if migration.version == AUDIT_KEYED_VERSION {
                key_audit_chains(&mut tx, &AuditKey::derive(self.master_key())).await?;
            }
            if migration.version == VECTOR_KEYS_VERSION {
                self.key_vector_sets(&mut tx).await?;
            }
            if migration.version == WRAPPED_KEYS_VERSION {
                let audit_key = AuditKey::derive(self.master_key());
                sqlx::query("INSERT INTO wrapped_keys (purpose, wrapped) VALUES ($1, $2)")
                    .bind(AuditKey::PURPOSE)
                    .bind(
                        self.master_key()
                            .wrap_key(audit_key.bytes(), AuditKey::PURPOSE),
                    )
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO limen_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(migration.version)
                .bind(now())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(pending.iter().map(|m| m.version).collect())
    }
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

#[cfg(test)]
mod tests {
    use limen_domain::{ModelVersion, OrgId};
    use sqlx::{Connection, Row};

    use crate::crypto::MasterKey;
    use crate::store::Store;
    use crate::store::tests::consenting_person;

    /// A file written before secure deletion holds what was deleted in its
    /// free space; reaching the secure-delete version rewrites it.
    #[tokio::test]
    async fn sqlite_upgrade_scrubs_what_was_deleted_before() {
        let dir = std::env::temp_dir().join(format!("limen-scrub-{}", OrgId::generate()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("limen.db");
        let url = format!("sqlite:{}", path.display());
        let master = || MasterKey::from_bytes([7; 32]);
        let model = ModelVersion::new("dlib-resnet-v1");

        let old = Store::open_at(&url, master(), 3).await.expect("version 3");
        let (org, person) = consenting_person(&old).await;
        // A vector as version 3 stored it: sealed under the organisation's key.
        let mut conn = old.pool.acquire().await.expect("connection");
        let key = old.data_key(&mut conn, &org).await.expect("key");
        let plain: Vec<u8> = (0..128)
            .flat_map(|i| (i as f32 / 300.0).to_le_bytes())
            .collect();
        sqlx::query(
            "INSERT INTO face_vectors (person_id, slot, model_version, sealed, enrolled_at) VALUES ($1, 0, $2, $3, 1000)",
        )
        .bind(person.id.as_str())
        .bind(model.as_str())
        .bind(key.seal(&plain, &crate::faces::vector_context(&org, &person.id, &model)))
        .execute(&mut *conn)
        .await
        .expect("a version-3 vector row");
        drop(conn);
        old.close().await;
        // Deleted as before this version: no secure deletion, and the
        // freed page checkpointed into the file.
        let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
        let sealed: Vec<u8> = sqlx::query("SELECT sealed FROM face_vectors")
            .fetch_one(&mut conn)
            .await
            .expect("sealed")
            .try_get(0)
            .expect("blob");
        // The entries this store wrote carry keyed links, which a store of
        // version 3 never wrote: the upgrade to keyed links would refuse them.
        for statement in [
            "DELETE FROM audit_entries",
            "PRAGMA secure_delete = OFF",
            "DELETE FROM face_vectors",
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ] {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect(statement);
        }
        conn.close().await.expect("close");
        let holds_it = || {
            let bytes = std::fs::read(&path).expect("database file");
            bytes.windows(sealed.len()).any(|w| w == sealed.as_slice())
        };
        assert!(holds_it(), "the old file keeps the deleted ciphertext");

        let store = Store::open(&url, master()).await.expect("migrated");
        assert!(!holds_it(), "the upgrade left the deleted ciphertext");
        store.close().await;
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
