//! A camera that goes silent shows as down (issue 13): `limen agent`
//! watching a live camera nobody passes keeps its device up with
//! heartbeats, its frames are counted, its own metrics are scraped and
//! parsed, and once the agent is stopped the admin API shows the device
//! down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::metrics::{parse, scrape};
use crate::support::live_agent::{RunningAgent, Scene, camera};
use crate::support::{Backend, Server, SmtpSink, create_device, create_entrance};

/// The server's silence before a device is down, in seconds: short, so
/// that the test sees it.
const DOWN_AFTER_SECS: u64 = 3;

/// The one device of `entrance`, as the admin API lists it.
fn the_device(server: &Server, admin: &str, entrance: &str) -> Value {
    let listed = server.get(
        &format!("/api/v1/entrances/{entrance}/devices"),
        Some(admin),
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    let devices = listed.json();
    let devices = devices.as_array().expect("a list");
    assert_eq!(devices.len(), 1, "{devices:?}");
    devices[0].clone()
}

/// Waits up to `timeout` for the device to satisfy `wanted`; returns it.
fn wait_for_device(
    server: &Server,
    admin: &str,
    entrance: &str,
    timeout: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let device = the_device(server, admin, entrance);
        if wanted(&device) {
            return device;
        }
        assert!(Instant::now() < deadline, "never came: {device}");
        thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_camera_nobody_passes_is_up_and_a_stopped_agent_is_down() {
    let smtp = SmtpSink::start();
    let down_after = DOWN_AFTER_SECS.to_string();
    let server = Server::start_with_env(
        Backend::Sqlite,
        &smtp.url(),
        &[("LIMEN_DEVICE_DOWN_AFTER_SECS", &down_after)],
    )
    .expect("sqlite");
    let (_, admin) = server.create_org("Watched Doors");
    let entrance = create_entrance(&server, &admin, "Side door", json!({ "type": "osdp" }));
    let (device_id, device_token) = create_device(&server, &admin, &entrance);

    let fresh = the_device(&server, &admin, &entrance);
    assert_eq!(fresh["id"], device_id.as_str());
    assert_eq!(fresh["status"], "down", "never heard from: {fresh}");
    assert_eq!(fresh["last_seen"], Value::Null);
    assert_eq!(fresh["frames_last_hour"], 0);

    // Nobody at the door: the agent sends no frame, only heartbeats.
    let scene = Arc::new(AtomicU8::new(Scene::Nobody as u8));
    let agent = RunningAgent::start_with(
        &server,
        &device_token,
        &camera(Arc::clone(&scene)),
        &["--heartbeat-secs", "1", "--metrics-bind", "127.0.0.1:0"],
    );
    let up = wait_for_device(&server, &admin, &entrance, Duration::from_secs(120), |d| {
        d["status"] == "up"
    });
    assert!(up["last_seen"].as_i64().is_some(), "{up}");
    assert_eq!(up["frames_last_hour"], 0, "heartbeats are not frames: {up}");
    // Still up well past the silence, on heartbeats alone.
    thread::sleep(Duration::from_secs(DOWN_AFTER_SECS + 2));
    let still = the_device(&server, &admin, &entrance);
    assert_eq!(still["status"], "up", "{still}");
    assert_eq!(still["frames_last_hour"], 0, "{still}");

    // Someone comes to the door: their face is sent and counted.
    let passage = Instant::now();
    scene.store(Scene::Stranger as u8, Ordering::SeqCst);
    agent.wait_for(passage, ": unknown", Duration::from_secs(60));
    let counted = wait_for_device(&server, &admin, &entrance, Duration::from_secs(20), |d| {
        d["frames_last_hour"].as_u64().is_some_and(|n| n >= 1)
    });
    assert_eq!(counted["status"], "up");

    // The agent's own metrics, scraped and parsed while it runs (it said
    // where before it read its first frame).
    let address = agent
        .lines()
        .iter()
        .find_map(|l| {
            l.text
                .split("metrics at http://")
                .nth(1)
                .map(|rest| rest.trim_end_matches("/metrics").to_owned())
        })
        .expect("the metrics address");
    let samples = parse(&scrape(&address));
    let sample = |series: &str| samples.get(series).copied().unwrap_or(0.0);
    assert!(
        sample("limen_agent_frames_read_total") >= 2.0,
        "{samples:?}"
    );
    assert!(
        sample("limen_agent_frames_rejected_total{reason=\"no_face\"}") >= 1.0,
        "the empty entrance: {samples:?}"
    );
    assert!(sample("limen_agent_faces_sent_total") >= 1.0, "{samples:?}");
    assert!(
        sample("limen_agent_answers_total{decision=\"unknown\"}") >= 1.0,
        "{samples:?}"
    );
    assert_eq!(sample("limen_agent_camera_up"), 1.0, "{samples:?}");
    assert!(
        !samples.keys().any(|k| k.contains("server_errors")),
        "no server error happened: {samples:?}"
    );

    // The agent stops: after the silence, the device is down; what it
    // sent is still counted.
    drop(agent);
    let stopped = Instant::now();
    let down = wait_for_device(&server, &admin, &entrance, Duration::from_secs(30), |d| {
        d["status"] == "down"
    });
    assert!(
        stopped.elapsed() >= Duration::from_secs(DOWN_AFTER_SECS - 1),
        "down before the silence was over: {down}"
    );
    assert!(down["last_seen"].as_i64().is_some(), "{down}");
    assert!(
        down["frames_last_hour"].as_u64().is_some_and(|n| n >= 1),
        "{down}"
    );
}
