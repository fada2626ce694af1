//! The audit trail, cancellation records, retention.

use limen_domain::{PersonStatus, now};
use limen_store::AuditEvent;
use limen_store::token::new_token;
use sqlx::Row;

use crate::*;

pub(crate) async fn audit_chain_detects_a_tampered_row(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    for action in ["people.imported", "invitation.sent", "consent.given"] {
        store
            .audit(
                org.as_str(),
                AuditEvent {
                    actor: "admin",
                    action,
                    subject: "someone",
                    detail: "",
                },
            )
            .await
            .expect("append");
    }
    let trail = store.audit_trail(org.as_str()).await.expect("trail");
    assert_eq!(
        trail.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(trail[1].prev_hash, trail[0].hash);
    assert!(store.verify_audit().await.expect("verify").is_ok());

    let mut conn = raw(db).await;
    sqlx::query(
        "UPDATE audit_entries SET action = 'nothing.happened' WHERE chain = $1 AND seq = 2",
    )
    .bind(org.as_str())
    .execute(&mut conn)
    .await
    .expect("tamper");
    let broken = store
        .verify_audit()
        .await
        .expect("verify")
        .expect_err("tampering detected");
    assert_eq!((broken.chain.as_str(), broken.seq), (org.as_str(), 2));
    // Leave the shared database verifiable for the other tests.
    store.delete_organisation(&org).await.expect("cleanup");
}

pub(crate) async fn cancelling_keeps_only_a_dated_record(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    store
        .give_consent(&person, "v1", "page")
        .await
        .expect("consent");
    store
        .replace_vectors(&person, &model(), &one_vector())
        .await
        .expect("vector");
    let (_, session) = new_token();
    store
        .create_session(&person, &session, now() + 60)
        .await
        .expect("session");
    assert!(
        store
            .session_person(&session)
            .await
            .expect("session")
            .is_some()
    );

    store.cancel_registration(&person).await.expect("cancel");
    assert!(
        store
            .session_person(&session)
            .await
            .expect("session")
            .is_none()
    );
    assert!(store.password_hash(&person).await.expect("hash").is_none());
    assert!(store.consents(&person).await.expect("consents").is_empty());
    assert!(store.vectors(&person).await.expect("vector").is_empty());
    assert_eq!(
        store.cancellations(&person).await.expect("records").len(),
        1
    );
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Imported
    );

    assert!(store.delete_person(&org, &person.id).await.expect("delete"));
    assert!(
        store
            .cancellations(&person)
            .await
            .expect("records")
            .is_empty(),
        "a person who left leaves nothing"
    );
}

pub(crate) async fn retention_purges_what_has_expired(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    let (_, stale_session) = new_token();
    let (_, live_session) = new_token();
    store
        .create_session(&person, &stale_session, now() - 1)
        .await
        .expect("session");
    store
        .create_session(&person, &live_session, now() + 600)
        .await
        .expect("session");
    store.purge_expired(now() - 3600).await.expect("purge");
    let mut conn = raw(db).await;
    let sessions: i64 = sqlx::query("SELECT COUNT(*) FROM sessions WHERE person_id = $1")
        .bind(person.id.as_str())
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get(0);
    assert_eq!(
        sessions, 1,
        "the expired session is purged, the live one kept"
    );

    store.cancel_registration(&person).await.expect("cancel");
    let (_, stale_invitation) = new_token();
    store
        .replace_invitation(&org, &person.id, &stale_invitation, now() - 1)
        .await
        .expect("invite");
    store.purge_expired(now() - 3600).await.expect("purge");
    let invitations: i64 = sqlx::query("SELECT COUNT(*) FROM invitations WHERE person_id = $1")
        .bind(person.id.as_str())
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get(0);
    assert_eq!(invitations, 0, "the expired invitation is purged");
    assert_eq!(
        store.cancellations(&person).await.expect("records").len(),
        1,
        "a recent cancellation record is kept"
    );
    store.purge_expired(now() + 1).await.expect("purge");
    assert!(
        store
            .cancellations(&person)
            .await
            .expect("records")
            .is_empty(),
        "an old one is not"
    );
}
