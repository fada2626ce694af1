//! Issue 10: a changed privacy statement is a new consent. Renaming the
//! organisation changes the statement it shows; everyone who consented is
//! asked by e-mail to consent again, keeps passing meanwhile, and the
//! consent of whoever neither consents again nor withdraws lapses when the
//! re-consent period is over (their vectors deleted, as on withdrawal).

use serde_json::{Value, json};

use crate::support::{
    Backend, Server, SmtpSink, create_device, create_entrance, decision, enrol_with, fixture,
    mail_part, onboard, send_frame, status_of,
};

fn statement_version(server: &Server, session: &str) -> String {
    server.get("/api/v1/me/statement", Some(session)).json()["version"]
        .as_str()
        .expect("version")
        .to_owned()
}

fn me(server: &Server, session: &str) -> Value {
    server.get("/api/v1/me", Some(session)).json()
}

#[test]
fn a_changed_statement_asks_for_consent_again_and_lapses_without_it() {
    let smtp = SmtpSink::start();
    let Some(mut server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (org, admin) = server.create_org("Acme");
    let door = create_entrance(&server, &admin, "Front", json!({ "type": "osdp" }));
    let (_, device) = create_device(&server, &admin, &door);
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "CARD-A", 1);
    enrol_with(
        &server,
        &ann.session,
        &["Andre_Agassi_0005.jpg", "Andre_Agassi_0016.jpg"],
    );
    let bob = onboard(&server, &smtp, &admin, "bob@acme.test", "CARD-B", 2);
    enrol_with(&server, &bob.session, &["Abdullah_Gul_0001.jpg"]);
    let cas = onboard(&server, &smtp, &admin, "cas@acme.test", "CARD-C", 3);
    enrol_with(&server, &cas.session, &["Abdullah_Gul_0002.jpg"]);
    let first = statement_version(&server, &ann.session);
    assert!(me(&server, &ann.session)["consent_lapses_at"].is_null());

    // The organisation is renamed: its statement says so, so it is new.
    let renamed = server.admin(&["org", "rename", &org, "--name", "Acme Gates"]);
    assert!(
        renamed.status.success(),
        "{}",
        String::from_utf8_lossy(&renamed.stderr)
    );
    let second = statement_version(&server, &ann.session);
    assert_ne!(first, second);

    // Each of the three is asked once, by e-mail, to read it and consent again.
    let requests: Vec<String> = (4..=6).map(|n| smtp.message(n)).collect();
    for email in ["ann@acme.test", "bob@acme.test", "cas@acme.test"] {
        let request = requests
            .iter()
            .find(|m| m.contains(email))
            .unwrap_or_else(|| panic!("no request to {email}"));
        let text = mail_part(request, "text/plain");
        assert!(
            text.contains("privacy statement") && text.contains("consent again"),
            "{text}"
        );
    }
    let lapses_at = me(&server, &ann.session)["consent_lapses_at"]
        .as_i64()
        .expect("a lapse date while the consent names the old statement");
    assert!(
        lapses_at > limen_domain::now() + 29 * 86_400,
        "the default period is 30 days"
    );

    // Meanwhile the old consent still opens the door.
    let answer = send_frame(&server, &device, &fixture("Andre_Agassi_0002.jpg"));
    assert_eq!(decision(&answer), "matched");
    // Her export holds the decision that named her; Bob's holds none.
    let export = server.get("/api/v1/me/export", Some(&ann.session)).json();
    let decisions = export["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 1, "{export}");
    assert_eq!(decisions[0]["decision"], "matched");
    assert_eq!(decisions[0]["entrance_id"], door.as_str());
    assert_eq!(decisions[0]["person_id"], ann.person_id.as_str());
    let export = server.get("/api/v1/me/export", Some(&bob.session)).json();
    assert_eq!(export["decisions"], json!([]), "{export}");

    // Ann consents again; Bob declines by withdrawing; Cas does nothing.
    let reconsent = server.post_json(
        "/api/v1/me/consent",
        Some(&ann.session),
        &json!({ "statement_version": second }),
    );
    assert_eq!(reconsent.status, 204, "{}", reconsent.body);
    assert!(me(&server, &ann.session)["consent_lapses_at"].is_null());
    let withdrawn = server.delete("/api/v1/me/consent", Some(&bob.session));
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.body);
    assert_eq!(
        status_of(&server, &admin, &bob.person_id).as_deref(),
        Some("registered")
    );
    assert_eq!(
        status_of(&server, &admin, &cas.person_id).as_deref(),
        Some("enrolled")
    );

    // The period ends (here: the operator shortens it to nothing).
    let config = server.root.join("limen.toml");
    std::fs::write(&config, "[retention]\nreconsent_days = 0\n").expect("config");
    server.restart_with_config(&config);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while status_of(&server, &admin, &cas.person_id).as_deref() != Some("registered") {
        assert!(
            std::time::Instant::now() < deadline,
            "Cas's consent did not lapse"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let cas_export = server.get("/api/v1/me/export", Some(&cas.session)).json();
    assert_eq!(
        cas_export["face_vectors"],
        json!([]),
        "lapsed: no vector left"
    );
    assert_eq!(
        status_of(&server, &admin, &ann.person_id).as_deref(),
        Some("enrolled")
    );
    let answer = send_frame(&server, &device, &fixture("Andre_Agassi_0002.jpg"));
    assert_eq!(
        decision(&answer),
        "matched",
        "Ann consented again: she passes"
    );

    // Ann's export names both statements she consented to, and the request.
    let export = server.get("/api/v1/me/export", Some(&ann.session)).json();
    let versions: Vec<&str> = export["consents"]
        .as_array()
        .expect("consents")
        .iter()
        .filter_map(|c| c["statement_version"].as_str())
        .collect();
    assert_eq!(versions, [first.as_str(), second.as_str()]);
    assert_eq!(
        export["reconsent_requests"][0]["statement_version"],
        second.as_str()
    );
    let audit = server.get("/api/v1/audit", Some(&admin)).body;
    for action in ["consent.renewal_requested", "consent.lapsed"] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    let verified = server.admin(&["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
