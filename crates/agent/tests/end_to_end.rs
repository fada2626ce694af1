//! The whole agent with the real face engine: an LFW entrance scene read
//! from a `dir:` source, faces found and checked locally, crops sent to a
//! loopback receiver.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Receiver;
use limen_agent::{
    Agent, AgentConfig, AgentEvent, Capture, DropReason, FrameSource, RetryPolicy, RunSummary,
    SourceSpec, TrustedRoots,
};
use limen_face::FaceFinder;

const MATCHED: &str = r#"{"decision":"matched","acs_id":"4711","latency_ms":42}"#;

fn finder() -> FaceFinder {
    FaceFinder::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")).expect("models")
}

/// The fixture folder: Agassi (3 photos), a photo where no face is found,
/// Beckham (2 photos); one frame a second.
fn scene() -> Capture {
    open_fixture("dir", "lfw")
}

fn open_fixture(kind: &str, name: &str) -> Capture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let spec: SourceSpec = format!("{kind}:{}", path.display()).parse().expect("spec");
    Capture::start(FrameSource::open(&spec, &TrustedRoots::public()).expect("open"))
}

fn agent(url: &str) -> Agent {
    let policy = RetryPolicy {
        retries: 3,
        first_backoff: Duration::from_millis(20),
        // Frames never age out here, so a slow machine cannot change the outcome.
        max_frame_age: Duration::from_secs(600),
        request_timeout: Duration::from_secs(30),
    };
    let submitter = common::submitter(url, "t0k3n", policy);
    Agent::new(
        submitter,
        AgentConfig {
            cooldown: Duration::from_secs(60),
            track_timeout: Duration::from_millis(1500),
            recorded_frame_interval: Duration::from_secs(1),
            ..AgentConfig::default()
        },
    )
}

fn sent_frames(events: &[AgentEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Sending { frame, .. } => Some(*frame),
            _ => None,
        })
        .collect()
}

#[test]
fn each_person_passing_is_sent_once_and_only_their_face_region() {
    let finder = finder();
    let receiver = Receiver::start(200, MATCHED);
    let mut events = Vec::new();
    let summary = agent(&receiver.url())
        .run(&mut scene(), &finder, &mut |e| events.push(e.clone()))
        .expect("run");
    assert_eq!(
        summary,
        RunSummary {
            frames: 6,
            answered: 2,
            dropped: 0
        }
    );
    assert_eq!(sent_frames(&events), [0, 4]);

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for got in &received {
        assert_eq!(got.content_type.as_deref(), Some("image/jpeg"));
        let crop = limen_face::decode(&got.body).expect("a JPEG");
        assert!(crop.width() < 250 && crop.height() < 250, "{crop:?}");
        // The crop holds the face, and only one.
        let faces = finder.find(&crop);
        assert_eq!(faces.len(), 1, "{faces:?}");
        assert!(faces[0].quality.passed, "{:?}", faces[0].quality);
        // The server's crop-aware scan finds that same face.
        let largest = finder.find_largest(&crop).expect("a face");
        assert_eq!(
            (largest.rect, largest.landmarks, largest.score),
            (faces[0].rect, faces[0].landmarks, faces[0].score)
        );
    }
}

#[test]
fn a_recorded_mjpeg_with_a_damaged_frame_gives_the_same_passages() {
    let finder = finder();
    let receiver = Receiver::start(200, MATCHED);
    let mut events = Vec::new();
    let summary = agent(&receiver.url())
        .run(
            &mut open_fixture("file", "scene.mjpeg"),
            &finder,
            &mut |e| events.push(e.clone()),
        )
        .expect("run");
    assert_eq!(sent_frames(&events), [0, 4]);
    let skipped: Vec<String> = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::FrameSkipped { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].contains("corrupt JPEG"), "{skipped:?}");
    assert_eq!((summary.frames, summary.answered), (6, 2));
    assert_eq!(receiver.received().len(), 2);
}

#[test]
fn a_server_outage_mid_stream_is_reported_and_no_stale_frame_is_sent_after_it() {
    let finder = finder();
    let mut receiver = Some(Receiver::start(200, MATCHED));
    let mut agent = agent(&receiver.as_ref().expect("up").url());
    let mut stopped = None;
    let mut events = Vec::new();
    let summary = agent
        .run(&mut scene(), &finder, &mut |e| {
            events.push(e.clone());
            match e {
                AgentEvent::Answered { frame: 0, .. } => {
                    stopped = receiver.take().map(|r| r.stop());
                }
                AgentEvent::Dropped { .. } => {
                    if let Some(down) = stopped.take() {
                        receiver = Some(Receiver::restart(down, 200, MATCHED));
                    }
                }
                _ => {}
            }
        })
        .expect("run");
    let lines: Vec<String> = events.iter().map(ToString::to_string).collect();
    assert_eq!(sent_frames(&events), [0, 4, 5], "{lines:?}");
    let retries: Vec<&String> = lines.iter().filter(|l| l.contains("retry")).collect();
    assert_eq!(retries.len(), 3, "{lines:?}");
    assert!(retries[2].ends_with("retry 3/3 in 80 ms"), "{lines:?}");
    assert!(events.contains(&AgentEvent::Dropped {
        frame: 4,
        reason: DropReason::RetriesExhausted
    }));
    assert_eq!((summary.answered, summary.dropped), (2, 1));
    // Frame 0 before the outage, frame 5 after it; frame 4 never.
    assert_eq!(receiver.expect("back up").received().len(), 2);
}
