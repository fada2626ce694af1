//! The galleries of two instances on one database, through the services'
//! public surface: an instance that missed changes so old that the store
//! no longer holds them loads its galleries afresh instead of keeping a
//! face the store has let go.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use limen_domain::{FaceVector, NewPerson, OrgId, now};
use limen_face::FaceEngine;
use limen_services::{Retention, Services};
use limen_store::{MasterKey, Store};

fn engine() -> Arc<FaceEngine> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    Arc::new(FaceEngine::load(&models).expect("the models in the repository"))
}

async fn open(url: &str) -> Store {
    Store::open(url, MasterKey::from_bytes([3; 32]))
        .await
        .expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_lagged_past_the_kept_changes_reloads() {
    let dir = std::env::temp_dir().join(format!("limen-services-{}", OrgId::generate()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("limen.db").display());
    let engine = engine();

    // One person, consenting, with a vector of the engine's model.
    let store = open(&url).await;
    let org = store
        .create_organisation("Acme", &[7; 32])
        .await
        .expect("organisation")
        .id;
    let row = NewPerson::parse(1, "Ann", "Lee", "ann@acme.test", "A1").expect("row");
    store
        .import_people(&org, &[row])
        .await
        .expect("import")
        .expect("accepted");
    let model = limen_domain::ModelVersion::new(engine.model_version());
    let ann = store
        .people(&org, &model)
        .await
        .expect("people")
        .remove(0)
        .person;
    store
        .give_consent(&ann, "v1", "test")
        .await
        .expect("consent");
    let vector =
        FaceVector::new((0..128).map(|i| (i as f32 - 64.0) / 400.0).collect()).expect("vector");
    store
        .replace_vectors(&ann, &model, &[vector])
        .await
        .expect("vector");

    let a = Services::start(open(&url).await, engine.clone(), Retention::default())
        .await
        .expect("instance A");
    let b = Services::start(open(&url).await, engine, Retention::default())
        .await
        .expect("instance B");
    assert_eq!((a.gallery_len(&org), b.gallery_len(&org)), (1, 1));

    // A withdraws, and every recorded change is then pruned before B could
    // read it: B finds a gap in the sequence and reloads.
    assert!(a.withdraw_consent(&ann).await.expect("withdraw"));
    assert_eq!(a.gallery_len(&org), 0, "A applies its own change at once");
    store.prune_face_changes(now() + 1).await.expect("prune");
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.gallery_len(&org) != 0 {
        assert!(Instant::now() < deadline, "B still holds a withdrawn face");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    a.shutdown().await;
    b.shutdown().await;
    store.close().await;
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
