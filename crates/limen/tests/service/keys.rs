//! Rotating the master key (`limen admin key rotate`): everyone stays
//! matchable and the trail verifiable; a copy of the database taken before
//! no longer decrypts with the key material left afterwards; a rotation
//! interrupted before or after its commit leaves a database that opens.

use limen_domain::{OrgId, PersonId};
use limen_store::{MasterKey, Store, StoreError};
use serde_json::json;

use crate::support::{
    Backend, Server, SmtpSink, block_on, create_device, create_entrance, decision, enrol, fixture,
    onboard, raw_connection,
};

fn key_file(server: &Server) -> std::path::PathBuf {
    server.data_dir.join("master.key")
}

fn pending_key_file(server: &Server) -> std::path::PathBuf {
    server.data_dir.join("master.key.new")
}

fn key_bytes(server: &Server) -> [u8; 32] {
    std::fs::read(key_file(server))
        .expect("the master key file")
        .try_into()
        .expect("32 bytes")
}

fn admin_succeeds(server: &Server, args: &[&str]) {
    let output = server.admin(args);
    assert!(
        output.status.success(),
        "limen admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Writes a key file as `limen` does (mode 0600).
fn write_private(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .expect("a private key file");
}

/// A copy of the SQLite database as it is now: a backup.
fn backup(server: &Server) -> String {
    let path = server.root.join("backup.db");
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        sqlx::query(&format!("VACUUM INTO '{}'", path.display()))
            .execute(&mut conn)
            .await
            .expect("backup");
    });
    format!("sqlite:{}", path.display())
}

/// The vectors `person` of `org` holds in the database at `url`, opened
/// with `key`.
fn vectors_in(url: &str, key: [u8; 32], org: &str, person: &str) -> Result<usize, StoreError> {
    block_on(async {
        let store = Store::open(url, MasterKey::from_bytes(key)).await?;
        let org = OrgId::parse(org).expect("org id");
        let person = PersonId::parse(person).expect("person id");
        let person = store.person(&org, &person).await?.expect("in the copy");
        let vectors = store.vectors(&person).await?.len();
        store.close().await;
        Ok(vectors)
    })
}

fn rotation_keeps_people_matchable_and_old_copies_useless(backend: Backend) {
    let smtp = SmtpSink::start();
    let Some(mut server) = Server::start(backend, &smtp.url()) else {
        return;
    };
    let (org, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    let bob = onboard(&server, &smtp, &admin, "bob@acme.test", "B-1", 2);
    for employee in [&ann, &bob] {
        let enrolled = enrol(&server, &employee.session);
        assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    }
    let door = create_entrance(&server, &admin, "Door", json!({ "type": "osdp" }));
    let (_, device) = create_device(&server, &admin, &door);
    let copy = (backend == Backend::Sqlite).then(|| backup(&server));
    let erased = server.delete(&format!("/api/v1/people/{}", bob.person_id), Some(&admin));
    assert_eq!(erased.status, 204, "{}", erased.body);
    if backend == Backend::Sqlite {
        assert!(
            !server.admin(&["key", "rotate"]).status.success(),
            "no rotation under a running server, which would go on with the old key"
        );
    }
    server.stop();

    let old_key = key_bytes(&server);
    admin_succeeds(&server, &["key", "rotate"]);
    let new_key = key_bytes(&server);
    assert_ne!(old_key, new_key, "a new master key");
    assert!(!pending_key_file(&server).exists());
    admin_succeeds(&server, &["audit", "verify"]);

    server.restart();
    let matched = crate::support::send_frame(&server, &device, &fixture("Andre_Agassi_0002.jpg"));
    assert_eq!(decision(&matched), "matched", "{}", matched.body);
    assert_eq!(matched.json()["acs_id"], "A-1");
    server.stop();

    if let Some(copy) = copy {
        assert!(
            vectors_in(&copy, old_key, &org, &bob.person_id).expect("the old key opens the copy")
                > 0,
            "before the rotation, the copy and the old key gave the erased person's vectors"
        );
        assert!(
            matches!(
                vectors_in(&copy, new_key, &org, &bob.person_id),
                Err(StoreError::KeyMismatch)
            ),
            "the key material left after the rotation opens nothing in the copy"
        );
    }

    // Interrupted before the database committed: the old key stays.
    MasterKey::create_at(&pending_key_file(&server)).expect("a pending key");
    admin_succeeds(&server, &["audit", "verify"]);
    assert_eq!(key_bytes(&server), new_key);
    assert!(!pending_key_file(&server).exists());

    // Interrupted after the commit, before the key file was replaced: the
    // pending key takes over.
    admin_succeeds(&server, &["key", "rotate"]);
    let newest = key_bytes(&server);
    write_private(&pending_key_file(&server), &newest);
    std::fs::write(key_file(&server), new_key).expect("the key before");
    admin_succeeds(&server, &["audit", "verify"]);
    assert_eq!(key_bytes(&server), newest);
    assert!(!pending_key_file(&server).exists());

    // Failing half-way (a vector key that no longer unwraps): nothing is
    // re-keyed, and the key stays the one that opens the database.
    let wrapped_keys = || {
        block_on(async {
            use sqlx::Row;
            let mut conn = raw_connection(&server.database_url).await;
            let rows = sqlx::query("SELECT wrapped_key FROM organisations ORDER BY id")
                .fetch_all(&mut conn)
                .await
                .expect("wrapped keys");
            rows.iter()
                .map(|row| row.get::<Vec<u8>, _>(0))
                .collect::<Vec<_>>()
        })
    };
    let before = wrapped_keys();
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        sqlx::query("UPDATE vector_keys SET wrapped = $1")
            .bind(vec![0u8; 60])
            .execute(&mut conn)
            .await
            .expect("corrupt");
    });
    assert!(!server.admin(&["key", "rotate"]).status.success());
    assert_eq!(wrapped_keys(), before, "nothing was re-keyed");
    assert_eq!(key_bytes(&server), newest);
    admin_succeeds(&server, &["audit", "verify"]);
    assert!(!pending_key_file(&server).exists());
}

#[test]
fn rotation_keeps_people_matchable_and_old_copies_useless_on_sqlite() {
    rotation_keeps_people_matchable_and_old_copies_useless(Backend::Sqlite);
}

#[test]
fn rotation_keeps_people_matchable_and_old_copies_useless_on_postgres() {
    rotation_keeps_people_matchable_and_old_copies_useless(Backend::Postgres);
}
