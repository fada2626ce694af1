//! The galleries of two instances on one database, through the services'
//! public surface: an instance that missed changes so old that the store
//! no longer holds them loads its galleries afresh instead of keeping a
//! face the store has let go.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use limen_domain::{FaceVector, NewPerson, OrgId, now};
use limen_face::FaceEngine;
use limen_services::{ModelLibrary, Retention, Services};
use limen_store::{AuditRecord, MasterKey, Store};

fn engine() -> Arc<FaceEngine> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    Arc::new(
        FaceEngine::load(&models, limen_face::FaceModel::DEFAULT)
            .expect("the models in the repository"),
    )
}

fn library(engine: Arc<FaceEngine>) -> ModelLibrary {
    ModelLibrary::with_engine(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"),
        engine,
    )
}

/// The audit entry the store's audited methods take; what it says does
/// not matter to these tests.
fn entry() -> AuditRecord {
    AuditRecord {
        chain: "galleries-test".into(),
        actor: "test".into(),
        action: limen_domain::AuditAction::Seeded,
        subject: String::new(),
        detail: limen_domain::AuditDetail::None,
    }
}

async fn open(url: &str) -> Store {
    Store::open(url, MasterKey::from_bytes([3; 32]))
        .await
        .expect("open")
}

/// A database with one consenting person holding one vector; its URL.
async fn one_enrolled_person(
    dir: &Path,
    engine: &FaceEngine,
) -> (String, OrgId, limen_domain::Person) {
    std::fs::create_dir_all(dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("limen.db").display());
    let store = open(&url).await;
    let org = store
        .create_organisation(|_| entry(), "Acme", &[7; 32])
        .await
        .expect("organisation")
        .id;
    let row = NewPerson::parse(1, "Ann", "Lee", "ann@acme.test", "A1").expect("row");
    store
        .import_people(|_| entry(), &org, &[row])
        .await
        .expect("import")
        .expect("accepted");
    let model = limen_domain::ModelVersion::new(engine.model().id);
    let ann = store
        .people(&org, &model)
        .await
        .expect("people")
        .remove(0)
        .person;
    store
        .give_consent(
            &entry(),
            &ann,
            "v1",
            limen_domain::Language::English,
            "test",
        )
        .await
        .expect("consent");
    let dimensions = engine.model().dimensions;
    let vector = FaceVector::new((0..dimensions).map(|i| (i as f32 - 64.0) / 400.0).collect())
        .expect("vector");
    store
        .replace_vectors(&entry(), &ann, &model, &[vector])
        .await
        .expect("vector");
    store.close().await;
    (url, org, ann)
}

async fn until_empty(instance: &Services, org: &OrgId, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while instance.gallery_len(org) != 0 {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_lagged_past_the_kept_changes_reloads() {
    let dir = std::env::temp_dir().join(format!("limen-services-{}", OrgId::generate()));
    let engine = engine();
    let (url, org, ann) = one_enrolled_person(&dir, &engine).await;
    let a = Services::start(
        open(&url).await,
        library(engine.clone()),
        Retention::default(),
    )
    .await
    .expect("instance A");
    let b = Services::start(
        open(&url).await,
        library(engine.clone()),
        Retention::default(),
    )
    .await
    .expect("instance B");
    assert_eq!((a.gallery_len(&org), b.gallery_len(&org)), (1, 1));

    // A withdraws, and every recorded change is then pruned before B could
    // read it: B finds a gap in the sequence and reloads.
    assert!(a.withdraw_consent(&ann).await.expect("withdraw"));
    assert_eq!(a.gallery_len(&org), 0, "A applies its own change at once");
    a.store()
        .prune_face_changes(now() + 1)
        .await
        .expect("prune");
    until_empty(&b, &org, "B still holds a withdrawn face").await;

    a.shutdown().await;
    b.shutdown().await;
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_database_went_back_in_time_reloads() {
    use sqlx::Connection;
    let dir = std::env::temp_dir().join(format!("limen-services-{}", OrgId::generate()));
    let engine = engine();
    let (url, org, _) = one_enrolled_person(&dir, &engine).await;
    let instance = Services::start(
        open(&url).await,
        library(engine.clone()),
        Retention::default(),
    )
    .await
    .expect("instance");
    assert_eq!(instance.gallery_len(&org), 1);

    // As if an older backup were restored under the running instance: the
    // person never enrolled, and the sequence is back at its start.
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    for statement in [
        "DELETE FROM face_vectors",
        "DELETE FROM face_changes",
        "UPDATE face_change_head SET seq = 0",
    ] {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("restore");
    }
    until_empty(
        &instance,
        &org,
        "the instance still holds a face the database does not",
    )
    .await;

    instance.shutdown().await;
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
