//! P4 on SQLite: a deleted vector leaves no byte of its ciphertext in the
//! database file, its write-ahead log or its shared-memory index, whichever
//! way it was deleted, while the store stays open (as a running server's
//! does: closing it would checkpoint and hide what a live copy holds).

use std::collections::HashSet;

use limen_domain::{OrgId, Person};
use sqlx::Row;

use crate::faces::vector_of;
use crate::*;

/// How the vectors go.
#[derive(Debug, Clone, Copy)]
enum Deletion {
    Withdrawal,
    Removal,
    Replacement,
    Cancellation,
    Erasure,
    OrganisationErasure,
}

#[tokio::test]
async fn sqlite_deleted_vectors_leave_no_trace_in_any_file() {
    let db = sqlite().await;
    for deletion in [
        Deletion::Withdrawal,
        Deletion::Removal,
        Deletion::Replacement,
        Deletion::Cancellation,
        Deletion::Erasure,
        Deletion::OrganisationErasure,
    ] {
        let (org, person) = enrolled(&db, deletion).await;
        let sealed = sealed_blobs(&db, &person).await;
        assert_eq!(sealed.len(), 3, "{deletion:?}: the set is stored");
        assert!(
            !traces(&db, &sealed).is_empty(),
            "the scan finds the live ciphertext ({deletion:?}), so it can find a dead one"
        );
        let store = &db.store;
        match deletion {
            Deletion::Withdrawal => {
                store
                    .withdraw_consent(&entry(), &person)
                    .await
                    .expect("withdraw");
            }
            Deletion::Removal => {
                store
                    .delete_vectors(&entry(), &person)
                    .await
                    .expect("remove");
            }
            Deletion::Replacement => store
                .replace_vectors(&entry(), &person, &model(), &[vector_of(0.7)])
                .await
                .expect("re-enrol"),
            Deletion::Cancellation => store
                .cancel_registration(&entry(), &person)
                .await
                .expect("cancel"),
            Deletion::Erasure => {
                store
                    .delete_person(&entry(), &org, &person.id)
                    .await
                    .expect("erase");
            }
            Deletion::OrganisationErasure => {
                store
                    .delete_organisation(&entry(), &org)
                    .await
                    .expect("delete");
            }
        }
        let left = traces(&db, &sealed);
        assert!(
            left.is_empty(),
            "after {deletion:?} the deleted ciphertext is still on disk: {left:?}"
        );
    }
}

/// A person of their own organisation with a set of three vectors, so that
/// every case starts from live data in the same file.
async fn enrolled(db: &TestDb, deletion: Deletion) -> (OrgId, Person) {
    let store = &db.store;
    let org = new_org(store, &format!("{deletion:?} Ltd")).await;
    let email = format!("{deletion:?}@acme.test").to_lowercase();
    let person = registered_person(store, &org, &email, "A1").await;
    consent_to_v1(store, &person, "api").await;
    store
        .replace_vectors(
            &entry(),
            &person,
            &model(),
            &[vector_of(0.1), vector_of(0.2), vector_of(0.3)],
        )
        .await
        .expect("enrol");
    (org, person)
}

async fn sealed_blobs(db: &TestDb, person: &Person) -> Vec<Vec<u8>> {
    let mut conn = raw(db).await;
    sqlx::query("SELECT sealed FROM face_vectors WHERE person_id = $1")
        .bind(person.id.as_str())
        .fetch_all(&mut conn)
        .await
        .expect("sealed vectors")
        .iter()
        .map(|row| row.get::<Vec<u8>, _>(0))
        .collect()
}

/// Which of the database's files hold how many 16-byte pieces of the
/// blobs: pieces of random ciphertext, so any hit is a leftover, and a
/// partly overwritten blob is found as well as a whole one.
fn traces(db: &TestDb, blobs: &[Vec<u8>]) -> Vec<String> {
    let path = db.url.strip_prefix("sqlite:").expect("an SQLite URL");
    let mut found = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let pieces: HashSet<&[u8]> = blobs.iter().flat_map(|b| b.chunks_exact(16)).collect();
        let hits: HashSet<&[u8]> = bytes.windows(16).filter(|w| pieces.contains(w)).collect();
        if !hits.is_empty() {
            found.push(format!("{file}: {} of {} pieces", hits.len(), pieces.len()));
        }
    }
    found
}
