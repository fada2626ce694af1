//! A database filled through the store directly, for tests that need more
//! people than enrolling through the service could make in good time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use limen_domain::{FaceVector, ModelVersion, NewPerson, Person};
use limen_store::{AuditRecord, MasterKey, Store};

use super::{block_on, random_suffix};

/// A data directory with a SQLite database and its master key.
pub struct SeededDatabase {
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub master_key_file: PathBuf,
}

impl SeededDatabase {
    /// One organisation whose `people` people (ACS ids `A0`, `A1`, …)
    /// consent and hold `vectors(i)` of `version`, the version in use.
    pub fn new(
        version: &str,
        people: usize,
        vectors: impl Fn(usize) -> Vec<FaceVector>,
    ) -> SeededDatabase {
        let root = std::env::temp_dir().join(format!("limen-seeded-{}", random_suffix()));
        let data_dir = root.join("data");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let seeded = SeededDatabase {
            database_url: format!("sqlite:{}", data_dir.join("limen.db").display()),
            master_key_file: data_dir.join("master.key"),
            root,
            data_dir,
        };
        let version = ModelVersion::new(version);
        block_on(async {
            let store = seeded.open().await;
            store.start_model_rollout(&version).await.expect("rollout");
            let org = store
                .create_organisation(|_| seeding(), "Acme", &[7; 32])
                .await
                .expect("org");
            let rows: Vec<NewPerson> = (0..people)
                .map(|i| {
                    let email = format!("p{i}@acme.test");
                    NewPerson::parse(i + 1, "Test", "Person", &email, &format!("A{i}"))
                        .expect("row")
                })
                .collect();
            store
                .import_people(|_| seeding(), &org.id, &rows)
                .await
                .expect("import")
                .expect("no conflicts");
            for person in store.people(&org.id, &version).await.expect("people") {
                store
                    .give_consent(
                        &seeding(),
                        &person.person,
                        "v1",
                        limen_domain::Language::English,
                        "api",
                    )
                    .await
                    .expect("consent");
                store
                    .replace_vectors(
                        &seeding(),
                        &person.person,
                        &version,
                        &vectors(index_of(&person.person)),
                    )
                    .await
                    .expect("vectors");
            }
            store.close().await;
        });
        seeded
    }

    pub async fn open(&self) -> Store {
        Store::open(
            &self.database_url,
            MasterKey::load_or_create(&self.master_key_file).expect("master key"),
        )
        .await
        .expect("open")
    }

    /// Starts `limen admin ARGS` on this database, its output discarded.
    pub fn spawn_admin(&self, args: &[&str]) -> Child {
        Command::new(super::BIN)
            .arg("admin")
            .args(args)
            .env_remove("LIMEN_CONFIG")
            .env("LIMEN_DATA_DIR", &self.data_dir)
            .env("LIMEN_DATABASE_URL", &self.database_url)
            .env("LIMEN_MAIL_URL", "smtp://127.0.0.1:9")
            .env("LIMEN_MODELS_DIR", models_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn limen admin")
    }
}

/// The repository's models.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

impl Drop for SeededDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The index a seeded person was made with (from their ACS id).
pub fn index_of(person: &Person) -> usize {
    person.acs_id.as_str()[1..]
        .parse()
        .expect("a seeded ACS id")
}

/// The entry the store's audited methods take while seeding (in the
/// operator's chain: no organisation exists at first).
fn seeding() -> AuditRecord {
    AuditRecord {
        chain: limen_store::OPERATOR_CHAIN.to_owned(),
        actor: "test".to_owned(),
        action: limen_domain::AuditAction::Seeded,
        subject: String::new(),
        detail: limen_domain::AuditDetail::None,
    }
}
