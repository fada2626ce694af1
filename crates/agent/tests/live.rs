//! The agent on a live IP-camera stream (MJPEG over HTTP on loopback) while
//! the server goes away and comes back: it reports its retries, keeps
//! reading the camera, and sends again once the server is back.
//!
//! The camera paces itself with sleeps, as a camera does; the assertions do
//! not depend on timing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use common::{Receiver, fixture};
use limen_agent::{
    Agent, AgentConfig, AgentEvent, Capture, FrameSource, RetryPolicy, SourceSpec, TrustedRoots,
    encode_face_crop,
};
use limen_face::FaceFinder;

const MATCHED: &str = r#"{"decision":"matched","acs_id":"4711","latency_ms":42}"#;

/// What the camera shows, frame by frame within each phase, or `None` when
/// it stops streaming: Agassi while the server is up; during the outage,
/// nobody for a while (so his track ends) and then Beckham; once the server
/// is back, Beckham in another photo. Every phase is bounded, so a broken
/// agent ends the stream instead of hanging the test.
fn photo(phase: u8, index: usize) -> Option<&'static str> {
    match (phase, index) {
        (1, 0..150) => Some("Andre_Agassi_0005.jpg"),
        (2, 0..60) => Some("Anna_Kournikova_0005.jpg"),
        (2, 60..210) => Some("David_Beckham_0001.jpg"),
        (3, 0..60) => Some("David_Beckham_0012.jpg"),
        _ => None,
    }
}

/// A camera on loopback streaming the current phase's photos, about 30
/// frames a second.
fn camera(phase: Arc<AtomicU8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "mjpeg:http://{}/video",
        listener.local_addr().expect("addr")
    );
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(conn.try_clone().expect("clone"));
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let head =
            "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=cam\r\n\r\n";
        conn.write_all(head.as_bytes()).expect("head");
        let (mut current, mut index) = (1, 0);
        loop {
            let now = phase.load(Ordering::SeqCst);
            if now != current {
                (current, index) = (now, 0);
            }
            let Some(name) = photo(current, index) else {
                return;
            };
            let jpeg = fixture(name);
            let head = format!(
                "--cam\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                jpeg.len()
            );
            let written = conn
                .write_all(head.as_bytes())
                .and_then(|()| conn.write_all(&jpeg))
                .and_then(|()| conn.write_all(b"\r\n"));
            if written.is_err() {
                return;
            }
            index += 1;
            std::thread::sleep(Duration::from_millis(30));
        }
    });
    url
}

#[test]
fn the_agent_survives_a_server_outage_on_a_live_stream() {
    let finder = FaceFinder::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"))
        .expect("models");
    // The exact crop the agent makes of each photo.
    let crop_of = |name: &str| {
        let image = limen_face::decode(&fixture(name)).expect("decode");
        let face = finder.find(&image).into_iter().next().expect("a face");
        encode_face_crop(&image, face.rect).expect("crop").to_vec()
    };
    let crops: Vec<Vec<u8>> = [
        "Andre_Agassi_0005.jpg",
        "David_Beckham_0001.jpg",
        "David_Beckham_0012.jpg",
    ]
    .map(crop_of)
    .to_vec();

    let phase = Arc::new(AtomicU8::new(1));
    let spec: SourceSpec = camera(Arc::clone(&phase)).parse().expect("spec");
    let mut capture =
        Capture::start(FrameSource::open(&spec, &TrustedRoots::public()).expect("camera"));
    assert!(capture.is_live());

    let mut receiver = Some(Receiver::start(200, MATCHED));
    let policy = RetryPolicy {
        retries: 3,
        first_backoff: Duration::from_millis(20),
        ..RetryPolicy::default()
    };
    let submitter = common::submitter(&receiver.as_ref().expect("up").url(), "t0k3n", policy);
    let mut agent = Agent::new(
        submitter,
        AgentConfig {
            cooldown: Duration::from_secs(600),
            // Shorter than the camera's 1.8 s of nobody between the two people.
            track_timeout: Duration::from_millis(500),
            ..AgentConfig::default()
        },
    );
    let (mut stopped, mut received_before_outage) = (None, 0);
    let mut lines = Vec::new();
    let summary = agent
        .run(&mut capture, &finder, &mut |e| {
            lines.push(e.to_string());
            match e {
                AgentEvent::Answered { .. } if phase.load(Ordering::SeqCst) == 1 => {
                    let up = receiver.take().expect("up");
                    received_before_outage = up.received().len();
                    stopped = Some(up.stop());
                    phase.store(2, Ordering::SeqCst);
                }
                AgentEvent::Dropped { .. } => {
                    if let Some(down) = stopped.take() {
                        receiver = Some(Receiver::restart(down, 200, MATCHED));
                        phase.store(3, Ordering::SeqCst);
                    }
                }
                _ => {}
            }
        })
        .expect("the agent keeps running through the outage");

    assert_eq!(phase.load(Ordering::SeqCst), 3, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("server unreachable (connection refused), retry 1/3")),
        "{lines:?}"
    );
    assert!(summary.dropped >= 1 && summary.answered >= 2, "{summary:?}");
    let received = receiver.expect("back up").received();
    assert_eq!(received_before_outage, 1);
    // Agassi once before the outage; after it, Beckham, once: his track was
    // released when the frame tried during the outage was dropped.
    assert_eq!(received.len(), 2, "{lines:?}");
    assert!(
        received[0].body == crops[0],
        "the first crop is not Agassi's face region"
    );
    assert!(
        received[1].body == crops[1] || received[1].body == crops[2],
        "the second crop is not Beckham's face region"
    );
}
