//! Issue 11: liveness at the door. Upstream's sample frames: T1 a live
//! person, F1 and F2 photos of a face held up to a camera. An entrance
//! that enforces liveness answers `spoof_suspected` for the photos and
//! matches the live frame of the same enrolled person; in monitor mode the
//! door is unaffected and the decision event records the live score, and
//! nothing else of the face. Where an entrance enforces liveness,
//! enrolment refuses the photos too.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{
    Backend, Server, SmtpSink, create_device, create_entrance, multipart, onboard, send_frame,
};

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../face/tests/fixtures/liveness")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn answer(server: &Server, device: &str, frame: &[u8]) -> Value {
    let reply = send_frame(server, device, frame);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn set_mode(server: &Server, admin: &str, entrance: &str, mode: &str) -> u16 {
    server
        .send(
            "PUT",
            &format!("/api/v1/entrances/{entrance}/liveness"),
            Some(admin),
            "application/json",
            json!({ "mode": mode }).to_string().as_bytes(),
        )
        .status
}

/// The entrance's decision events, newest last.
fn events(server: &Server, admin: &str, entrance: &str) -> Vec<Value> {
    let mut events = server
        .get(&format!("/api/v1/entrances/{entrance}/events"), Some(admin))
        .json()
        .as_array()
        .expect("events")
        .clone();
    // The API lists the newest first.
    events.reverse();
    events
}

#[test]
fn an_entrance_that_enforces_liveness_refuses_a_photo_and_lets_the_person_in() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let (_, other_admin) = server.create_org("Other");
    let door = create_entrance(&server, &admin, "Front", json!({ "type": "osdp" }));
    let (_, device) = create_device(&server, &admin, &door);
    let entrances = server.get("/api/v1/entrances", Some(&admin)).json();
    assert_eq!(
        entrances[0]["liveness"], "monitor",
        "the default: {entrances}"
    );

    let person = onboard(&server, &smtp, &admin, "t1@acme.test", "CARD-T1", 1);
    let live = sample("sample-image_T1.jpg");
    let (content_type, body) = multipart(&[("image/jpeg", live.as_slice())]);
    let enrolled = server.send(
        "POST",
        "/api/v1/me/face",
        Some(&person.session),
        &content_type,
        &body,
    );
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);

    // Monitor: the door decides as without liveness; the event records
    // the live score and nothing else of the face.
    assert_eq!(answer(&server, &device, &live)["decision"], "matched");
    let monitored = events(&server, &admin, &door);
    let detail = monitored.last().expect("an event")["detail"]
        .as_str()
        .expect("detail")
        .to_owned();
    let score: f64 = detail
        .strip_prefix("live score ")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no live score in {detail:?}"));
    assert!(score >= f64::from(limen_face::LIVE_FROM), "{detail}");
    answer(&server, &device, &sample("sample-image_F1.jpg"));
    let photo_detail = events(&server, &admin, &door).last().expect("an event")["detail"]
        .as_str()
        .expect("detail")
        .to_owned();
    assert!(photo_detail.starts_with("live score 0."), "{photo_detail}");
    assert!(
        photo_detail.len() <= "live score 0.00".len(),
        "only the score: {photo_detail}"
    );

    // The mode is the organisation admin's, for its own entrances only.
    assert_eq!(set_mode(&server, &admin, &door, "sometimes"), 400);
    assert_eq!(set_mode(&server, &other_admin, &door, "off"), 404);
    assert_eq!(set_mode(&server, &admin, &door, "enforce"), 204);
    assert_eq!(
        server.get("/api/v1/entrances", Some(&admin)).json()[0]["liveness"],
        "enforce"
    );

    // Enforce: the photos are refused before any search; the live person
    // passes.
    for photo in ["sample-image_F1.jpg", "sample-image_F2.jpg"] {
        let refused = answer(&server, &device, &sample(photo));
        assert_eq!(refused["decision"], "spoof_suspected", "{photo}: {refused}");
        assert!(refused.get("acs_id").is_none());
    }
    let admitted = answer(&server, &device, &live);
    assert_eq!(admitted["decision"], "matched", "{admitted}");
    assert_eq!(admitted["acs_id"], "CARD-T1");

    // Enrolment follows: a photo held up to the webcam is set aside with
    // advice (and alone it enrols nothing); the live frame is kept.
    let enrol = |frames: &[&[u8]]| {
        let parts: Vec<(&str, &[u8])> = frames.iter().map(|f| ("image/jpeg", *f)).collect();
        let (content_type, body) = multipart(&parts);
        server.send(
            "POST",
            "/api/v1/me/face",
            Some(&person.session),
            &content_type,
            &body,
        )
    };
    let photo = sample("sample-image_F1.jpg");
    let refused = enrol(&[&photo]);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("photo or a screen"),
        "{}",
        refused.body
    );
    let kept = enrol(&[&live, &photo]);
    assert_eq!(kept.status, 201, "{}", kept.body);
    let kept = kept.json();
    assert_eq!(kept["vectors"], 1, "{kept}");
    assert_eq!(kept["set_aside"][0]["code"], "not_live", "{kept}");
    assert_eq!(kept["set_aside"][0]["frame"], 2, "{kept}");
    assert_eq!(answer(&server, &device, &live)["acs_id"], "CARD-T1");
    let decisions: Vec<String> = events(&server, &admin, &door)
        .iter()
        .filter_map(|e| e["decision"].as_str().map(str::to_owned))
        .collect();
    assert!(
        decisions.iter().filter(|d| *d == "spoof_suspected").count() == 2,
        "{decisions:?}"
    );

    // Off: nothing is judged, nothing recorded of it, and enrolment takes
    // the photo's face again.
    assert_eq!(set_mode(&server, &admin, &door, "off"), 204);
    let photo_enrolled = enrol(&[&photo]);
    assert_eq!(photo_enrolled.status, 201, "{}", photo_enrolled.body);
    answer(&server, &device, &sample("sample-image_F1.jpg"));
    let last = events(&server, &admin, &door);
    assert!(
        !last.last().expect("an event")["detail"]
            .as_str()
            .expect("detail")
            .contains("live"),
        "{last:?}"
    );
    let audit = server.get("/api/v1/audit", Some(&admin)).body;
    assert!(audit.contains("entrance.liveness_changed"), "{audit}");
}
