//! The agent's per-frame logic on an LFW entrance scene, with the reference
//! pipeline's face boxes: one send per passage, again after the cooldown,
//! only face crops on the wire, and a server outage in the middle.

mod common;

use std::time::{Duration, Instant};

use common::{Receiver, fixture};
use limen_agent::{
    Agent, AgentConfig, AgentEvent, DropReason, FramePosition, RetryPolicy, SeenFace, crop_region,
};
use limen_face::Rect;

const MATCHED: &str = r#"{"decision":"matched","acs_id":"4711","latency_ms":42}"#;

/// The scene, one frame a second: Agassi for three frames, nobody, then
/// Beckham for two. Boxes are the reference pipeline's detections.
fn scene() -> Vec<(&'static str, Option<Rect>)> {
    vec![
        ("Andre_Agassi_0005.jpg", Some(Rect::new(67, 80, 175, 187))),
        ("Andre_Agassi_0016.jpg", Some(Rect::new(67, 80, 175, 187))),
        ("Andre_Agassi_0027.jpg", Some(Rect::new(67, 80, 175, 187))),
        ("Anna_Kournikova_0005.jpg", None),
        ("David_Beckham_0001.jpg", Some(Rect::new(76, 86, 165, 176))),
        ("David_Beckham_0012.jpg", Some(Rect::new(67, 80, 175, 187))),
    ]
}

fn config(cooldown_s: u64) -> AgentConfig {
    AgentConfig {
        cooldown: Duration::from_secs(cooldown_s),
        track_timeout: Duration::from_millis(1500),
        recorded_frame_interval: Duration::from_secs(1),
        ..AgentConfig::default()
    }
}

/// Quick retries; frames never age out here (slow test machines must not
/// change the outcome), so a frame is dropped only when its retries run out.
fn policy() -> RetryPolicy {
    RetryPolicy {
        retries: 3,
        first_backoff: Duration::from_millis(20),
        max_frame_age: Duration::from_secs(600),
        request_timeout: Duration::from_secs(30),
    }
}

/// Plays `frames` through the agent; `on_event` sees every event.
fn play(agent: &mut Agent, frames: &[(&str, Option<Rect>)], on_event: &mut dyn FnMut(&AgentEvent)) {
    for (i, (name, face)) in frames.iter().enumerate() {
        let image = limen_face::decode(&fixture(name)).expect("decode");
        let faces: Vec<SeenFace> = face
            .iter()
            .map(|&rect| SeenFace { rect, passed: true })
            .collect();
        let position = FramePosition {
            index: i as u64,
            at: Duration::from_secs(i as u64),
            read_at: Instant::now(),
        };
        agent
            .handle_frame(&image, &faces, position, on_event)
            .expect("token accepted");
    }
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
fn each_passage_is_sent_once_as_a_face_crop() {
    let receiver = Receiver::start(200, MATCHED);
    let submitter = common::submitter(&receiver.url(), "t0k3n", policy());
    let mut agent = Agent::new(submitter, config(60));
    let mut events = Vec::new();
    play(&mut agent, &scene(), &mut |e| events.push(e.clone()));

    assert_eq!(sent_frames(&events), [0, 4]);
    let answered = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::Answered { .. }))
        .count();
    assert_eq!(answered, 2);
    // What arrived is each face's crop region, re-encoded: never the frame.
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for (got, face) in received.iter().zip([scene()[0].1, scene()[4].1]) {
        let expected = crop_region(face.expect("a face"), 250, 250).expect("region");
        let crop = limen_face::decode(&got.body).expect("a JPEG");
        assert_eq!(
            (crop.width() as i64, crop.height() as i64),
            (expected.width(), expected.height())
        );
        assert!(crop.width() * crop.height() < 250 * 250);
    }
    // The status lines name the decision but not the access-system id.
    let lines: Vec<String> = events.iter().map(ToString::to_string).collect();
    assert!(
        lines
            .iter()
            .any(|l| l == "frame 0: matched (server took 42 ms)"),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains("4711")));
}

#[test]
fn a_person_still_at_the_door_is_sent_again_after_the_cooldown() {
    let receiver = Receiver::start(200, r#"{"decision":"denied","latency_ms":5}"#);
    let submitter = common::submitter(&receiver.url(), "t0k3n", policy());
    let mut agent = Agent::new(submitter, config(2));
    let mut events = Vec::new();
    play(&mut agent, &scene()[..3], &mut |e| events.push(e.clone()));
    assert_eq!(sent_frames(&events), [0, 2]);
    assert_eq!(receiver.received().len(), 2);
}

#[test]
fn faces_failing_the_quality_check_are_never_sent() {
    let receiver = Receiver::start(200, MATCHED);
    let submitter = common::submitter(&receiver.url(), "t0k3n", policy());
    let mut agent = Agent::new(submitter, config(60));
    let image = limen_face::decode(&fixture("Andre_Agassi_0005.jpg")).expect("decode");
    let poor = [SeenFace {
        rect: Rect::new(67, 80, 175, 187),
        passed: false,
    }];
    for i in 0..3 {
        let position = FramePosition {
            index: i,
            at: Duration::from_secs(i),
            read_at: Instant::now(),
        };
        agent
            .handle_frame(&image, &poor, position, &mut |e| panic!("unexpected: {e}"))
            .expect("nothing sent");
    }
    assert!(receiver.received().is_empty());
}

#[test]
fn during_an_outage_the_agent_reports_retries_and_sends_only_fresh_frames_after_it() {
    let mut receiver = Some(Receiver::start(200, MATCHED));
    let url = receiver.as_ref().expect("up").url();
    let submitter = common::submitter(&url, "t0k3n", policy());
    let mut agent = Agent::new(submitter, config(60));
    let mut stopped = None;
    let mut lines = Vec::new();
    let mut events = Vec::new();
    play(&mut agent, &scene(), &mut |e| {
        lines.push(e.to_string());
        events.push(e.clone());
        match e {
            // The server goes away after the first passage...
            AgentEvent::Answered { frame: 0, .. } => {
                stopped = receiver.take().map(|r| r.stop());
            }
            // ...and comes back once the agent has given up on a frame.
            // (Frames too old to send are dropped the same way; see the
            // submission tests.)
            AgentEvent::Dropped { .. } => {
                if let Some(down) = stopped.take() {
                    receiver = Some(Receiver::restart(down, 200, MATCHED));
                }
            }
            _ => {}
        }
    });
    // Frame 4 was tried during the outage and dropped; frame 5, read after
    // the server came back, went instead.
    assert_eq!(sent_frames(&events), [0, 4, 5]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("server unreachable (connection refused), retry 1/3 in 20 ms")),
        "{lines:?}"
    );
    let dropped: Vec<&DropReason> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Dropped { frame: 4, reason } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, [&DropReason::RetriesExhausted]);
    let received = receiver.expect("back up").received();
    assert_eq!(
        received.len(),
        2,
        "frame 0 before the outage and frame 5 after it: {lines:?}"
    );
    let frame5 = limen_face::decode(&fixture("David_Beckham_0012.jpg")).expect("decode");
    let expected =
        limen_agent::encode_face_crop(&frame5, Rect::new(67, 80, 175, 187)).expect("crop");
    assert!(
        received[1].body == expected.as_slice(),
        "the second crop is not frame 5's"
    );
}
