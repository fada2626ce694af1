//! Consent and vectors: no consent no vector, ciphertext at rest, sets,
//! and the numbered changes galleries follow.

use limen_domain::{EmailAddress, FaceVector, ModelVersion, PersonName, now};
use limen_store::token::new_token;
use limen_store::{FaceChange, StoreError};
use sqlx::Row;

use crate::*;

pub(crate) async fn no_consent_no_vector(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    assert!(matches!(
        store
            .replace_vectors(&entry(), &person, &model(), &one_vector())
            .await,
        Err(StoreError::NoConsent)
    ));
    assert_eq!(vector_rows(db, &person).await, 0);

    consent_to_v1(store, &person, "api").await;
    store
        .replace_vectors(&entry(), &person, &model(), &one_vector())
        .await
        .expect("stored with consent");
    assert_eq!(vector_rows(db, &person).await, 1);
    store
        .withdraw_consent(&entry(), &person)
        .await
        .expect("withdraw");
    assert_eq!(
        vector_rows(db, &person).await,
        0,
        "withdrawing consent deletes the vector at once"
    );
    assert!(matches!(
        store
            .replace_vectors(&entry(), &person, &model(), &one_vector())
            .await,
        Err(StoreError::NoConsent)
    ));
    store
        .give_consent(
            &entry(),
            &person,
            "v1",
            limen_domain::Language::English,
            "api",
        )
        .await
        .expect("consent again");
    assert!(FaceVector::new(vec![f32::NAN; 128]).is_err());
    let six = vec![FaceVector::new(descriptor()).expect("valid"); 6];
    for refused in [&[][..], &six[..]] {
        assert!(matches!(
            store
                .replace_vectors(&entry(), &person, &model(), refused)
                .await,
            Err(StoreError::InvalidVectorSet)
        ));
    }
    assert_eq!(vector_rows(db, &person).await, 0);
}

pub(crate) async fn vectors_are_ciphertext_and_die_with_their_organisation(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    consent_to_v1(store, &person, "api").await;
    store
        .replace_vectors(&entry(), &person, &model(), &one_vector())
        .await
        .expect("vector");

    let mut conn = raw(db).await;
    let sealed: Vec<u8> = sqlx::query("SELECT sealed FROM face_vectors WHERE person_id = $1")
        .bind(person.id.as_str())
        .fetch_one(&mut conn)
        .await
        .expect("row")
        .get(0);
    let plain: Vec<u8> = descriptor().iter().flat_map(|v| v.to_le_bytes()).collect();
    for float in plain.chunks(4) {
        assert!(
            !sealed.windows(4).any(|w| w == float),
            "a float of the vector appears in the raw row"
        );
    }
    let big_endian: Vec<u8> = descriptor().iter().flat_map(|v| v.to_be_bytes()).collect();
    assert!(!sealed.windows(8).any(|w| w == &big_endian[8..16]));

    let admin = store
        .invite_admin(
            |_| entry(),
            &org,
            &EmailAddress::parse("olga@acme.test").expect("address"),
            &PersonName::parse("Olga").expect("name"),
            &new_token().1,
            now() + 3600,
        )
        .await
        .expect("invite")
        .expect("a new admin");
    store
        .create_admin_session(&admin.id, &new_token().1, now() + 3600)
        .await
        .expect("session");

    assert!(
        store
            .delete_organisation(&entry(), &org)
            .await
            .expect("delete")
    );
    assert!(store.vectors(&person).await.expect("read").is_empty());
    for table in ["organisations", "api_keys", "admins", "people"] {
        let column = if table == "organisations" {
            "id"
        } else {
            "org_id"
        };
        let count: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"))
            .bind(org.as_str())
            .fetch_one(&mut conn)
            .await
            .expect("count")
            .get(0);
        assert_eq!(
            count, 0,
            "{table} still holds rows of the deleted organisation"
        );
    }
    let sessions: i64 = sqlx::query("SELECT COUNT(*) FROM admin_sessions WHERE admin_id = $1")
        .bind(admin.id.as_str())
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get(0);
    assert_eq!(sessions, 0, "the admin's session outlived the organisation");
    for table in ["face_vectors", "consents", "accounts"] {
        let count: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) FROM {table} WHERE person_id = $1"
        ))
        .bind(person.id.as_str())
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get(0);
        assert_eq!(
            count, 0,
            "{table} still holds rows of the deleted organisation"
        );
    }
    assert!(
        store
            .audit_trail(org.as_str())
            .await
            .expect("trail")
            .is_empty()
    );
    // The ciphertext, even kept in a backup, now has no key anywhere.
    if let Some(path) = db.url.strip_prefix("sqlite:") {
        drop(conn);
        let file = std::fs::read(path).expect("database file");
        assert!(
            !file.windows(sealed.len()).any(|w| w == sealed.as_slice()),
            "the ciphertext is still in the file"
        );
    }
}

pub(crate) fn vector_of(seed: f32) -> FaceVector {
    FaceVector::new((0..128).map(|i| seed + i as f32 / 1000.0).collect()).expect("valid")
}

pub(crate) async fn a_set_of_vectors_is_replaced_whole(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    consent_to_v1(store, &person, "api").await;
    let three = [vector_of(0.1), vector_of(0.2), vector_of(0.3)];
    store
        .replace_vectors(&entry(), &person, &model(), &three)
        .await
        .expect("three");
    let stored = store.vectors(&person).await.expect("read");
    assert_eq!(
        stored.iter().map(|v| v.vector.clone()).collect::<Vec<_>>(),
        three,
        "read back in the order given"
    );
    assert_eq!(vector_rows(db, &person).await, 3);
    assert_eq!(
        store
            .gallery_set(&org, &person.id, &model())
            .await
            .expect("set"),
        three
    );
    assert!(
        store
            .gallery_set(&org, &person.id, &ModelVersion::new("other-model"))
            .await
            .expect("set")
            .is_empty(),
        "a gallery of another model holds none of them"
    );

    let renewed = [vector_of(0.9)];
    store
        .replace_vectors(
            &entry(),
            &person,
            &ModelVersion::new("dlib-resnet-v2"),
            &renewed,
        )
        .await
        .expect("renewal");
    let stored = store.vectors(&person).await.expect("read");
    assert_eq!(stored.len(), 1, "the old set is gone whole");
    assert_eq!(stored[0].model_version.as_str(), "dlib-resnet-v2");
    assert_eq!(vector_rows(db, &person).await, 1);

    // The galleries' loader sees every consenting person's set, grouped.
    let bob = registered_person(store, &org, "bob@acme.test", "A2").await;
    consent_to_v1(store, &bob, "api").await;
    store
        .replace_vectors(&entry(), &bob, &model(), &[vector_of(0.4), vector_of(0.5)])
        .await
        .expect("bob");
    store
        .replace_vectors(&entry(), &person, &model(), &three)
        .await
        .expect("three again");
    let mut sets = Vec::new();
    store
        .gallery_sets(&model(), 1, |set| {
            if set.org_id == org {
                sets.push((set.person_id, set.vectors.len()));
            }
            Ok(())
        })
        .await
        .expect("load");
    sets.sort();
    let mut expected = vec![(person.id.clone(), 3), (bob.id.clone(), 2)];
    expected.sort();
    assert_eq!(sets, expected);
    store
        .withdraw_consent(&entry(), &bob)
        .await
        .expect("withdraw");
    assert!(
        store
            .gallery_set(&org, &bob.id, &model())
            .await
            .expect("set")
            .is_empty()
    );
}

pub(crate) async fn every_change_to_a_gallery_is_numbered_in_order(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    let start = store.face_change_head().await.expect("head");
    let ann = |seq| FaceChange {
        seq,
        org_id: org.clone(),
        person_id: Some(person.id.clone()),
    };

    consent_to_v1(store, &person, "api").await;
    // Other tests may share the PostgreSQL database and move the head:
    // only this organisation's changes say anything here.
    assert!(
        store
            .face_changes_after(start, 100_000)
            .await
            .expect("changes")
            .iter()
            .all(|c| c.org_id != org),
        "consent alone changes no gallery"
    );
    store
        .replace_vectors(&entry(), &person, &model(), &one_vector())
        .await
        .expect("enrol");
    assert!(
        store
            .delete_vectors(&entry(), &person)
            .await
            .expect("remove")
    );
    assert!(
        !store
            .delete_vectors(&entry(), &person)
            .await
            .expect("remove again"),
        "nothing left to remove, nothing recorded"
    );
    store
        .replace_vectors(&entry(), &person, &model(), &one_vector())
        .await
        .expect("enrol again");
    assert!(
        store
            .withdraw_consent(&entry(), &person)
            .await
            .expect("withdraw")
    );
    store
        .cancel_registration(&entry(), &person)
        .await
        .expect("cancel");
    assert!(
        store
            .delete_person(&entry(), &org, &person.id)
            .await
            .expect("erase")
    );
    assert!(
        store
            .delete_organisation(&entry(), &org)
            .await
            .expect("delete")
    );

    let head = store.face_change_head().await.expect("head");
    let all = store
        .face_changes_after(start, 100_000)
        .await
        .expect("changes");
    let alone = all.iter().all(|c| c.org_id == org);
    let changes: Vec<FaceChange> = all.into_iter().filter(|c| c.org_id == org).collect();
    let mut expected: Vec<FaceChange> = (1..=6).map(|n| ann(start + n)).collect();
    expected.push(FaceChange {
        seq: start + 7,
        org_id: org.clone(),
        person_id: None,
    });
    if alone {
        // Alone on this database: the numbers follow on without a gap.
        assert_eq!(changes, expected);
    } else {
        // Other tests share the PostgreSQL database: ours are in order.
        assert_eq!(changes.len(), 7);
        assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(changes[6].person_id, None);
    }
    assert!(
        store
            .face_changes_after(head, 100_000)
            .await
            .expect("later changes")
            .iter()
            .all(|c| c.org_id != org),
        "ours are all at or below the head"
    );
    // Pruning forgets old changes but never the head.
    store.prune_face_changes(now() + 1).await.expect("prune");
    assert!(
        store
            .face_changes_after(start, 100)
            .await
            .expect("pruned")
            .iter()
            .all(|c| c.org_id != org)
    );
    assert!(store.face_change_head().await.expect("head") >= head);
}

/// The person's sealed vectors as they are in the database now, as
/// someone reading its pages would find them.
async fn sealed_rows(db: &TestDb, person: &limen_domain::Person) -> Vec<(i64, String, Vec<u8>)> {
    let mut conn = raw(db).await;
    sqlx::query("SELECT slot, model_version, sealed FROM face_vectors WHERE person_id = $1")
        .bind(person.id.as_str())
        .fetch_all(&mut conn)
        .await
        .expect("rows")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// Puts leftover ciphertext back where it was, as someone with write
/// access to the database could after finding it in a dead row or a copy.
async fn put_back(db: &TestDb, person: &limen_domain::Person, rows: &[(i64, String, Vec<u8>)]) {
    let mut conn = raw(db).await;
    sqlx::query("DELETE FROM face_vectors WHERE person_id = $1")
        .bind(person.id.as_str())
        .execute(&mut conn)
        .await
        .expect("clear");
    for (slot, model_version, sealed) in rows {
        sqlx::query(
            "INSERT INTO face_vectors (person_id, slot, model_version, sealed, enrolled_at) VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(person.id.as_str())
        .bind(*slot)
        .bind(model_version.as_str())
        .bind(sealed.clone())
        .execute(&mut conn)
        .await
        .expect("put back");
    }
}

/// P4, crypto-shredding: a set's key goes with the set, so its ciphertext
/// left behind (a dead PostgreSQL row, a page not yet overwritten) decrypts
/// with nothing the database still holds: not after a withdrawal, and not
/// after a re-enrolment gave the person a new key.
pub(crate) async fn a_deleted_sets_leftover_ciphertext_decrypts_with_nothing_left(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = &registered_person(store, &org, "ann@acme.test", "A1").await;
    let consent = || async move {
        consent_to_v1(store, person, "api").await;
    };
    let enrol = |value: f32| async move {
        store
            .replace_vectors(&entry(), person, &model(), &[vector_of(value)])
            .await
            .expect("enrol");
    };
    consent().await;
    enrol(0.3).await;
    let first = sealed_rows(db, person).await;
    assert_eq!(store.vectors(person).await.expect("read").len(), 1);

    store
        .withdraw_consent(&entry(), person)
        .await
        .expect("withdraw");
    put_back(db, person, &first).await;
    assert!(
        matches!(store.vectors(person).await, Err(StoreError::Corrupt(_))),
        "withdrawn: the leftover ciphertext has no key any more"
    );

    consent().await;
    enrol(0.6).await;
    // Out of every gallery first (consent ended behind the store's back,
    // the new key kept), so that other tests loading galleries from the
    // shared database never meet the planted ciphertext.
    let mut conn = raw(db).await;
    sqlx::query("UPDATE consents SET withdrawn_at = 1 WHERE person_id = $1")
        .bind(person.id.as_str())
        .execute(&mut conn)
        .await
        .expect("out of the galleries");
    put_back(db, person, &first).await;
    assert!(
        matches!(store.vectors(person).await, Err(StoreError::Corrupt(_))),
        "re-enrolled: the new key does not open the earlier set"
    );
    assert!(
        store
            .delete_organisation(&entry(), &org)
            .await
            .expect("cleanup")
    );
}

/// Galleries load the same sets in the same order whether one thread opens
/// them or several (enough people for several batches of each).
pub(crate) async fn sets_load_alike_on_one_thread_and_on_several(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let rows: Vec<_> = (0..150)
        .map(|i| {
            row(
                i + 1,
                "Ann",
                "Lee",
                &format!("p{i}@acme.test"),
                &format!("A{i}"),
            )
        })
        .collect();
    assert!(
        store
            .import_people(|_| entry(), &org, &rows)
            .await
            .expect("import")
            .is_ok()
    );
    let people = store.people(&org, &model()).await.expect("people");
    for (i, overview) in people.iter().enumerate() {
        consent_to_v1(store, &overview.person, "api").await;
        let set: Vec<FaceVector> = (0..1 + i % 3)
            .map(|v| vector_of(i as f32 / 100.0 + v as f32))
            .collect();
        store
            .replace_vectors(&entry(), &overview.person, &model(), &set)
            .await
            .expect("vectors");
    }
    let mut loads = Vec::new();
    for threads in [1, 3] {
        let mut sets = Vec::new();
        store
            .gallery_sets(&model(), threads, |set| {
                // Other tests may share the PostgreSQL database.
                if set.org_id == org {
                    let vectors: Vec<Vec<f32>> =
                        set.vectors.iter().map(|v| v.as_slice().to_vec()).collect();
                    sets.push((set.person_id, vectors));
                }
                Ok(())
            })
            .await
            .expect("load");
        loads.push(sets);
    }
    assert_eq!(loads[0].len(), 150);
    assert!(
        loads[0].is_sorted_by(|a, b| a.0 < b.0),
        "in the order of people"
    );
    assert_eq!(loads[0], loads[1]);
}
