//! Frame submission against a loopback receiver: what is sent, how answers
//! and refusals are read, and what happens while the server is away.

mod common;

use std::time::{Duration, Instant};

use common::tls::PrivateCa;
use common::{Receiver, fixture};
use limen_agent::{
    CaCertError, Decision, DropReason, RetryNotice, RetryPolicy, ServerUrl, SubmitError,
    SubmitOutcome, Submitter, TrustedRoots, encode_face_crop,
};
use limen_face::Rect;

const MATCHED: &str = r#"{"decision":"matched","acs_id":"4711","latency_ms":42}"#;
const TOKEN: &str = "dev_7f3a9c";

/// A real face crop: Andre Agassi's face (the reference box) from an LFW photo.
fn face_crop() -> Vec<u8> {
    let frame = limen_face::decode(&fixture("Andre_Agassi_0005.jpg")).expect("decode fixture");
    encode_face_crop(&frame, Rect::new(67, 80, 175, 187))
        .expect("crop")
        .to_vec()
}

fn quick_policy(retries: u32, max_frame_age: Duration) -> RetryPolicy {
    RetryPolicy {
        retries,
        first_backoff: Duration::from_millis(20),
        max_frame_age,
        request_timeout: Duration::from_secs(30),
    }
}

fn no_retries_expected(n: &RetryNotice) {
    panic!("unexpected retry: {n}");
}

#[test]
fn a_face_crop_is_posted_with_the_device_token_and_the_answer_is_read() {
    let receiver = Receiver::start(200, MATCHED);
    let submitter = common::submitter(
        &format!("{}/", receiver.url()),
        TOKEN,
        quick_policy(0, Duration::from_secs(600)),
    );
    assert!(!format!("{submitter:?}").contains(TOKEN));
    let crop = face_crop();
    let outcome = submitter
        .submit(&crop, Instant::now(), &mut no_retries_expected)
        .expect("submit");
    let SubmitOutcome::Answered(answer) = outcome else {
        panic!("no answer: {outcome:?}")
    };
    assert_eq!(answer.decision, Decision::Matched);
    assert_eq!(answer.acs_id.as_deref(), Some("4711"));
    assert_eq!(answer.latency_ms, 42);

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/api/v1/frames");
    assert_eq!(
        received[0].authorization.as_deref(),
        Some("Bearer dev_7f3a9c")
    );
    assert_eq!(received[0].content_type.as_deref(), Some("image/jpeg"));
    assert!(received[0].body == crop, "the body is not the crop");
    // The crop, not the 250x250 frame.
    let sent = limen_face::decode(&received[0].body).expect("a JPEG");
    assert!(sent.width() < 250 && sent.height() < 250, "{sent:?}");
}

#[test]
fn refusals_are_told_apart() {
    let crop = face_crop();
    let submit = |status: u16, body: &str| {
        let receiver = Receiver::start(status, body);
        let submitter = common::submitter(
            &receiver.url(),
            TOKEN,
            quick_policy(2, Duration::from_secs(60)),
        );
        let outcome = submitter.submit(&crop, Instant::now(), &mut no_retries_expected);
        (outcome, receiver.received().len())
    };
    let (revoked, sent) = submit(401, "{}");
    assert!(
        matches!(revoked, Err(SubmitError::Unauthorized)),
        "{revoked:?}"
    );
    assert_eq!(sent, 1);
    let (too_big, _) = submit(413, "{}");
    assert!(
        matches!(too_big, Ok(SubmitOutcome::Dropped(DropReason::Refused(ref why))) if why == "HTTP 413"),
        "{too_big:?}"
    );
    let (garbled, _) = submit(200, r#"{"decision":"maybe"}"#);
    assert!(
        matches!(garbled, Ok(SubmitOutcome::Dropped(DropReason::Refused(ref why))) if why.starts_with("unreadable answer")),
        "{garbled:?}"
    );
    let (no_face, _) = submit(200, r#"{"decision":"no_face","latency_ms":7}"#);
    assert!(
        matches!(no_face, Ok(SubmitOutcome::Answered(ref a)) if a.decision == Decision::NoFace && a.acs_id.is_none()),
        "{no_face:?}"
    );
}

#[test]
fn a_busy_server_is_retried_with_doubling_waits_then_given_up() {
    let receiver = Receiver::start(503, "{}");
    let submitter = common::submitter(
        &receiver.url(),
        TOKEN,
        quick_policy(3, Duration::from_secs(60)),
    );
    let mut notices = Vec::new();
    let outcome = submitter
        .submit(&face_crop(), Instant::now(), &mut |n| {
            notices.push(n.to_string())
        })
        .expect("submit");
    assert_eq!(
        outcome,
        SubmitOutcome::Dropped(DropReason::RetriesExhausted)
    );
    assert_eq!(
        notices,
        [
            "server unreachable (HTTP 503), retry 1/3 in 20 ms",
            "server unreachable (HTTP 503), retry 2/3 in 40 ms",
            "server unreachable (HTTP 503), retry 3/3 in 80 ms",
        ]
    );
    assert_eq!(receiver.received().len(), 4);
}

#[test]
fn the_server_coming_back_during_the_retries_gets_the_frame_once() {
    let stopped = Receiver::start(200, MATCHED).stop();
    let submitter = common::submitter(
        &stopped.url(),
        TOKEN,
        quick_policy(5, Duration::from_secs(60)),
    );
    let mut stopped = Some(stopped);
    let mut receiver = None;
    let mut notices = Vec::new();
    let outcome = submitter
        .submit(&face_crop(), Instant::now(), &mut |n| {
            notices.push(n.clone());
            // Back before the second retry.
            if n.attempt == 2
                && let Some(down) = stopped.take()
            {
                receiver = Some(Receiver::restart(down, 200, MATCHED));
            }
        })
        .expect("submit");
    assert!(
        matches!(outcome, SubmitOutcome::Answered(ref a) if a.decision == Decision::Matched),
        "{outcome:?}"
    );
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(
        notices[0]
            .to_string()
            .starts_with("server unreachable (connection refused), retry 1/5 in 20 ms"),
        "{}",
        notices[0]
    );
    assert_eq!(receiver.expect("restarted").received().len(), 1);
}

#[test]
fn a_frame_that_outlives_the_outage_is_dropped_and_never_sent_afterwards() {
    let stopped = Receiver::start(200, MATCHED).stop();
    // Waits of 20, 40, 80, 160 ms against a 100 ms limit: the frame goes
    // stale during the outage.
    let submitter = common::submitter(
        &stopped.url(),
        TOKEN,
        quick_policy(4, Duration::from_millis(100)),
    );
    let old_crop = face_crop();
    let mut notices = 0;
    let outcome = submitter
        .submit(&old_crop, Instant::now(), &mut |_| notices += 1)
        .expect("submit");
    assert!(
        matches!(outcome, SubmitOutcome::Dropped(DropReason::TooOld(age)) if age > Duration::from_millis(100)),
        "{outcome:?}"
    );
    assert!(notices < 4, "{notices} retries");

    // Back up: only a new frame is sent; the dropped one never arrives. (A
    // patient submitter, so a slow test machine cannot age the new frame.)
    let receiver = Receiver::restart(stopped, 200, MATCHED);
    let submitter = common::submitter(
        &receiver.url(),
        TOKEN,
        quick_policy(0, Duration::from_secs(600)),
    );
    let frame = limen_face::decode(&fixture("David_Beckham_0001.jpg")).expect("decode");
    let new_crop = encode_face_crop(&frame, Rect::new(76, 86, 165, 176)).expect("crop");
    let outcome = submitter
        .submit(&new_crop, Instant::now(), &mut no_retries_expected)
        .expect("submit");
    assert!(matches!(outcome, SubmitOutcome::Answered(_)), "{outcome:?}");
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].body == new_crop.as_slice(), "not the new frame");
}

#[test]
fn a_frame_already_too_old_is_not_sent_at_all() {
    let receiver = Receiver::start(200, MATCHED);
    let submitter = common::submitter(&receiver.url(), TOKEN, RetryPolicy::default());
    let read_at = Instant::now()
        .checked_sub(Duration::from_secs(3))
        .expect("clock");
    let outcome = submitter
        .submit(&face_crop(), read_at, &mut no_retries_expected)
        .expect("submit");
    assert!(
        matches!(outcome, SubmitOutcome::Dropped(DropReason::TooOld(_))),
        "{outcome:?}"
    );
    assert!(receiver.received().is_empty());
}

#[test]
fn bad_server_urls_and_tokens_are_refused_up_front() {
    for server in ["ftp://x", "limen.example", "http://limen.example"] {
        assert!(server.parse::<ServerUrl>().is_err(), "{server}");
    }
    let server: ServerUrl = "https://limen.example".parse().expect("valid");
    for token in ["", "a b", "a\u{7}b"] {
        let refused = Submitter::new(
            &server,
            token,
            RetryPolicy::default(),
            &TrustedRoots::public(),
        );
        assert!(
            matches!(refused, Err(SubmitError::InvalidToken)),
            "{token:?}"
        );
    }
}

#[test]
fn an_https_server_is_trusted_through_its_private_ca_and_no_other() {
    let ca = PrivateCa::new("Limen test CA");
    let receiver = Receiver::start_tls(200, MATCHED, ca.issue_for_loopback().server_config());
    let server: ServerUrl = receiver.url().parse().expect("an https URL");
    let ca_file = std::env::temp_dir().join(format!("limen-agent-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, ca.pem()).expect("write the CA file");
    let roots = TrustedRoots::from_pem_file(&ca_file).expect("a CA file");
    std::fs::remove_file(&ca_file).expect("clean up");
    let crop = face_crop();

    let submitter = Submitter::new(
        &server,
        TOKEN,
        quick_policy(0, Duration::from_secs(600)),
        &roots,
    )
    .expect("submitter");
    let outcome = submitter
        .submit(&crop, Instant::now(), &mut no_retries_expected)
        .expect("submit");
    assert!(
        matches!(&outcome, SubmitOutcome::Answered(a) if a.decision == Decision::Matched),
        "{outcome:?}"
    );
    assert_eq!(receiver.received().len(), 1);

    // The public roots, or another private CA, do not vouch for this
    // server: the agent stops at once and sends nothing.
    let other_ca =
        TrustedRoots::from_pem(PrivateCa::new("Another CA").pem().as_bytes()).expect("a CA");
    for roots in [TrustedRoots::public(), other_ca] {
        let submitter = Submitter::new(
            &server,
            TOKEN,
            quick_policy(3, Duration::from_secs(600)),
            &roots,
        )
        .expect("submitter");
        let refused = submitter.submit(&crop, Instant::now(), &mut no_retries_expected);
        let Err(SubmitError::Tls(why)) = refused else {
            panic!("not a TLS error: {refused:?}");
        };
        assert!(why.contains("certificate"), "{why}");
    }
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn a_ca_file_without_a_certificate_is_refused() {
    let key_only = rcgen::KeyPair::generate().expect("key").serialize_pem();
    for pem in ["", "not PEM at all", key_only.as_str()] {
        let refused = TrustedRoots::from_pem(pem.as_bytes());
        assert!(
            matches!(refused, Err(CaCertError::NoCertificate)),
            "{pem:?}: {refused:?}"
        );
    }
    let missing = TrustedRoots::from_pem_file(std::path::Path::new("/nonexistent/ca.pem"));
    assert!(matches!(missing, Err(CaCertError::Io(_))));
}
