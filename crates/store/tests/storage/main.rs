//! One storage suite, run against SQLite and against PostgreSQL.

mod entrances;
mod faces;
mod keys;
mod people;
mod records;
mod rollout;
mod shredding;

use limen_domain::{FaceVector, ModelVersion, NewPerson, OrgId, Person, PersonStatus, now};
use limen_store::token::new_token;
use limen_store::{AuditRecord, MasterKey, Store};
use sqlx::Row;

pub(crate) fn model() -> ModelVersion {
    ModelVersion::new("dlib-resnet-v1")
}

/// The audit entry the store's audited methods take; what it says does
/// not matter to these tests.
pub(crate) fn entry() -> AuditRecord {
    AuditRecord {
        chain: "storage-tests".into(),
        actor: "test".into(),
        action: limen_domain::AuditAction::Seeded,
        subject: String::new(),
        detail: limen_domain::AuditDetail::None,
    }
}

/// Records the person's consent to statement "v1" (in English), given by
/// `method`.
pub(crate) async fn consent_to_v1(store: &Store, person: &Person, method: &str) {
    store
        .give_consent(
            &entry(),
            person,
            "v1",
            limen_domain::Language::English,
            method,
        )
        .await
        .expect("consent");
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

pub(crate) struct TestDb {
    pub(crate) store: Store,
    pub(crate) url: String,
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

/// A fresh, empty PostgreSQL database of its own.
async fn postgres_alone() -> Option<TestDb> {
    use sqlx::Connection;
    let base = postgres_url()?;
    let name = format!("limen_store_{}", OrgId::generate().as_str().to_lowercase());
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let mut conn = sqlx::PgConnection::connect(&base).await.expect("connect");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("database URL with a path");
    let url = format!("{prefix}/{name}");
    let store = Store::open(&url, master()).await.expect("open postgres");
    Some(TestDb {
        store,
        url,
        _dir: None,
    })
}

#[tokio::test]
async fn sqlite_rollout() {
    rollout::a_transition_asks_renews_and_retires(&sqlite().await.store).await;
}

#[tokio::test]
async fn postgres_rollout() {
    if let Some(db) = postgres_alone().await {
        rollout::a_transition_asks_renews_and_retires(&db.store).await;
    }
}

macro_rules! on_both {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[tokio::test] async fn $name() { super::$module::$name(&super::sqlite().await).await; })*
        }
        mod postgres_backend {
            $(#[tokio::test] async fn $name() { if let Some(db) = super::postgres().await { super::$module::$name(&db).await; } })*
        }
    };
}

on_both!(
    people::import_is_all_or_nothing_and_updates_by_email,
    people::statuses_follow_the_journey,
    people::a_page_of_people_matches_name_or_email_literally,
    faces::no_consent_no_vector,
    faces::vectors_are_ciphertext_and_die_with_their_organisation,
    people::organisations_are_isolated,
    people::invitations_are_single_use_and_replaceable,
    records::audit_chain_detects_a_tampered_row,
    records::cancelling_keeps_only_a_dated_record,
    records::retention_purges_what_has_expired,
    faces::a_set_of_vectors_is_replaced_whole,
    faces::a_deleted_sets_leftover_ciphertext_decrypts_with_nothing_left,
    faces::every_change_to_a_gallery_is_numbered_in_order,
    faces::sets_load_alike_on_one_thread_and_on_several,
    entrances::activity_from_several_instances_adds_up,
    entrances::decision_events_are_filtered_and_named,
    keys::api_keys_stop_at_the_cap_when_made_at_once,
    keys::an_admins_second_factor_is_off_pending_then_on,
    keys::an_admins_password_link_shares_the_employees_table,
);

pub(crate) async fn new_org(store: &Store, name: &str) -> OrgId {
    let (_, hash) = new_token();
    store
        .create_organisation(|_| entry(), name, &hash)
        .await
        .expect("create organisation")
        .id
}

pub(crate) fn row(n: usize, first: &str, last: &str, email: &str, acs: &str) -> NewPerson {
    NewPerson::parse(n, first, last, email, acs).expect("valid row")
}

pub(crate) async fn person_with_email(store: &Store, org: &OrgId, email: &str) -> Person {
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
pub(crate) async fn registered_person(
    store: &Store,
    org: &OrgId,
    email: &str,
    acs: &str,
) -> Person {
    let report = store
        .import_people(|_| entry(), org, &[row(1, "Ann", "Lee", email, acs)])
        .await
        .expect("import");
    assert!(report.is_ok());
    let person = person_with_email(store, org, email).await;
    let (_, hash) = new_token();
    store
        .replace_invitation(&entry(), org, &person.id, &hash, now() + 3600)
        .await
        .expect("invite");
    store
        .redeem_invitation(|_| entry(), &hash, "$argon2id$fake")
        .await
        .expect("redeem")
}

pub(crate) fn descriptor() -> Vec<f32> {
    (0..128)
        .map(|i| (i as f32 - 64.0) / 300.0 + 0.001)
        .collect()
}

/// A set of one vector, as enrolment from a single sitting may give.
pub(crate) fn one_vector() -> Vec<FaceVector> {
    vec![FaceVector::new(descriptor()).expect("valid")]
}

pub(crate) async fn status_of(
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

pub(crate) async fn vector_rows(db: &TestDb, person: &Person) -> i64 {
    let mut conn = raw(db).await;
    sqlx::query("SELECT COUNT(*) FROM face_vectors WHERE person_id = $1")
        .bind(person.id.as_str())
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get(0)
}

pub(crate) async fn raw(db: &TestDb) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("raw connection")
}

/// Every time in the database is seconds since 1970 in 64 bits: a 32-bit
/// column would end in January 2038. PostgreSQL's INTEGER is 32 bits, so
/// the only ones left are a fixed row's id and a notice's number.
#[tokio::test]
async fn postgres_has_no_32_bit_time_column() {
    use sqlx::{Connection, Row};
    let Some(db) = postgres_alone().await else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let narrow: Vec<String> = sqlx::query(
        "SELECT table_name || '.' || column_name AS col FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type IN ('integer', 'smallint') ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("columns")
    .iter()
    .map(|row| row.get::<String, _>("col"))
    .collect();
    assert_eq!(narrow, ["model_rollout.id", "renewal_notices.notice"]);
}
