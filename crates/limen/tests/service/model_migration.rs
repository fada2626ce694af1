//! Issue 10: a model version that only changes the back-end of the active
//! one (`omz-reid-0095-centred` centres `omz-reid-0095`'s vectors) moves
//! everyone's stored vectors in place when the operator activates it: no
//! e-mail, no new picture, each set re-encrypted under a new key, and the
//! same people pass the door. Killed half way, nobody is half moved.

use std::process::Output;
use std::time::Duration;

use limen_domain::{FaceVector, ModelVersion};
use limen_face::FaceModel;
use serde_json::{Value, json};
use sqlx::Row;

use crate::support::{
    Backend, SeededDatabase, Server, SmtpSink, block_on, create_device, create_entrance, decision,
    enrol_with, fixture, index_of, models_dir, onboard, raw_connection, send_frame,
};

const BASE: FaceModel = FaceModel::OMZ_REID_0095;
const CENTRED: FaceModel = FaceModel::OMZ_REID_0095_CENTRED;

fn succeeded(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The ACS id a door frame of `photo` opens for, if any.
fn acs_at_the_door(server: &Server, device: &str, photo: &str) -> Option<String> {
    let reply = send_frame(server, device, &fixture(photo));
    let answer: Value = {
        decision(&reply);
        reply.json()
    };
    (answer["decision"] == "matched").then(|| answer["acs_id"].as_str().expect("acs").to_owned())
}

/// Every sealed vector and wrapped set key in the database.
fn ciphertexts(database_url: &str) -> Vec<Vec<u8>> {
    block_on(async {
        let mut conn = raw_connection(database_url).await;
        let mut all = Vec::new();
        for sql in [
            "SELECT sealed AS bytes FROM face_vectors",
            "SELECT wrapped AS bytes FROM vector_keys",
        ] {
            for row in sqlx::query(sql).fetch_all(&mut conn).await.expect(sql) {
                all.push(row.try_get::<Vec<u8>, _>("bytes").expect("bytes"));
            }
        }
        all
    })
}

#[test]
fn a_back_end_version_moves_everyone_in_place_without_asking_anyone() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let door = create_entrance(&server, &admin, "Front", json!({ "type": "osdp" }));
    let (_, device) = create_device(&server, &admin, &door);
    let andre = onboard(&server, &smtp, &admin, "andre@acme.test", "CARD-A", 1);
    enrol_with(
        &server,
        &andre.session,
        &[
            "Andre_Agassi_0005.jpg",
            "Andre_Agassi_0016.jpg",
            "Andre_Agassi_0027.jpg",
        ],
    );
    let exported = |session: &str| server.get("/api/v1/me/export", Some(session)).json();
    let before = exported(&andre.session)["face_vectors"].clone();
    assert!(
        before
            .as_array()
            .expect("vectors")
            .iter()
            .all(|v| v["model_version"] == BASE.id),
        "{before}"
    );
    let door_before = [
        acs_at_the_door(&server, &device, "Andre_Agassi_0002.jpg"),
        acs_at_the_door(&server, &device, "Abdullah_Gul_0011.jpg"),
    ];
    assert_eq!(door_before, [Some("CARD-A".to_owned()), None]);
    let sealed_before = ciphertexts(&server.database_url);
    let mails_before = smtp.count();

    let out = succeeded(server.admin(&["model", "activate", CENTRED.id]));
    assert!(out.contains("nobody is asked to renew"), "{out}");
    assert!(
        out.contains(&format!("1 people moved to {}", CENTRED.id)),
        "{out}"
    );

    // The same decisions at the door, now from the centred vectors.
    let door_after = [
        acs_at_the_door(&server, &device, "Andre_Agassi_0002.jpg"),
        acs_at_the_door(&server, &device, "Abdullah_Gul_0011.jpg"),
    ];
    assert_eq!(door_after, door_before);
    let export = exported(&andre.session);
    let history = export["history"].as_array().expect("history");
    let migration = history
        .iter()
        .find(|e| e["action"] == "vector.migrated")
        .unwrap_or_else(|| panic!("the export says nothing of the migration: {export}"));
    assert_eq!(migration["actor"], "operator");
    assert!(
        migration["detail"]
            .as_str()
            .is_some_and(|d| d.contains(CENTRED.id) && d.contains("no picture")),
        "{migration}"
    );
    assert!(history.iter().any(|e| e["action"] == "consent.given"));
    let after = export["face_vectors"].clone();
    let after = after.as_array().expect("vectors");
    assert_eq!(after.len(), before.as_array().map(Vec::len).unwrap_or(0));
    for (old, new) in before.as_array().expect("vectors").iter().zip(after) {
        assert_eq!(new["model_version"], CENTRED.id, "{new}");
        assert_eq!(
            new["enrolled_at"], old["enrolled_at"],
            "the face is the same"
        );
        assert_ne!(new["values"], old["values"]);
    }
    // Re-encrypted: no ciphertext and no key of the old set is left.
    let sealed_after = ciphertexts(&server.database_url);
    assert_eq!(sealed_after.len(), sealed_before.len());
    assert!(sealed_after.iter().all(|c| !sealed_before.contains(c)));

    let model = server.get("/api/v1/model", Some(&admin)).json();
    assert_eq!(model["active"], CENTRED.id, "{model}");
    assert!(model["transition"].is_null(), "{model}");
    let trail = server.get("/api/v1/audit", Some(&admin)).json();
    let migrated = trail
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "vector.migrated")
        .count();
    assert_eq!(migrated, 1);
    // Nobody was asked for anything: the renewal sender's next round
    // (every 10 s) finds nothing due either.
    std::thread::sleep(Duration::from_secs(11));
    assert_eq!(smtp.count(), mails_before, "an e-mail went out");
    succeeded(server.admin(&["audit", "verify"]));
}

/// A unit vector of the base version, different for each person.
fn stored_vector(i: usize) -> FaceVector {
    let mut values = vec![0.05f32; BASE.dimensions];
    values[i % BASE.dimensions] = 0.9;
    let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    FaceVector::new(values.iter().map(|v| v / norm).collect()).expect("vector")
}

/// Killed with SIGKILL while it moves the vectors, the operator's
/// activation leaves every person either moved or untouched, never half
/// way; activated again, it finishes, and every moved vector is what the
/// back-end makes of the stored one.
#[test]
fn a_killed_migration_leaves_nobody_half_moved() {
    let people = 400;
    let seeded = SeededDatabase::new(BASE.id, people, |i| {
        vec![stored_vector(i), stored_vector(i + 1)]
    });
    let activate = || seeded.spawn_admin(&["model", "activate", CENTRED.id]);
    let back_end = CENTRED
        .back_end
        .expect("a back-end")
        .load(models_dir(), CENTRED.dimensions)
        .expect("loads");
    let census = || {
        block_on(async {
            let store = seeded.open().await;
            let org = store.organisations().await.expect("orgs")[0].id.clone();
            let (mut moved, mut untouched) = (0, 0);
            for person in store
                .people(&org, &ModelVersion::new(CENTRED.id))
                .await
                .expect("people")
            {
                let i = index_of(&person.person);
                let vectors = store.vectors(&person.person).await.expect("vectors");
                let versions: Vec<&str> =
                    vectors.iter().map(|v| v.model_version.as_str()).collect();
                let values: Vec<&[f32]> = vectors.iter().map(|v| v.vector.as_slice()).collect();
                if versions == [BASE.id, BASE.id] {
                    assert_eq!(
                        values,
                        [stored_vector(i).as_slice(), stored_vector(i + 1).as_slice()]
                    );
                    untouched += 1;
                } else if versions == [CENTRED.id, CENTRED.id] {
                    for (value, j) in values.iter().zip([i, i + 1]) {
                        let derived = back_end.apply(stored_vector(j).as_slice()).expect("256");
                        assert_eq!(*value, derived.as_slice());
                    }
                    moved += 1;
                } else {
                    panic!("half moved: {versions:?}");
                }
            }
            let rollout = store.model_rollout().await.expect("rollout").expect("set");
            store.close().await;
            (moved, untouched, rollout)
        })
    };
    // Killed sooner and later: before the activation, between people,
    // after the last.
    let mut finished = false;
    for delay_ms in [5u64, 30, 80, 150, 300, 600, 1000, 1600] {
        let mut child = activate();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait().expect("wait");
        let (moved, untouched, rollout) = census();
        assert_eq!(moved + untouched, people, "everyone is one or the other");
        if moved > 0 {
            assert_eq!(rollout.active.as_str(), CENTRED.id);
        }
        finished = moved == people && rollout.transition.is_none();
        if finished {
            break;
        }
    }
    if !finished {
        assert!(activate().wait().expect("wait").success());
    }
    let (moved, untouched, rollout) = census();
    assert_eq!((moved, untouched), (people, 0));
    assert_eq!(rollout.active.as_str(), CENTRED.id);
    assert!(rollout.transition.is_none());
}
