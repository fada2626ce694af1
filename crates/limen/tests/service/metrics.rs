//! `/metrics` on its own listener: scraped after an enrolment and frames
//! through the device API, parsed as Prometheus's text format, its counts
//! those of what happened, and nothing in it that names a person.

use std::collections::BTreeMap;

use serde_json::json;

use crate::support::{
    Backend, Server, SmtpSink, create_device, create_entrance, decision,
    entrance_without_access_system, fixture, multipart, onboard, send_frame,
};

/// A valid JPEG of flat grey: no face in it.
pub(crate) fn faceless_jpeg() -> Vec<u8> {
    let pixels = vec![128u8; 320 * 240];
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode(&pixels, 320, 240, image::ExtendedColorType::L8)
        .expect("encode");
    out
}

/// `/metrics` at `address`, checked to be served as the text format.
pub(crate) fn scrape(address: &str) -> String {
    let scraped = ureq::get(&format!("http://{address}/metrics"))
        .call()
        .expect("scrape");
    assert!(
        scraped
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain; version=0.0.4"))
    );
    scraped.into_body().read_to_string().expect("metrics text")
}

/// The samples of a text exposition, by series (`name{labels}` as
/// written); panics on a line the format does not allow.
pub(crate) fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.split(' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(_), Some(_)) => {}
                (Some("TYPE"), Some(name), Some("counter" | "gauge" | "histogram")) => {
                    typed.push(name.to_owned())
                }
                _ => panic!("not a HELP or TYPE line: {line:?}"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line:?}"));
        let name = series.split('{').next().expect("name");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line:?}"
        );
        assert!(
            typed.iter().any(|t| name == t
                || ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name.strip_suffix(suffix) == Some(t))),
            "a sample before its TYPE: {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with("\"}")),
                "{line:?}"
            );
        }
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "twice: {line:?}"
        );
    }
    samples
}

#[test]
fn metrics_count_decisions_enrolments_and_access_system_errors_without_personal_data() {
    let smtp = SmtpSink::start();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let server = Server::start_with_env(
        Backend::Sqlite,
        &smtp.url(),
        &[
            ("LIMEN_METRICS_BIND", &metrics_bind),
            // The door's device may send its three frames, not a fourth.
            ("LIMEN_DEVICE_FRAMES_PER_MINUTE", "3"),
        ],
    )
    .expect("sqlite");
    let (org, admin) = server.create_org("Metered");
    let ann = onboard(&server, &smtp, &admin, "ann@metered.test", "ACS-ANN-7", 1);

    // One enrolment, one of its frames set aside for showing no face.
    let frames = [
        fixture("Andre_Agassi_0005.jpg"),
        fixture("Andre_Agassi_0016.jpg"),
        faceless_jpeg(),
    ];
    let parts: Vec<(&str, &[u8])> = frames.iter().map(|f| ("image/jpeg", &f[..])).collect();
    let (content_type, body) = multipart(&parts);
    let enrolled = server.send(
        "POST",
        "/api/v1/me/face",
        Some(&ann.session),
        &content_type,
        &body,
    );
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);

    let door = create_entrance(&server, &admin, "Door", json!({ "type": "osdp" }));
    let (_, door_device) = create_device(&server, &admin, &door);
    let gate = entrance_without_access_system(&server, &admin, "Gate");
    let (_, gate_device) = create_device(&server, &admin, &gate);
    let ann_again = fixture("Andre_Agassi_0002.jpg");
    let sent = [
        (&door_device, ann_again.clone(), "matched"),
        (&door_device, fixture("Abdullah_Gul_0011.jpg"), "unknown"),
        (&door_device, faceless_jpeg(), "no_face"),
        (&gate_device, ann_again, "denied"),
    ];
    for (device, frame, expected) in &sent {
        assert_eq!(decision(&send_frame(&server, device, frame)), *expected);
    }

    let fourth = send_frame(&server, &door_device, &faceless_jpeg());
    assert_eq!(fourth.status, 429, "{}", fourth.body);

    let text = scrape(&metrics_bind);
    let samples = parse(&text);
    let sample = |series: &str| {
        samples
            .get(series)
            .copied()
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };

    for (entrance, decided) in [
        (&door, "matched"),
        (&door, "unknown"),
        (&door, "no_face"),
        (&gate, "denied"),
    ] {
        assert_eq!(
            sample(&format!(
                "limen_decisions_total{{entrance=\"{entrance}\",decision=\"{decided}\"}}"
            )),
            1.0
        );
    }
    assert_eq!(
        sample(&format!(
            "limen_frames_refused_total{{entrance=\"{door}\",reason=\"rate_limited\"}}"
        )),
        1.0
    );
    assert_eq!(sample("limen_decision_seconds_count"), 4.0);
    assert_eq!(sample("limen_decision_seconds_bucket{le=\"+Inf\"}"), 4.0);
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(series, _)| series.starts_with("limen_decision_seconds_bucket"))
        .map(|(_, count)| *count)
        .collect();
    assert!(buckets.len() > 2 && buckets.iter().all(|&c| c <= 4.0));
    assert!(sample("limen_decision_seconds_sum") > 0.0);
    assert_eq!(sample("limen_enrolments_total{outcome=\"enrolled\"}"), 1.0);
    assert_eq!(
        sample("limen_enrolment_frames_set_aside_total{reason=\"no_face\"}"),
        1.0
    );
    assert_eq!(
        sample(&format!(
            "limen_access_system_errors_total{{entrance=\"{gate}\",kind=\"no_decision\"}}"
        )),
        1.0
    );
    assert_eq!(
        sample(&format!(
            "limen_gallery_people{{organisation=\"{org}\",model_version=\"omz-reid-0095\"}}"
        )),
        1.0
    );
    assert_eq!(sample("limen_engine_jobs_running"), 0.0);
    assert_eq!(sample("limen_engine_jobs_waiting{work=\"entrance\"}"), 0.0);

    // Nobody is named: not by id, e-mail, name or access-system id.
    for personal in [
        ann.person_id.as_str(),
        ann.email.as_str(),
        "ACS-ANN-7",
        "Test",
    ] {
        assert!(!text.contains(personal), "{personal} in:\n{text}");
    }
    // And the service's own address serves no metrics.
    assert_eq!(server.get("/metrics", None).status, 404);
}
