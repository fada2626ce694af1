//! JSON logs (`LIMEN_LOG_FORMAT=json`): every line one JSON object a log
//! collector can read, filtered per module by `LIMEN_LOG`, and (P6) no
//! secret in any of them: not a password, a token of any kind, the access
//! system's secret, the master key, an e-mail address or a face's vector.

use serde_json::Value;

use crate::support::{
    ACS_SECRET, Backend, GOOD_PASSWORD, Server, SmtpSink, assert_no_vector_in, create_device,
    decision, enrol, entrance_without_access_system, first_exported_vector, fixture, onboard,
    registration_token, send_frame,
};

#[test]
fn json_logs_parse_line_by_line_and_carry_no_secret() {
    let smtp = SmtpSink::start();
    let mut server = Server::start_with_env(
        Backend::Sqlite,
        &smtp.url(),
        &[
            ("LIMEN_LOG_FORMAT", "json"),
            // Debug for the service, less for its database driver.
            ("LIMEN_LOG", "debug,sqlx=warn"),
        ],
    )
    .expect("sqlite");
    let (_, admin) = server.create_org("Logged");
    let ann = onboard(&server, &smtp, &admin, "ann@logged.test", "ACS-LOG-1", 1);
    let registration = registration_token(&smtp.message(1));
    let enrolled = enrol(&server, &ann.session);
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    let gate = entrance_without_access_system(&server, &admin, "Gate");
    let (_, device) = create_device(&server, &admin, &gate);
    let frame = send_frame(&server, &device, &fixture("Andre_Agassi_0002.jpg"));
    assert_eq!(decision(&frame), "denied");
    let export = server.get("/api/v1/me/export", Some(&ann.session)).json();
    let vector = first_exported_vector(&export);
    assert_eq!(vector.len(), 256);
    let master_key = std::fs::read(server.data_dir.join("master.key")).expect("master key");
    server.stop();

    let logs = server.logs();
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect();
    let messages: Vec<&str> = lines
        .iter()
        .map(|line| {
            assert!(
                line["timestamp"].is_string() && line["level"].is_string(),
                "{line}"
            );
            line["fields"]["message"].as_str().unwrap_or_default()
        })
        .collect();
    for expected in ["listening", "request", "frame decided", "stopped"] {
        assert!(
            messages.contains(&expected),
            "no {expected:?} in {messages:?}"
        );
    }
    assert!(
        lines.iter().any(|line| line["level"] == "DEBUG"),
        "debug lines are kept for the service"
    );
    assert!(
        lines.iter().all(|line| !line["target"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sqlx")
            || line["level"] == "WARN"
            || line["level"] == "ERROR"),
        "the database driver is filtered to warnings"
    );

    for (what, secret) in [
        ("password", GOOD_PASSWORD.to_owned()),
        ("admin token", admin),
        ("registration token", registration),
        ("session token", ann.session),
        ("device token", device),
        ("access system secret", ACS_SECRET.to_owned()),
        ("master key", hex(&master_key)),
        ("e-mail address", ann.email),
    ] {
        assert!(!logs.contains(&secret), "the JSON log contains the {what}");
    }
    assert_no_vector_in(&logs, &vector);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
