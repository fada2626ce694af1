//! The operator's commands: organisations are created (token shown once),
//! listed and deleted with everything they hold (the running server drops
//! the deleted one's gallery); the operator's own actions are in the audit
//! trail, which verifies.

use crate::support::{Backend, Server, SmtpSink, enrol, onboard};

#[test]
fn organisations_are_created_listed_and_deleted() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let created = server.admin(&["org", "create", "--name", "Acme Gates"]);
    assert!(created.status.success());
    let text = String::from_utf8_lossy(&created.stdout);
    assert!(
        text.contains("Acme Gates") && text.contains("admin token:"),
        "{text}"
    );
    let blank = server.admin(&["org", "create", "--name", "  "]);
    assert!(!blank.status.success());

    let (org, admin) = server.create_org("Bolt Doors");
    let ann = onboard(&server, &smtp, &admin, "ann@bolt.test", "B-1", 1);
    assert_eq!(enrol(&server, &ann.session).status, 201);

    let replaced = server.admin(&["org", "token", &org, "--json"]);
    assert!(
        replaced.status.success(),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    let replaced: serde_json::Value = serde_json::from_slice(&replaced.stdout).expect("JSON");
    let new_admin = replaced["admin_token"].as_str().expect("token").to_owned();
    assert_eq!(
        server.get("/api/v1/people", Some(&admin)).status,
        401,
        "the old token is revoked"
    );
    assert_eq!(server.get("/api/v1/people", Some(&new_admin)).status, 200);
    let admin = new_admin;

    let listed = server.admin(&["org", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON list");
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, vec!["Acme Gates", "Bolt Doors"]);
    assert!(
        !listed.to_string().contains("token"),
        "the list shows no secrets"
    );

    let deleted = server.admin(&["org", "delete", &org]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    assert_eq!(
        server.get("/api/v1/people", Some(&admin)).status,
        401,
        "its admin token is gone"
    );
    assert_eq!(
        server.get("/api/v1/me", Some(&ann.session)).status,
        401,
        "its people's sessions are gone"
    );
    assert_eq!(server.get(&format!("/privacy/{org}"), None).status, 404);
    // The running server drops the organisation's gallery from memory on
    // its own: on SQLite it reads the change sequence every second.
    let dropped = format!("organisation deleted: its gallery is dropped org={org} people=1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !server.logs().contains(&dropped) {
        assert!(
            std::time::Instant::now() < deadline,
            "the server still holds the deleted organisation's gallery"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !server.admin(&["org", "delete", &org]).status.success(),
        "deleting twice is an error"
    );
    assert!(!server.admin(&["org", "delete", "../x"]).status.success());

    let verified = server.admin(&["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
