//! One storage suite, run against SQLite and against PostgreSQL.

use limen_domain::{FaceVector, ModelVersion, NewPerson, OrgId, Person, PersonStatus, now};
use limen_store::token::new_token;
use limen_store::{AuditEvent, FaceChange, MasterKey, RedeemError, Store, StoreError};
use sqlx::Row;

fn model() -> ModelVersion {
    ModelVersion::new("dlib-resnet-v1")
}

/// The PostgreSQL server scripts/test.sh starts. Missing under CI is a
/// failure; on a developer's machine the PostgreSQL half is skipped, loudly.
fn postgres_url() -> Option<String> {
    match std::env::var("LIMEN_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but LIMEN_TEST_POSTGRES_URL is not: run the tests through scripts/test.sh"
            )
        }
        Err(_) => {
            eprintln!(
                "NOTICE: LIMEN_TEST_POSTGRES_URL is unset, so the PostgreSQL half of this test is SKIPPED (scripts/test.sh sets it)"
            );
            None
        }
    }
}

struct TestDb {
    store: Store,
    url: String,
    _dir: Option<TempDir>,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn master() -> MasterKey {
    MasterKey::from_bytes([42; 32])
}

async fn sqlite() -> TestDb {
    let dir = std::env::temp_dir().join(format!("limen-store-{}", OrgId::generate()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("limen.db").display());
    let store = Store::open(&url, master()).await.expect("open sqlite");
    TestDb {
        store,
        url,
        _dir: Some(TempDir(dir)),
    }
}

async fn postgres() -> Option<TestDb> {
    let url = postgres_url()?;
    let store = Store::open(&url, master()).await.expect("open postgres");
    Some(TestDb {
        store,
        url,
        _dir: None,
    })
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[tokio::test] async fn $name() { super::$name(&super::sqlite().await).await; })*
        }
        mod postgres_backend {
            $(#[tokio::test] async fn $name() { if let Some(db) = super::postgres().await { super::$name(&db).await; } })*
        }
    };
}

on_both!(
    import_is_all_or_nothing_and_updates_by_email,
    statuses_follow_the_journey,
    no_consent_no_vector,
    vectors_are_ciphertext_and_die_with_their_organisation,
    organisations_are_isolated,
    invitations_are_single_use_and_replaceable,
    audit_chain_detects_a_tampered_row,
    cancelling_keeps_only_a_dated_record,
    retention_purges_what_has_expired,
    a_set_of_vectors_is_replaced_whole,
    every_change_to_a_gallery_is_numbered_in_order,
);

async fn new_org(store: &Store, name: &str) -> OrgId {
    let (_, hash) = new_token();
    store
        .create_organisation(name, &hash)
        .await
        .expect("create organisation")
        .id
}

fn row(n: usize, first: &str, last: &str, email: &str, acs: &str) -> NewPerson {
    NewPerson::parse(n, first, last, email, acs).expect("valid row")
}

async fn person_with_email(store: &Store, org: &OrgId, email: &str) -> Person {
    store
        .people(org, &model())
        .await
        .expect("people")
        .into_iter()
        .find(|p| p.person.email.as_str() == email)
        .expect("person imported")
        .person
}

/// Imports one person and takes them through invitation and registration.
async fn registered_person(store: &Store, org: &OrgId, email: &str, acs: &str) -> Person {
    let report = store
        .import_people(org, &[row(1, "Ann", "Lee", email, acs)])
        .await
        .expect("import");
    assert!(report.is_ok());
    let person = person_with_email(store, org, email).await;
    let (_, hash) = new_token();
    store
        .replace_invitation(org, &person.id, &hash, now() + 3600)
        .await
        .expect("invite");
    store
        .redeem_invitation(&hash, "$argon2id$fake")
        .await
        .expect("redeem")
}

fn descriptor() -> Vec<f32> {
    (0..128)
        .map(|i| (i as f32 - 64.0) / 300.0 + 0.001)
        .collect()
}

/// A set of one vector, as enrolment from a single sitting may give.
fn one_vector() -> Vec<FaceVector> {
    vec![FaceVector::new(descriptor()).expect("valid")]
}

async fn import_is_all_or_nothing_and_updates_by_email(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let first = store
        .import_people(
            &org,
            &[
                row(1, "Ann", "Lee", "ann@acme.test", "A1"),
                row(2, "Bob", "Ray", "bob@acme.test", "A2"),
            ],
        )
        .await
        .expect("import");
    assert_eq!(
        first.map(|r| (r.created, r.updated)).expect("accepted"),
        (2, 0)
    );

    let clash = store
        .import_people(
            &org,
            &[
                row(1, "Cat", "Day", "cat@acme.test", "A3"),
                row(2, "Dan", "Eve", "cat@acme.test", "A4"),
                row(3, "Eli", "Fox", "eli@acme.test", "A2"),
            ],
        )
        .await
        .expect("import");
    let errors = clash.expect_err("refused");
    assert_eq!(
        errors.iter().map(|e| (e.row, e.field)).collect::<Vec<_>>(),
        vec![(2, "email"), (3, "acs_id")]
    );
    assert_eq!(
        store.people(&org, &model()).await.expect("people").len(),
        2,
        "nothing of the refused import was written"
    );

    let update = store
        .import_people(&org, &[row(1, "Ann", "Lee-Smith", "ANN@acme.test", "A9")])
        .await
        .expect("import");
    assert_eq!(
        update.map(|r| (r.created, r.updated)).expect("accepted"),
        (0, 1)
    );
    let ann = person_with_email(store, &org, "ann@acme.test").await;
    assert_eq!(
        (ann.last_name.as_str(), ann.acs_id.as_str()),
        ("Lee-Smith", "A9")
    );

    let bad = NewPerson::parse(4, "", "X", "not-an-email", "has space").expect_err("invalid");
    assert_eq!(
        bad.iter().map(|e| e.field).collect::<Vec<_>>(),
        vec!["first_name", "email", "acs_id"]
    );
}

async fn status_of(
    store: &Store,
    org: &OrgId,
    person: &Person,
    active_model: &ModelVersion,
) -> PersonStatus {
    store
        .people(org, active_model)
        .await
        .expect("people")
        .into_iter()
        .find(|p| p.person.id == person.id)
        .expect("listed")
        .status
}

async fn statuses_follow_the_journey(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    store
        .import_people(&org, &[row(1, "Ann", "Lee", "ann@acme.test", "A1")])
        .await
        .expect("import")
        .expect("ok");
    let person = person_with_email(store, &org, "ann@acme.test").await;
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Imported
    );
    let (_, hash) = new_token();
    store
        .replace_invitation(&org, &person.id, &hash, now() + 3600)
        .await
        .expect("invite");
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Invited
    );
    store
        .redeem_invitation(&hash, "$argon2id$fake")
        .await
        .expect("redeem");
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Registered
    );
    store
        .give_consent(&person, "v1", "api")
        .await
        .expect("consent");
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Consented
    );
    store
        .replace_vectors(&person, &model(), &one_vector())
        .await
        .expect("vector");
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Enrolled
    );
    assert_eq!(
        status_of(store, &org, &person, &ModelVersion::new("dlib-resnet-v2")).await,
        PersonStatus::RenewalNeeded
    );
    let stored = store.vectors(&person).await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (&stored[0].model_version, stored[0].vector.as_slice()),
        (&model(), descriptor().as_slice())
    );
    assert!(store.withdraw_consent(&person).await.expect("withdraw"));
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Registered
    );
    let consents = store.consents(&person).await.expect("consents");
    assert_eq!(consents.len(), 1);
    assert!(consents[0].withdrawn_at.is_some());
}

async fn vector_rows(db: &TestDb, person: &Person) -> i64 {
    let mut conn = raw(db).await;
    sqlx::query("SELECT COUNT(*) FROM face_vectors WHERE person_id = $1")
        .bind(person.id.as_str())
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get(0)
}

async fn raw(db: &TestDb) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("raw connection")
}

async fn no_consent_no_vector(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    assert!(matches!(
        store
            .replace_vectors(&person, &model(), &one_vector())
            .await,
        Err(StoreError::NoConsent)
    ));
    assert_eq!(vector_rows(db, &person).await, 0);

    store
        .give_consent(&person, "v1", "api")
        .await
        .expect("consent");
    store
        .replace_vectors(&person, &model(), &one_vector())
        .await
        .expect("stored with consent");
    assert_eq!(vector_rows(db, &person).await, 1);
    store.withdraw_consent(&person).await.expect("withdraw");
    assert_eq!(
        vector_rows(db, &person).await,
        0,
        "withdrawing consent deletes the vector at once"
    );
    assert!(matches!(
        store
            .replace_vectors(&person, &model(), &one_vector())
            .await,
        Err(StoreError::NoConsent)
    ));
    store
        .give_consent(&person, "v1", "api")
        .await
        .expect("consent again");
    assert!(FaceVector::new(vec![f32::NAN; 128]).is_err());
    let six = vec![FaceVector::new(descriptor()).expect("valid"); 6];
    for refused in [&[][..], &six[..]] {
        assert!(matches!(
            store.replace_vectors(&person, &model(), refused).await,
            Err(StoreError::InvalidVectorSet)
        ));
    }
    assert_eq!(vector_rows(db, &person).await, 0);
}

async fn vectors_are_ciphertext_and_die_with_their_organisation(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    store
        .give_consent(&person, "v1", "api")
        .await
        .expect("consent");
    store
        .replace_vectors(&person, &model(), &one_vector())
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

    assert!(store.delete_organisation(&org).await.expect("delete"));
    assert!(store.vectors(&person).await.expect("read").is_empty());
    for table in ["organisations", "admin_tokens", "people"] {
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

async fn organisations_are_isolated(db: &TestDb) {
    let store = &db.store;
    let a = new_org(store, "Acme").await;
    let b = new_org(store, "Bolt").await;
    let ann = registered_person(store, &a, "ann@acme.test", "A1").await;
    store
        .give_consent(&ann, "v1", "api")
        .await
        .expect("consent");
    store
        .replace_vectors(&ann, &model(), &one_vector())
        .await
        .expect("vector");

    assert!(store.person(&b, &ann.id).await.expect("lookup").is_none());
    assert!(store.people(&b, &model()).await.expect("people").is_empty());
    assert!(!store.delete_person(&b, &ann.id).await.expect("delete"));
    let (_, hash) = new_token();
    assert!(matches!(
        store
            .replace_invitation(&b, &ann.id, &hash, now() + 60)
            .await,
        Err(StoreError::UnknownPerson)
    ));
    // Ann as if she belonged to organisation B: every person-scoped call must miss.
    let mut forged = ann.clone();
    forged.org_id = b.clone();
    assert!(store.vectors(&forged).await.expect("read").is_empty());
    assert!(!store.delete_vectors(&forged).await.expect("delete"));
    assert!(matches!(
        store.withdraw_consent(&forged).await,
        Err(StoreError::UnknownPerson)
    ));
    assert!(matches!(
        store
            .replace_vectors(&forged, &model(), &one_vector())
            .await,
        Err(StoreError::UnknownPerson)
    ));
    assert!(matches!(
        store.cancel_registration(&forged).await,
        Err(StoreError::UnknownPerson)
    ));
    assert!(store.consents(&forged).await.expect("consents").is_empty());
    assert!(store.password_hash(&forged).await.expect("hash").is_none());
    assert!(
        !store.vectors(&ann).await.expect("read").is_empty(),
        "A's data is untouched"
    );
    assert!(store.person(&a, &ann.id).await.expect("lookup").is_some());

    // Replacing B's admin token revokes B's old one and leaves A's alone.
    let (_, a_token) = new_token();
    let (_, b_old) = new_token();
    let (_, b_new) = new_token();
    assert!(
        store
            .replace_admin_token(&a, &a_token)
            .await
            .expect("replace")
    );
    assert!(
        store
            .replace_admin_token(&b, &b_old)
            .await
            .expect("replace")
    );
    assert!(
        store
            .replace_admin_token(&b, &b_new)
            .await
            .expect("replace")
    );
    assert_eq!(
        store.org_for_admin_token(&a_token).await.expect("lookup"),
        Some(a.clone())
    );
    assert_eq!(
        store.org_for_admin_token(&b_old).await.expect("lookup"),
        None
    );
    assert_eq!(
        store.org_for_admin_token(&b_new).await.expect("lookup"),
        Some(b.clone())
    );
    assert!(
        !store
            .replace_admin_token(&OrgId::generate(), &b_old)
            .await
            .expect("replace")
    );

    // The same e-mail address may be imported by both organisations.
    let bob_b = registered_person(store, &b, "ann@acme.test", "B1").await;
    let accounts = store.accounts_by_email(&ann.email).await.expect("accounts");
    assert_eq!(
        accounts
            .iter()
            .filter(|(p, _)| p.org_id == a || p.org_id == b)
            .count(),
        2
    );
    assert_ne!(bob_b.id, ann.id);
}

async fn invitations_are_single_use_and_replaceable(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    store
        .import_people(&org, &[row(1, "Ann", "Lee", "ann@acme.test", "A1")])
        .await
        .expect("import")
        .expect("ok");
    let person = person_with_email(store, &org, "ann@acme.test").await;

    let (_, expired) = new_token();
    store
        .replace_invitation(&org, &person.id, &expired, now() - 1)
        .await
        .expect("invite");
    assert!(matches!(
        store.invitation(&expired).await,
        Err(RedeemError::Expired)
    ));
    assert!(matches!(
        store.redeem_invitation(&expired, "h").await,
        Err(RedeemError::Expired)
    ));
    assert!(
        store.password_hash(&person).await.expect("hash").is_none(),
        "an expired link creates nothing"
    );

    let (_, old) = new_token();
    let (_, new) = new_token();
    store
        .replace_invitation(&org, &person.id, &old, now() + 60)
        .await
        .expect("invite");
    store
        .replace_invitation(&org, &person.id, &new, now() + 60)
        .await
        .expect("re-invite");
    assert!(
        matches!(
            store.redeem_invitation(&old, "h").await,
            Err(RedeemError::Unknown)
        ),
        "a resent invitation voids the old link"
    );
    assert_eq!(store.invitation(&new).await.expect("valid").id, person.id);
    store.redeem_invitation(&new, "h").await.expect("redeem");
    assert!(
        matches!(
            store.redeem_invitation(&new, "h2").await,
            Err(RedeemError::Unknown)
        ),
        "links are single-use"
    );
    assert_eq!(
        store.password_hash(&person).await.expect("hash").as_deref(),
        Some("h")
    );
}

async fn audit_chain_detects_a_tampered_row(db: &TestDb) {
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

async fn cancelling_keeps_only_a_dated_record(db: &TestDb) {
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

async fn retention_purges_what_has_expired(db: &TestDb) {
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

fn vector_of(seed: f32) -> FaceVector {
    FaceVector::new((0..128).map(|i| seed + i as f32 / 1000.0).collect()).expect("valid")
}

async fn a_set_of_vectors_is_replaced_whole(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    store
        .give_consent(&person, "v1", "api")
        .await
        .expect("consent");
    let three = [vector_of(0.1), vector_of(0.2), vector_of(0.3)];
    store
        .replace_vectors(&person, &model(), &three)
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
        .replace_vectors(&person, &ModelVersion::new("dlib-resnet-v2"), &renewed)
        .await
        .expect("renewal");
    let stored = store.vectors(&person).await.expect("read");
    assert_eq!(stored.len(), 1, "the old set is gone whole");
    assert_eq!(stored[0].model_version.as_str(), "dlib-resnet-v2");
    assert_eq!(vector_rows(db, &person).await, 1);

    // The galleries' loader sees every consenting person's set, grouped.
    let bob = registered_person(store, &org, "bob@acme.test", "A2").await;
    store
        .give_consent(&bob, "v1", "api")
        .await
        .expect("consent");
    store
        .replace_vectors(&bob, &model(), &[vector_of(0.4), vector_of(0.5)])
        .await
        .expect("bob");
    store
        .replace_vectors(&person, &model(), &three)
        .await
        .expect("three again");
    let mut sets = Vec::new();
    store
        .gallery_sets(&model(), |set| {
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
    store.withdraw_consent(&bob).await.expect("withdraw");
    assert!(
        store
            .gallery_set(&org, &bob.id, &model())
            .await
            .expect("set")
            .is_empty()
    );
}

async fn every_change_to_a_gallery_is_numbered_in_order(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let person = registered_person(store, &org, "ann@acme.test", "A1").await;
    let start = store.face_change_head().await.expect("head");
    let ann = |seq| FaceChange {
        seq,
        org_id: org.clone(),
        person_id: Some(person.id.clone()),
    };

    store
        .give_consent(&person, "v1", "api")
        .await
        .expect("consent");
    assert_eq!(
        store.face_change_head().await.expect("head"),
        start,
        "consent alone changes no gallery"
    );
    store
        .replace_vectors(&person, &model(), &one_vector())
        .await
        .expect("enrol");
    assert!(store.delete_vectors(&person).await.expect("remove"));
    assert!(
        !store.delete_vectors(&person).await.expect("remove again"),
        "nothing left to remove, nothing recorded"
    );
    store
        .replace_vectors(&person, &model(), &one_vector())
        .await
        .expect("enrol again");
    assert!(store.withdraw_consent(&person).await.expect("withdraw"));
    store.cancel_registration(&person).await.expect("cancel");
    assert!(store.delete_person(&org, &person.id).await.expect("erase"));
    assert!(store.delete_organisation(&org).await.expect("delete"));

    let head = store.face_change_head().await.expect("head");
    let changes: Vec<FaceChange> = store
        .face_changes_after(start, 100)
        .await
        .expect("changes")
        .into_iter()
        .filter(|c| c.org_id == org)
        .collect();
    let mut expected: Vec<FaceChange> = (1..=6).map(|n| ann(start + n)).collect();
    expected.push(FaceChange {
        seq: start + 7,
        org_id: org.clone(),
        person_id: None,
    });
    if head == start + 7 {
        // Alone on this database: the numbers follow on without a gap.
        assert_eq!(changes, expected);
    } else {
        // Other tests share the PostgreSQL database: ours are in order.
        assert_eq!(changes.len(), 7);
        assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(changes[6].person_id, None);
    }
    assert_eq!(
        store
            .face_changes_after(head, 100)
            .await
            .expect("none")
            .len(),
        0
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
