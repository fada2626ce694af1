//! The admin's entrances, events and audit pages over HTTP: every form
//! needs the session's CSRF token; an entrance is created, renamed, tested
//! and deleted, a camera added (its token shown once, then working) and
//! revoked; its frame shows in the events; the audit trail checks out.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;

use serde_json::Value;

use crate::metrics::faceless_jpeg;
use crate::support::{
    Backend, Reply, Server, SmtpSink, admin_page_session, csrf_of, org_with_admin_account,
    send_frame,
};

/// An access system on loopback that answers every request `200 {}` and
/// counts them; it serves `requests` requests, then stops.
fn accepting_access_system(requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/access", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    url
}

/// The organisation's entrances as the API lists them.
fn entrances(server: &Server, key: &str) -> Vec<Value> {
    server
        .get("/api/v1/entrances", Some(key))
        .json()
        .as_array()
        .expect("a list")
        .clone()
}

fn entrance_named(server: &Server, key: &str, name: &str) -> String {
    entrances(server, key)
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["id"].as_str())
        .unwrap_or_else(|| panic!("no entrance {name}"))
        .to_owned()
}

/// The token shown once on the page after adding a camera.
fn shown_token(reply: &Reply) -> String {
    reply
        .body
        .split("<code class=\"token\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the token on the page")
        .to_owned()
}

fn redirected_back(reply: &Reply) {
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.header("location"), Some("/admin/entrances"));
}

#[test]
fn an_admin_keeps_entrances_and_cameras_and_reads_events_and_audit_on_the_pages() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    let cookie = admin_page_session(&server, "ada@acme.test");
    let post =
        |path: &str, form: &[(&str, &str)]| server.admin_page("POST", path, Some(&cookie), form);

    let empty = server.admin_page("GET", "/admin/entrances", Some(&cookie), &[]);
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("No entrances yet."), "{}", empty.body);
    let csrf = csrf_of(&empty.body);

    // Every form needs the session's token: without it nothing is made.
    let front = [("name", "Front"), ("connector", "osdp")];
    for token in ["", "not-the-token"] {
        let mut form = front.to_vec();
        form.push(("csrf", token));
        assert_eq!(post("/admin/entrances", &form).status, 403);
    }
    assert!(entrances(&server, &key).is_empty());

    let mut form = front.to_vec();
    form.push(("csrf", &csrf));
    redirected_back(&post("/admin/entrances", &form));
    let bad_secret = post(
        "/admin/entrances",
        &[
            ("csrf", &csrf),
            ("name", "Gate"),
            ("connector", "http"),
            ("url", "http://127.0.0.1:9/access"),
            ("secret", "not-a-secret"),
        ],
    );
    assert_eq!(bad_secret.status, 422);
    assert!(
        bad_secret.body.contains("The shared secret is whsec_"),
        "{}",
        bad_secret.body
    );
    let secret = crate::support::ACS_SECRET;
    let access_system = accepting_access_system(1);
    redirected_back(&post(
        "/admin/entrances",
        &[
            ("csrf", &csrf),
            ("name", "Gate"),
            ("connector", "http"),
            ("url", &access_system),
            ("secret", secret),
        ],
    ));
    redirected_back(&post(
        "/admin/entrances",
        &[
            ("csrf", &csrf),
            ("name", "Back"),
            ("connector", "http"),
            ("url", "http://127.0.0.1:9/access"),
            ("secret", secret),
        ],
    ));
    let front = entrance_named(&server, &key, "Front");
    let gate = entrance_named(&server, &key, "Gate");
    let back = entrance_named(&server, &key, "Back");

    // "Send a test": the access system's answer, or that there was none.
    let tested = post(&format!("/admin/entrances/{gate}/test"), &[("csrf", &csrf)]);
    assert_eq!(tested.status, 200);
    assert!(
        tested
            .body
            .contains("Gate: the access system accepted the test (HTTP 200)."),
        "{}",
        tested.body
    );

    // The connector's URL changes on the page, the secret kept when its
    // field is left empty and never shown; the test reaches the new URL.
    let listed = server.admin_page("GET", "/admin/entrances", Some(&cookie), &[]);
    assert!(
        listed
            .body
            .contains(&format!("action=\"/admin/entrances/{gate}/connector\""))
    );
    assert!(!listed.body.contains(secret), "the secret is never shown");
    let moved = accepting_access_system(1);
    let connector = format!("/admin/entrances/{gate}/connector");
    let refused = post(
        &connector,
        &[("csrf", &csrf), ("url", &moved), ("secret", "not-a-secret")],
    );
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("The shared secret is whsec_"));
    assert_eq!(
        post(&connector, &[("csrf", "not-the-token"), ("url", &moved)]).status,
        403
    );
    redirected_back(&post(
        &connector,
        &[("csrf", &csrf), ("url", &moved), ("secret", "")],
    ));
    let gate_listed = entrances(&server, &key);
    assert!(
        gate_listed
            .iter()
            .any(|e| e["id"] == gate && e["url"] == moved)
    );
    let retested = post(&format!("/admin/entrances/{gate}/test"), &[("csrf", &csrf)]);
    assert!(
        retested
            .body
            .contains("Gate: the access system accepted the test (HTTP 200)."),
        "{}",
        retested.body
    );
    let osdp = post(
        &format!("/admin/entrances/{front}/connector"),
        &[("csrf", &csrf), ("url", &moved)],
    );
    assert_eq!(osdp.status, 422);
    assert!(osdp.body.contains("no connector settings"), "{}", osdp.body);
    let unanswered = post(&format!("/admin/entrances/{back}/test"), &[("csrf", &csrf)]);
    assert!(
        unanswered
            .body
            .contains("Back: the access system did not answer."),
        "{}",
        unanswered.body
    );

    // A camera: its token once, in the answer; it works; it is not shown again.
    let added = post(
        &format!("/admin/entrances/{front}/devices"),
        &[("csrf", &csrf)],
    );
    assert_eq!(added.status, 201, "{}", added.body);
    let token = shown_token(&added);
    assert!(token.len() >= 32, "{token}");
    let listed = server.admin_page("GET", "/admin/entrances", Some(&cookie), &[]);
    assert!(!listed.body.contains(&token), "the token shown again");
    assert!(listed.body.contains("<td>never</td>") && listed.body.contains("Down"));
    assert_eq!(
        send_frame(&server, &token, &faceless_jpeg()).json()["decision"],
        "no_face"
    );
    let seen = server.admin_page("GET", "/admin/entrances", Some(&cookie), &[]);
    assert!(seen.body.contains("Up") && !seen.body.contains("<td>never</td>"));
    assert!(seen.body.contains("<td>1</td>"), "one frame: {}", seen.body);
    assert!(
        seen.body
            .contains("Times are in the Europe/Amsterdam time zone.")
    );

    redirected_back(&post(
        &format!("/admin/entrances/{front}/rename"),
        &[("csrf", &csrf), ("name", "Main door")],
    ));
    assert_eq!(entrance_named(&server, &key, "Main door"), front);
    let nameless = post(
        &format!("/admin/entrances/{front}/rename"),
        &[("csrf", &csrf), ("name", "")],
    );
    assert_eq!(nameless.status, 422);
    assert!(nameless.body.contains("1 to 100 characters"));

    // The frame's decision, under the entrance's new name, filtered.
    let events = server.admin_page("GET", "/admin/events", Some(&cookie), &[]);
    assert_eq!(events.status, 200);
    assert!(
        events.body.contains("<td>Main door</td><td>No face</td>"),
        "{}",
        events.body
    );
    assert!(
        events
            .body
            .contains("Times are in the Europe/Amsterdam time zone.")
    );
    let matched = server.admin_page(
        "GET",
        &format!("/admin/events?entrance={front}&outcome=matched&from=&until="),
        Some(&cookie),
        &[],
    );
    assert!(matched.body.contains("No decisions match."));
    let bad_date = server.admin_page("GET", "/admin/events?from=30-11-2026", Some(&cookie), &[]);
    assert_eq!(bad_date.status, 400);
    assert!(bad_date.body.contains("Write a date as 2026-11-30."));

    // Revoked, the camera's token stops working.
    let camera = server
        .get(&format!("/api/v1/entrances/{front}/devices"), Some(&key))
        .json()[0]["id"]
        .as_str()
        .expect("camera")
        .to_owned();
    redirected_back(&post(
        &format!("/admin/entrances/{front}/devices/{camera}/revoke"),
        &[("csrf", &csrf)],
    ));
    assert_eq!(send_frame(&server, &token, &faceless_jpeg()).status, 401);

    // Deleting asks for the box to be ticked.
    let unconfirmed = post(
        &format!("/admin/entrances/{back}/delete"),
        &[("csrf", &csrf)],
    );
    assert_eq!(unconfirmed.status, 422);
    assert!(unconfirmed.body.contains("Tick the box"));
    redirected_back(&post(
        &format!("/admin/entrances/{back}/delete"),
        &[("csrf", &csrf), ("confirm", "yes")],
    ));
    assert_eq!(entrances(&server, &key).len(), 2);

    // Every change is in the trail, which checks out.
    let audit = server.admin_page("GET", "/admin/audit", Some(&cookie), &[]);
    assert_eq!(audit.status, 200);
    assert!(
        audit.body.contains("The audit trail is intact"),
        "{}",
        audit.body
    );
    for action in [
        "Entrance added",
        "Camera added",
        "Entrance renamed",
        "Camera revoked",
        "Entrance deleted",
    ] {
        assert!(audit.body.contains(action), "{action}");
    }

    // No form of these pages changes anything without the token.
    for path in [
        format!("/admin/entrances/{front}/rename"),
        format!("/admin/entrances/{front}/delete"),
        format!("/admin/entrances/{gate}/test"),
        format!("/admin/entrances/{front}/devices"),
        format!("/admin/entrances/{front}/devices/{camera}/revoke"),
    ] {
        let refused = post(
            &path,
            &[("csrf", "forged"), ("name", "X"), ("confirm", "yes")],
        );
        assert_eq!(refused.status, 403, "{path}");
    }
    assert_eq!(entrances(&server, &key).len(), 2);
    assert_eq!(entrance_named(&server, &key, "Main door"), front);
}

#[test]
fn an_admin_adds_an_entrance_and_a_camera_in_chromium_in_english_and_dutch() {
    if !crate::browser::browser_available() {
        return;
    }
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    // A door already in use, so that the pages have a camera that is up and
    // decisions to show.
    let gate = crate::support::create_entrance(
        &server,
        &key,
        "Gate 2",
        serde_json::json!({ "type": "osdp" }),
    );
    let (_, camera) = crate::support::create_device(&server, &key, &gate);
    for frame in [
        faceless_jpeg(),
        crate::support::fixture("Abdullah_Gul_0011.jpg"),
    ] {
        assert_eq!(send_frame(&server, &camera, &frame).status, 200);
    }
    for (locale, language, name) in [("en-GB", "en", "Front door"), ("nl-NL", "nl", "Voordeur")] {
        crate::browser::run_in_chromium(
            &server,
            "admin-entrances.mjs",
            &["Andre_Agassi_0005.jpg"],
            &format!("admin-entrances-{language}"),
            &[
                ("LOCALE", locale),
                ("LANGUAGE", language),
                ("ADMIN_EMAIL", "ada@acme.test"),
                ("ENTRANCE", name),
            ],
        );
        let entrance = entrance_named(&server, &key, name);
        let devices = server
            .get(&format!("/api/v1/entrances/{entrance}/devices"), Some(&key))
            .json();
        assert_eq!(devices.as_array().map(Vec::len), Some(1), "{devices}");
    }
}

#[test]
fn an_admin_sets_the_security_level_and_the_language_on_the_organisation_page() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    let cookie = admin_page_session(&server, "ada@acme.test");
    let home = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    assert_eq!(home.status, 200);
    assert!(
        home.body
            .contains("<option value=\"high\" selected>High: at most 1 stranger in 1000 "),
        "{}",
        home.body
    );
    assert!(home.body.contains("No renewal is under way."));
    let csrf = csrf_of(&home.body);

    let forged = server.admin_page(
        "POST",
        "/admin/security",
        Some(&cookie),
        &[("csrf", "forged"), ("level", "high")],
    );
    assert_eq!(forged.status, 403);
    let unknown = server.admin_page(
        "POST",
        "/admin/security",
        Some(&cookie),
        &[("csrf", &csrf), ("level", "lax")],
    );
    assert_eq!(unknown.status, 400);
    assert_eq!(
        server.get("/api/v1/security", Some(&key)).json()["level"],
        "high"
    );
    let raised = server.admin_page(
        "POST",
        "/admin/security",
        Some(&cookie),
        &[("csrf", &csrf), ("level", "very_high")],
    );
    assert_eq!(raised.status, 303);
    assert_eq!(raised.header("location"), Some("/admin"));
    assert_eq!(
        server.get("/api/v1/security", Some(&key)).json()["level"],
        "very_high"
    );

    let dutch = server.admin_page(
        "POST",
        "/admin/language",
        Some(&cookie),
        &[("csrf", &csrf), ("language", "nl")],
    );
    assert_eq!(dutch.status, 303);
    assert_eq!(
        server.get("/api/v1/language", Some(&key)).json()["language"],
        "nl"
    );
    // Without a language of its own, the browser now gets the page in Dutch.
    let home = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    assert!(home.body.contains("<html lang=\"nl\">"), "{}", home.body);
    assert!(
        home.body
            .contains("<option value=\"very_high\" selected>Zeer hoog")
    );

    // Times are shown in the organisation's zone: Amsterdam's until an
    // admin chooses another.
    assert!(
        home.body
            .contains("<option value=\"Europe/Amsterdam\" selected>")
    );
    let zone_of_trail = |zones: &[&str]| {
        let trail = server.admin_page("GET", "/admin/audit", Some(&cookie), &[]);
        assert_eq!(trail.status, 200);
        zones
            .iter()
            .any(|zone| trail.body.contains(&format!(" {zone}</td>")))
    };
    // The trail says which zone its times are in.
    let trail_names = |zone: &str| {
        let trail = server.admin_page("GET", "/admin/audit", Some(&cookie), &[]);
        trail
            .body
            .contains(&format!("Tijden zijn in de tijdzone {zone}."))
    };
    assert!(trail_names("Europe/Amsterdam"));
    assert!(zone_of_trail(&["CET", "CEST"]));
    let time_zone = |csrf: &str, zone: &str| {
        server.admin_page(
            "POST",
            "/admin/time-zone",
            Some(&cookie),
            &[("csrf", csrf), ("time_zone", zone)],
        )
    };
    assert_eq!(time_zone("forged", "America/New_York").status, 403);
    let unknown = time_zone(&csrf, "Mars/Olympus_Mons");
    assert_eq!(unknown.status, 422);
    assert!(unknown.body.contains("Limen kent deze tijdzone niet"));
    assert_eq!(time_zone(&csrf, "America/New_York").status, 303);
    assert!(zone_of_trail(&["EST", "EDT"]));
    assert!(!zone_of_trail(&["CET", "CEST"]));
    assert!(trail_names("America/New_York"));
    let home = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    assert!(
        home.body
            .contains("<option value=\"America/New_York\" selected>")
    );
}
