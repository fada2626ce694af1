//! The entrance, server side: entrances and devices through the admin API,
//! frames through `POST /api/v1/frames`, a real signed HTTP call to a test
//! access system on loopback, and the galleries following consent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use limen_access::http::{ReceivedHeaders, Verifier, VerifyError, WebhookEvent};
use serde_json::{Value, json};

use crate::support::{
    ACS_SECRET, BIN, Backend, Server, SmtpSink, create_device, create_entrance, decision,
    enrol_with, files_under, fixture, fixture_path, image_trace, onboard, send_frame,
};

/// A photo of the enrolled person (Andre Agassi) that is not one of the
/// enrolment frames.
const SAME_PERSON: &str = "Andre_Agassi_0002.jpg";
/// Someone else (Abdullah Gul).
const OTHER_PERSON: &str = "Abdullah_Gul_0011.jpg";
/// A photo whose one face fails the quality check (small, turned away).
/// Enrolment frames of the other person, for a second organisation.
const OTHER_ENROLMENT: [&str; 2] = ["Abdullah_Gul_0001.jpg", "Abdullah_Gul_0002.jpg"];

/// The secret an entrance's connector is changed to.
const SECOND_SECRET: &str = "whsec_YSBzZWNvbmQgc2VjcmV0LCBmb3IgYSBuZXcgZG9vciE=";

// ----- a test access system -----------------------------------------------------

/// One request the access system received, as sent.
#[derive(Clone)]
struct Received {
    head: String,
    body: Vec<u8>,
}

#[derive(Default)]
struct Seen {
    /// (entrance, acs_id) of every request that verified.
    accepted: Vec<(String, String)>,
    /// Why requests were refused.
    refused: Vec<VerifyError>,
    raw: Vec<Received>,
}

/// A small HTTP server on loopback playing the access system: it checks
/// Limen's signature with `limen_access::Verifier`, refuses replays, and
/// grants the ACS ids it was given.
struct AccessSystem {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

impl AccessSystem {
    fn start(granted: &[&str]) -> AccessSystem {
        AccessSystem::sharing(ACS_SECRET, granted)
    }

    /// An access system that shares `secret` with Limen.
    fn sharing(secret: &str, granted: &[&str]) -> AccessSystem {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind access system");
        let port = listener.local_addr().expect("address").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let verifier = Arc::new(Verifier::new(
            secret.parse().expect("secret"),
            Verifier::DEFAULT_WINDOW,
        ));
        let granted: Arc<Vec<String>> = Arc::new(granted.iter().map(|s| s.to_string()).collect());
        let sink = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (sink, verifier, granted) = (sink.clone(), verifier.clone(), granted.clone());
                std::thread::spawn(move || {
                    let _ = answer(stream, &sink, &verifier, &granted);
                });
            }
        });
        AccessSystem { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/access", self.port)
    }

    fn accepted(&self) -> Vec<(String, String)> {
        self.seen.lock().expect("lock").accepted.clone()
    }

    /// Sends a request exactly as Limen sent it, again; returns the status.
    fn replay(&self, request: &Received) -> u16 {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.write_all(request.head.as_bytes()).expect("head");
        stream.write_all(&request.body).expect("body");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

fn answer(
    stream: TcpStream,
    seen: &Mutex<Seen>,
    verifier: &Verifier,
    granted: &[String],
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let received = ReceivedHeaders {
        id: id.as_deref(),
        timestamp: timestamp.as_deref(),
        signature: signature.as_deref(),
    };
    let verdict = verifier.verify(received, &body, SystemTime::now());
    let (status, reply) = {
        let mut seen = seen.lock().expect("lock");
        seen.raw.push(Received {
            head: head.clone(),
            body: body.clone(),
        });
        match verdict {
            Ok(WebhookEvent::AccessRequested(request)) => {
                let grant = granted.contains(&request.acs_id);
                seen.accepted.push((request.entrance, request.acs_id));
                ("200 OK", json!({ "granted": grant }).to_string())
            }
            // An admin's "send a test": reached, and nobody to let in.
            Ok(WebhookEvent::ConnectionTest { .. }) => ("200 OK", "{}".to_owned()),
            Err(e) => {
                seen.refused.push(e);
                (
                    "401 Unauthorized",
                    json!({ "error": "refused" }).to_string(),
                )
            }
        }
    };
    write!(
        writer,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    )
}

// ----- helpers ------------------------------------------------------------------

/// The descriptor the engine computes for a fixture, through `limen face embed`.
fn embedding(name: &str) -> Vec<f32> {
    let output = Command::new(BIN)
        .args(["face", "embed", "--json", "--threads", "1"])
        .arg(fixture_path(name))
        .env(
            "LIMEN_MODELS_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"),
        )
        .output()
        .expect("limen face embed");
    assert!(output.status.success(), "face embed failed");
    let line: Value = serde_json::from_slice(&output.stdout).expect("JSON line");
    line["embedding"]
        .as_array()
        .expect("a face")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

// ----- acceptance 2, 3 and withdrawal ----------------------------------------------

#[test]
fn http_entrance_on_sqlite() {
    http_entrance(Backend::Sqlite);
}

#[test]
fn http_entrance_on_postgres() {
    http_entrance(Backend::Postgres);
}

fn http_entrance(backend: Backend) {
    let smtp = SmtpSink::start();
    let Some(mut server) = Server::start(backend, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    enrol_with(
        &server,
        &ann.session,
        &[
            "Andre_Agassi_0005.jpg",
            "Andre_Agassi_0016.jpg",
            "Andre_Agassi_0027.jpg",
        ],
    );

    let acs = AccessSystem::start(&["A-1"]);
    let created = server.post_json(
        "/api/v1/entrances",
        Some(&admin),
        &json!({ "name": "Main door", "connector": { "type": "http", "url": acs.url(), "secret": ACS_SECRET } }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        !created.body.contains(ACS_SECRET),
        "the secret is never returned"
    );
    let entrance = created.json()["id"].as_str().expect("id").to_owned();
    let listed = server.get("/api/v1/entrances", Some(&admin));
    assert_eq!(listed.status, 200);
    assert!(listed.body.contains(&entrance) && !listed.body.contains(ACS_SECRET));
    let (_, device) = create_device(&server, &admin, &entrance);

    // The same person, another photo: the access system is asked and grants.
    let same = fixture(SAME_PERSON);
    let reply = send_frame(&server, &device, &same);
    assert_eq!(decision(&reply), "granted", "{}", reply.body);
    assert!(reply.json()["latency_ms"].is_u64());
    assert_eq!(acs.accepted(), vec![(entrance.clone(), "A-1".to_owned())]);

    // The access system refuses Limen's request sent a second time.
    let first = acs.seen.lock().expect("lock").raw[0].clone();
    assert_eq!(acs.replay(&first), 401);
    assert_eq!(
        acs.seen.lock().expect("lock").refused,
        vec![VerifyError::Replayed]
    );
    assert_eq!(acs.accepted().len(), 1);

    // Somebody not enrolled: unknown, and the access system hears nothing.
    let other = fixture(OTHER_PERSON);
    assert_eq!(decision(&send_frame(&server, &device, &other)), "unknown");
    assert_eq!(acs.accepted().len(), 1);

    // Corrupt frames are refused, and leave no trace either.
    let corrupt = b"\xFF\xD8\xFF\xE0 not really a JPEG".to_vec();
    let refused = send_frame(&server, &device, &corrupt);
    assert_eq!(refused.status, 422, "{}", refused.body);
    let mut truncated = same.clone();
    truncated.truncate(same.len() / 2);
    assert!(send_frame(&server, &device, &truncated).status >= 400);

    // Decision events: where, when, what, whom; no score, no vector.
    let events = server.get(
        &format!("/api/v1/entrances/{entrance}/events"),
        Some(&admin),
    );
    assert_eq!(events.status, 200, "{}", events.body);
    let events = events.json();
    let events = events.as_array().expect("array");
    let decisions: Vec<&str> = events
        .iter()
        .map(|e| e["decision"].as_str().expect("decision"))
        .collect();
    assert_eq!(decisions, ["unknown", "granted"], "newest first");
    assert_eq!(events[1]["person_id"], json!(ann.person_id));
    assert_eq!(events[0]["person_id"], Value::Null);
    for event in events {
        let mut keys: Vec<&str> = event
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["at", "decision", "detail", "entrance_id", "person_id"]
        );
    }

    // Another access system, with a secret of its own: the entrance's
    // connector changes to it, checked as at creation, and its camera
    // keeps its token. The test and the next match reach the new system,
    // signed with the new secret; the old one hears nothing more.
    let moved = AccessSystem::sharing(SECOND_SECRET, &["A-1"]);
    let change = |body: Value| {
        server.send(
            "PATCH",
            &format!("/api/v1/entrances/{entrance}/connector"),
            Some(&admin),
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    assert_eq!(change(json!({ "secret": "not-a-secret" })).status, 422);
    assert_eq!(change(json!({ "url": "ftp://acs.test/" })).status, 422);
    let changed = change(json!({ "url": moved.url(), "secret": SECOND_SECRET }));
    assert_eq!(changed.status, 204, "{}", changed.body);
    let listed = server.get("/api/v1/entrances", Some(&admin)).body;
    assert!(listed.contains(&moved.url()) && !listed.contains(SECOND_SECRET));
    let tested = server.send(
        "POST",
        &format!("/api/v1/entrances/{entrance}/test"),
        Some(&admin),
        "application/json",
        b"",
    );
    assert_eq!(
        tested.json(),
        json!({ "result": "accepted", "status": 200 }),
        "{}",
        tested.body
    );
    assert_eq!(decision(&send_frame(&server, &device, &same)), "granted");
    assert_eq!(moved.accepted(), vec![(entrance.clone(), "A-1".to_owned())]);
    assert!(moved.seen.lock().expect("lock").refused.is_empty());
    assert_eq!(acs.accepted().len(), 1);

    // Withdrawal: the same photo no longer matches, and nothing is asked.
    let withdrawn = server.delete("/api/v1/me/consent", Some(&ann.session));
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.body);
    assert_eq!(decision(&send_frame(&server, &device, &same)), "unknown");
    assert_eq!(acs.accepted().len() + moved.accepted().len(), 2);

    // Acceptance 3 (P1, P2, P6): no frame, and not the frame's vector, on
    // disk, in TMPDIR, in the database or in the log.
    let frames = vec![same.clone(), other.clone(), corrupt.clone(), truncated];
    for file in files_under(&server.data_dir)
        .into_iter()
        .chain(files_under(&server.tmp_dir))
    {
        let bytes = std::fs::read(&file).expect("read");
        if let Some(trace) = image_trace(&bytes, &frames) {
            panic!("{} holds {trace}", file.display());
        }
    }
    assert!(files_under(&server.tmp_dir).is_empty(), "nothing in TMPDIR");
    let probe = embedding(SAME_PERSON);
    let stored: Vec<Vec<u8>> = files_under(&server.data_dir)
        .iter()
        .map(|f| std::fs::read(f).expect("read"))
        .collect();
    for value in probe.iter().take(8) {
        let le = value.to_le_bytes();
        assert!(
            !stored.iter().any(|b| b.windows(4).any(|w| w == le)),
            "a value of the frame's vector is stored"
        );
    }

    server.stop();
    let logs = server.logs();
    assert!(
        logs.contains("route=\"/api/v1/frames\""),
        "the log is the request log:\n{logs}"
    );
    assert!(image_trace(logs.as_bytes(), &frames).is_none());
    for (what, secret) in [
        ("device token", device.as_str()),
        ("connector secret", ACS_SECRET),
        ("changed connector secret", SECOND_SECRET),
    ] {
        assert!(!logs.contains(secret), "the log contains the {what}");
    }
    for value in probe.iter().take(8) {
        let printed = format!("{value}");
        assert!(
            printed.len() < 6 || !logs.contains(&printed),
            "the log contains a vector value {printed}"
        );
    }
}

// ----- acceptance 5: organisations never match each other's people ----------------

#[test]
fn organisations_never_match_each_others_people() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, acme_admin) = server.create_org("Acme");
    let (_, globex_admin) = server.create_org("Globex");
    let ann = onboard(&server, &smtp, &acme_admin, "ann@acme.test", "A-1", 1);
    enrol_with(
        &server,
        &ann.session,
        &[
            "Andre_Agassi_0005.jpg",
            "Andre_Agassi_0016.jpg",
            "Andre_Agassi_0027.jpg",
        ],
    );
    let bob = onboard(&server, &smtp, &globex_admin, "bob@globex.test", "G-7", 2);
    enrol_with(&server, &bob.session, &OTHER_ENROLMENT);

    let acme_door = create_entrance(&server, &acme_admin, "Acme door", json!({ "type": "osdp" }));
    let globex_door = create_entrance(
        &server,
        &globex_admin,
        "Globex door",
        json!({ "type": "osdp" }),
    );
    let (_, acme_device) = create_device(&server, &acme_admin, &acme_door);
    let (_, globex_device) = create_device(&server, &globex_admin, &globex_door);
    // An admin cannot register devices at another organisation's entrance.
    let foreign = server.send(
        "POST",
        &format!("/api/v1/entrances/{acme_door}/devices"),
        Some(&globex_admin),
        "application/json",
        b"",
    );
    assert_eq!(foreign.status, 404);

    let agassi = fixture(SAME_PERSON);
    let gul = fixture(OTHER_PERSON);
    // Each organisation's own person matches at its own door: an OSDP
    // entrance answers the ACS id for the agent to present.
    let matched = send_frame(&server, &acme_device, &agassi);
    assert_eq!(decision(&matched), "matched");
    assert_eq!(matched.json()["acs_id"], "A-1");
    let matched = send_frame(&server, &globex_device, &gul);
    assert_eq!(decision(&matched), "matched");
    assert_eq!(matched.json()["acs_id"], "G-7");
    // Never at the other's.
    for _ in 0..3 {
        let reply = send_frame(&server, &globex_device, &agassi);
        assert_eq!(decision(&reply), "unknown", "{}", reply.body);
        assert!(reply.json().get("acs_id").is_none());
        assert_eq!(
            decision(&send_frame(&server, &acme_device, &gul)),
            "unknown"
        );
    }
    // Each admin sees only their own entrances and events.
    let acme_events = server.get("/api/v1/events", Some(&acme_admin)).body;
    assert!(acme_events.contains(&acme_door) && !acme_events.contains(&globex_door));
    assert_eq!(
        server
            .get(
                &format!("/api/v1/entrances/{acme_door}/events"),
                Some(&globex_admin)
            )
            .status,
        404
    );
    let listed = server.get("/api/v1/entrances", Some(&globex_admin)).body;
    assert!(listed.contains(&globex_door) && !listed.contains(&acme_door));

    // Erasure by the admin takes the person out of the gallery at once.
    let erased = server.delete(
        &format!("/api/v1/people/{}", bob.person_id),
        Some(&globex_admin),
    );
    assert_eq!(erased.status, 204);
    assert_eq!(
        decision(&send_frame(&server, &globex_device, &gul)),
        "unknown"
    );
}

// ----- a restart reloads the galleries ------------------------------------------------

#[test]
fn galleries_are_reloaded_at_start_and_follow_face_removal() {
    let smtp = SmtpSink::start();
    let Some(mut server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let bob = onboard(&server, &smtp, &admin, "bob@acme.test", "A-2", 1);
    enrol_with(&server, &bob.session, &OTHER_ENROLMENT);
    let door = create_entrance(&server, &admin, "Door", json!({ "type": "osdp" }));
    let (_, device) = create_device(&server, &admin, &door);
    let gul = fixture(OTHER_PERSON);

    server.restart();
    let reply = send_frame(&server, &device, &gul);
    assert_eq!(
        decision(&reply),
        "matched",
        "the gallery was loaded from the store"
    );

    let removed = server.delete("/api/v1/me/face", Some(&bob.session));
    assert_eq!(removed.status, 204);
    assert_eq!(decision(&send_frame(&server, &device, &gul)), "unknown");
    server.restart();
    assert_eq!(decision(&send_frame(&server, &device, &gul)), "unknown");
}

#[test]
fn the_security_level_is_the_admins_choice() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let (_, other_admin) = server.create_org("Other");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    enrol_with(&server, &ann.session, &["Andre_Agassi_0005.jpg"]);

    let shown = server.get("/api/v1/security", Some(&admin));
    assert_eq!(shown.status, 200, "{}", shown.body);
    let high = shown.json();
    assert_eq!(high["level"], "high", "the default");
    assert_eq!(high["target_fpir"], 0.001);
    assert_eq!(high["gallery_people"], 1);
    assert_eq!(high["levels"].as_array().map(Vec::len), Some(3));

    let put = |token: &str, level: &str| {
        server.send(
            "PUT",
            "/api/v1/security",
            Some(token),
            "application/json",
            json!({ "level": level }).to_string().as_bytes(),
        )
    };
    let changed = put(&admin, "very_high");
    assert_eq!(changed.status, 200, "{}", changed.body);
    let very_high = changed.json();
    assert_eq!(very_high["level"], "very_high");
    // Stricter: a closer match is needed, and fewer genuine frames pass.
    let threshold = |view: &Value| view["threshold"].as_f64().expect("threshold");
    let acceptance = |view: &Value| {
        view["expected_genuine_acceptance"]["one_vector"]
            .as_f64()
            .expect("acceptance")
    };
    assert!(threshold(&very_high) < threshold(&high));
    assert!(acceptance(&very_high) < acceptance(&high));
    assert_eq!(
        server.get("/api/v1/security", Some(&admin)).json()["level"],
        "very_high"
    );
    // Each organisation has its own.
    assert_eq!(
        server.get("/api/v1/security", Some(&other_admin)).json()["level"],
        "high"
    );
    assert_eq!(put(&admin, "medium").status, 400);
    assert_eq!(put("not-a-token", "standard").status, 401);
    let audit = server.get("/api/v1/audit", Some(&admin)).body;
    assert!(audit.contains("security_level.changed"), "{audit}");
}
