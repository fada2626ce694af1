//! The audit trail, cancellation records, retention.

use limen_domain::{
    AdminAccount, AuditAction, AuditDetail, EmailAddress, OrgId, PersonName, PersonStatus, now,
};
use limen_store::Store;
use limen_store::token::new_token;
use sqlx::Row;

use crate::*;

async fn append_three(store: &Store, org: &OrgId) {
    for action in [
        AuditAction::PeopleImported,
        AuditAction::InvitationSent,
        AuditAction::ConsentGiven,
    ] {
        store
            .audit(&AuditRecord {
                chain: org.as_str().into(),
                actor: "admin".into(),
                action,
                subject: "someone".into(),
                detail: AuditDetail::None,
            })
            .await
            .expect("append");
    }
}

async fn tamper_with_second_entry(conn: &mut sqlx::AnyConnection, org: &OrgId) {
    sqlx::query(
        "UPDATE audit_entries SET action = 'nothing.happened' WHERE chain = $1 AND seq = 2",
    )
    .bind(org.as_str())
    .execute(conn)
    .await
    .expect("tamper");
}

/// What someone with the database and this source code can compute: the
/// chain's links as unkeyed SHA-256 over the length-prefixed fields.
fn plain_link(prev_hash: &[u8], row: &sqlx::any::AnyRow) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(prev_hash);
    field(row.get::<String, _>("chain").as_bytes());
    field(&row.get::<i64, _>("seq").to_be_bytes());
    field(&row.get::<i64, _>("at").to_be_bytes());
    for column in ["actor", "action", "subject", "detail"] {
        field(row.get::<String, _>(column).as_bytes());
    }
    hasher.finalize().to_vec()
}

/// P9: the links are keyed, so an attacker who edits an entry and
/// recomputes every later link, as the unkeyed chain allowed, is caught.
async fn audit_chain_resists_recomputed_links(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Recomputed").await;
    append_three(store, &org).await;
    let mut conn = raw(db).await;
    tamper_with_second_entry(&mut conn, &org).await;
    let rows = sqlx::query(
        "SELECT chain, seq, at, actor, action, subject, detail, hash FROM audit_entries WHERE chain = $1 ORDER BY seq",
    )
    .bind(org.as_str())
    .fetch_all(&mut conn)
    .await
    .expect("entries");
    let mut prev: Vec<u8> = rows[0].get("hash");
    for row in &rows[1..] {
        let hash = plain_link(&prev, row);
        sqlx::query(
            "UPDATE audit_entries SET prev_hash = $1, hash = $2 WHERE chain = $3 AND seq = $4",
        )
        .bind(prev.clone())
        .bind(hash.clone())
        .bind(org.as_str())
        .bind(row.get::<i64, _>("seq"))
        .execute(&mut conn)
        .await
        .expect("relink");
        prev = hash;
    }
    let broken = store
        .verify_audit(&[])
        .await
        .expect("verify")
        .expect_err("a chain relinked without the key is detected");
    assert_eq!((broken.chain.as_str(), broken.seq), (org.as_str(), 2));
    store
        .delete_organisation(&entry(), &org)
        .await
        .expect("cleanup");
}

pub(crate) async fn audit_chain_detects_a_tampered_row(db: &TestDb) {
    audit_chain_resists_recomputed_links(db).await;
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    append_three(store, &org).await;
    let trail = store.audit_trail(org.as_str()).await.expect("trail");
    assert_eq!(
        trail.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(trail[1].prev_hash, trail[0].hash);
    assert!(store.verify_audit(&[]).await.expect("verify").is_ok());

    let mut conn = raw(db).await;
    tamper_with_second_entry(&mut conn, &org).await;
    let broken = store
        .verify_audit(&[])
        .await
        .expect("verify")
        .expect_err("tampering detected");
    assert_eq!((broken.chain.as_str(), broken.seq), (org.as_str(), 2));
    // Leave the shared database verifiable for the other tests.
    store
        .delete_organisation(&entry(), &org)
        .await
        .expect("cleanup");
}

pub(crate) async fn cancelling_keeps_only_a_dated_record(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    consent_to_v1(store, &person, "page").await;
    store
        .replace_vectors(&entry(), &person, &model(), &one_vector())
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

    store
        .cancel_registration(&entry(), &person)
        .await
        .expect("cancel");
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

    assert!(
        store
            .delete_person(&entry(), &org, &person.id)
            .await
            .expect("delete")
    );
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

    store
        .cancel_registration(&entry(), &person)
        .await
        .expect("cancel");
    let (_, stale_invitation) = new_token();
    store
        .replace_invitation(&entry(), &org, &person.id, &stale_invitation, now() - 1)
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

    // Admins: an expired session goes, a live one stays; an admin whose
    // invitation lapsed unused goes, one still invited stays.
    async fn invite(
        store: &Store,
        org: &OrgId,
        email: &str,
        expires_at: i64,
    ) -> Option<AdminAccount> {
        store
            .invite_admin(
                |_| entry(),
                org,
                &EmailAddress::parse(email).expect("address"),
                &PersonName::parse("Admin").expect("name"),
                &new_token().1,
                expires_at,
            )
            .await
            .expect("invite")
    }
    let lapsed = invite(store, &org, "lapsed@acme.test", now() - 1).await;
    let waiting = invite(store, &org, "waiting@acme.test", now() + 600)
        .await
        .expect("a new admin");
    store
        .create_admin_session(&waiting.id, &new_token().1, now() - 1)
        .await
        .expect("session");
    store
        .create_admin_session(&waiting.id, &new_token().1, now() + 600)
        .await
        .expect("session");
    store.purge_expired(now() - 3600).await.expect("purge");
    let emails: Vec<String> = store
        .admins(&org)
        .await
        .expect("admins")
        .iter()
        .map(|a| a.email.as_str().to_owned())
        .collect();
    assert!(lapsed.is_some());
    assert_eq!(emails, ["waiting@acme.test"]);
    let admin_sessions: i64 =
        sqlx::query("SELECT COUNT(*) FROM admin_sessions WHERE admin_id = $1")
            .bind(waiting.id.as_str())
            .fetch_one(&mut conn)
            .await
            .expect("count")
            .get(0);
    assert_eq!(
        admin_sessions, 1,
        "the expired admin session is purged, the live one kept"
    );
}
