//! `limen agent` as an operator runs it: an LFW entrance scene from a `dir:`
//! source, sent to a receiver on loopback; with `--osdp-*`, wired as a reader
//! to a real OSDP control panel on a pseudo-terminal.

#[path = "common/osdp_panel.rs"]
mod osdp_panel;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "dev-token-5d1e";
const HANDOVER: &str = "0123456789abcdef0123456789abcdef";
const MATCHED_4711: &str = r#"{"decision":"matched","acs_id":"4711","latency_ms":3,"handover":{"id":"0123456789abcdef0123456789abcdef","within_ms":5000}}"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Authorization header and body of each frame sent.
type Requests = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
/// The paths of the handovers ended, with when.
type HandoverEnds = Arc<Mutex<Vec<(String, Instant)>>>;

/// A Limen server as far as the agent can tell: answers the n-th frame with
/// the n-th of `answers` (the last one repeating) and keeps the frames;
/// answers each handover's end with 204 and keeps its path.
fn receiver(answers: &'static [&'static str]) -> (String, Requests, HandoverEnds) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let ends = Arc::new(Mutex::new(Vec::new()));
    let (frames_log, ends_log) = (Arc::clone(&bodies), Arc::clone(&ends));
    std::thread::spawn(move || {
        let mut frames = 0;
        for conn in listener.incoming().take(16) {
            let Ok(mut conn) = conn else { continue };
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let (mut length, mut auth, mut line) = (0, String::new(), String::new());
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("authorization")
                {
                    auth = value.trim().to_owned();
                }
            }
            // A heartbeat (the agent has sent nothing for a while) is no
            // frame.
            if request_line.starts_with("POST /api/v1/heartbeat ") {
                let _ = write!(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                continue;
            }
            if let Some(path) = request_line.strip_prefix("DELETE ") {
                let path = path.split(' ').next().unwrap_or_default().to_owned();
                ends_log.lock().expect("log").push((path, Instant::now()));
                let _ = write!(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                continue;
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                frames_log.lock().expect("log").push((auth, body));
            }
            let answer = answers[frames.min(answers.len() - 1)];
            frames += 1;
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, bodies, ends)
}

#[test]
fn the_agent_sends_one_face_crop_per_passage_and_writes_nothing() {
    let (url, bodies, _) = receiver(&[MATCHED_4711]);
    // An empty working and temp folder: the agent must leave them empty.
    let scratch = std::env::temp_dir().join(format!("limen-agent-cli-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch");
    let frames = workspace().join("crates/agent/tests/fixtures/lfw");
    let output = Command::new(env!("CARGO_BIN_EXE_limen"))
        .args(["agent", "--server", &url, "--source"])
        .arg(format!("dir:{}", frames.display()))
        .args(["--models"])
        .arg(workspace().join("models"))
        .args(["--frame-interval-ms", "1000", "--cooldown-ms", "60000"])
        .env("LIMEN_DEVICE_TOKEN", TOKEN)
        .env("TMPDIR", &scratch)
        .current_dir(&scratch)
        .output()
        .expect("run limen agent");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let bodies = bodies.lock().expect("log").clone();
    assert_eq!(bodies.len(), 2, "{stdout}\n{stderr}");
    for (auth, body) in &bodies {
        assert_eq!(auth, &format!("Bearer {TOKEN}"));
        let crop = limen_face::decode(body).expect("a JPEG");
        assert!(crop.width() < 250 && crop.height() < 250, "{crop:?}");
    }
    assert!(stdout.contains("frame 0: matched"), "{stdout}");
    assert!(
        stderr.contains("source ended after 6 frames; 2 face crops answered, 0 dropped"),
        "{stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(TOKEN) && !text.contains("4711"), "{text}");
    }
    let left_behind: Vec<_> = std::fs::read_dir(&scratch).expect("scratch").collect();
    assert!(left_behind.is_empty(), "{left_behind:?}");
    std::fs::remove_dir(&scratch).expect("clean up");
}

#[test]
fn bad_arguments_are_refused_without_echoing_secrets() {
    let refused = |server: &str, source: &str, extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_limen"))
            .args(["agent", "--server", server, "--token", TOKEN])
            .args(["--source", source])
            .args(extra)
            .output()
            .expect("run limen agent");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            !stderr.contains("hunter2") && !stderr.contains(TOKEN),
            "{stderr}"
        );
        stderr
    };
    let camera = "rtsp://admin:hunter2@camera/stream";
    let stderr = refused(
        "http://127.0.0.1:9",
        "mjpeg:ftp://admin:hunter2@camera/video",
        &[],
    );
    assert!(stderr.contains("http:// or https://"), "{stderr}");
    // The server's answers carry access-system ids: plain http:// only on
    // this machine.
    for server in ["http://limen.example.com", "http://192.0.2.10:8080"] {
        let stderr = refused(server, camera, &[]);
        assert!(stderr.contains("use https://"), "{stderr}");
    }
    let stderr = refused(
        "https://limen.example.com",
        camera,
        &["--ca-cert", "/nonexistent/ca.pem"],
    );
    assert!(stderr.contains("--ca-cert /nonexistent/ca.pem"), "{stderr}");
}

const SCBK: &str = "6c696d656e2d6167656e742d73636b21";
const OSDP_ADDRESS: u8 = 5;

fn scbk_bytes() -> [u8; 16] {
    let mut key = [0u8; 16];
    for (byte, pair) in key.iter_mut().zip(SCBK.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).expect("ASCII");
        *byte = u8::from_str_radix(pair, 16).expect("hex");
    }
    key
}

/// Runs the agent on the LFW entrance scene (two passages) against the
/// receiver, as the reader of `panel`; returns (stdout, stderr).
fn run_agent_with_panel(url: &str, panel: &mut osdp_panel::ControlPanel) -> (String, String) {
    let frames = workspace().join("crates/agent/tests/fixtures/lfw");
    let mut agent = Command::new(env!("CARGO_BIN_EXE_limen"));
    agent
        .args(["agent", "--server", url, "--source"])
        .arg(format!("dir:{}", frames.display()))
        .args(["--models"])
        .arg(workspace().join("models"))
        .args(["--frame-interval-ms", "1000", "--cooldown-ms", "60000"])
        .arg("--osdp-device")
        .arg(panel.reader_device())
        .args(["--osdp-address", &OSDP_ADDRESS.to_string()])
        .args(["--osdp-card-format", "wiegand26:18"])
        .env("LIMEN_DEVICE_TOKEN", TOKEN)
        .env("LIMEN_OSDP_SCBK", SCBK);
    let run = panel.run_agent(&mut agent);
    assert!(run.status.success(), "{}\n{}", run.stdout, run.stderr);
    (run.stdout, run.stderr)
}

#[test]
fn a_matched_person_is_a_card_read_the_panel_decides_on() {
    // FC 18, card 4711 = 1 00010010 0001001001100111 1 (worked out by hand).
    let card_4711 = vec![0b1000_1001, 0b0000_1001, 0b0011_0011, 0b1100_0000];
    // The first passage is matched as 4711; the second as an id too large
    // for a 26-bit card's 16-bit number.
    let (url, _, ends) = receiver(&[
        MATCHED_4711,
        r#"{"decision":"matched","acs_id":"70000","latency_ms":3,"handover":{"id":"fedcba9876543210fedcba9876543210","within_ms":5000}}"#,
    ]);
    // A panel that takes a moment to decide, as one asking its access
    // system does.
    let mut panel =
        osdp_panel::ControlPanel::new(OSDP_ADDRESS, scbk_bytes(), vec![card_4711.clone()])
            .answering_after(Duration::from_millis(300));
    let (stdout, stderr) = run_agent_with_panel(&url, &mut panel);

    assert!(
        stderr.contains("secure channel with the access panel is up; card format wiegand26:18"),
        "{stderr}"
    );
    let card = panel
        .next_card_read(Duration::from_secs(5))
        .expect("the panel received a card read");
    assert_eq!((card.nr_bits, &card.data), (26, &card_4711));
    assert_eq!(card.format, libosdp::OsdpCardFormats::Wiegand);
    assert!(
        stdout.contains("frame 0: matched") && stdout.contains("frame 0: the access panel granted"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the ACS id does not fit card format wiegand26:18; nothing was sent"),
        "{stderr}"
    );
    assert!(
        panel.next_card_read(Duration::from_millis(500)).is_none(),
        "an id that does not fit the card format reached the panel"
    );
    for text in [&stdout, &stderr] {
        for secret in [TOKEN, SCBK, "4711", "70000"] {
            assert!(!text.contains(secret), "{secret} in: {text}");
        }
    }
    // Each match let go once its card read was over, sent or not: the
    // first only after the panel had answered.
    let ends = ends.lock().expect("log").clone();
    let paths: Vec<&str> = ends.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            format!("/api/v1/handovers/{HANDOVER}").as_str(),
            "/api/v1/handovers/fedcba9876543210fedcba9876543210"
        ]
    );
    let answered = panel
        .next_answer(Duration::from_secs(1))
        .expect("the panel answered");
    assert!(
        ends[0].1 > answered,
        "the handover ended before the panel answered"
    );
}

#[test]
fn a_match_the_server_no_longer_holds_reaches_no_panel() {
    // Held for less than a panel needs to answer: by the time the card read
    // could be answered, a withdrawal may have been.
    let (url, _, ends) = receiver(&[
        r#"{"decision":"matched","acs_id":"4711","latency_ms":3,"handover":{"id":"0123456789abcdef0123456789abcdef","within_ms":150}}"#,
        // Without a handover the server holds nothing.
        r#"{"decision":"matched","acs_id":"4711","latency_ms":3}"#,
    ]);
    let card_4711 = vec![0b1000_1001, 0b0000_1001, 0b0011_0011, 0b1100_0000];
    let mut panel = osdp_panel::ControlPanel::new(OSDP_ADDRESS, scbk_bytes(), vec![card_4711]);
    let (stdout, stderr) = run_agent_with_panel(&url, &mut panel);
    assert!(stdout.contains("frame 0: matched"), "{stdout}");
    assert_eq!(
        stderr
            .matches("the server no longer holds this match; nothing was sent")
            .count(),
        2,
        "{stderr}"
    );
    assert!(
        panel.next_card_read(Duration::from_secs(2)).is_none(),
        "a card read reached the panel after the server let go"
    );
    let ends = ends.lock().expect("log").clone();
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0].0, format!("/api/v1/handovers/{HANDOVER}"));
}

#[test]
fn the_panels_denial_is_the_outcome() {
    let (url, _, _) = receiver(&[MATCHED_4711]);
    // A panel that knows no card.
    let mut panel = osdp_panel::ControlPanel::new(OSDP_ADDRESS, scbk_bytes(), Vec::new());
    let (stdout, _) = run_agent_with_panel(&url, &mut panel);
    assert!(panel.next_card_read(Duration::from_secs(5)).is_some());
    assert!(panel.next_card_read(Duration::from_secs(5)).is_some());
    assert_eq!(
        stdout.matches("the access panel denied").count(),
        2,
        "{stdout}"
    );
    assert!(!stdout.contains("granted"), "{stdout}");
}

#[test]
fn osdp_settings_are_checked_without_echoing_the_key() {
    let agent = |extra: &[&str], scbk: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_limen"));
        command
            .args([
                "agent",
                "--server",
                "http://127.0.0.1:9",
                "--source",
                "dir:/nonexistent",
            ])
            .args(extra)
            .env("LIMEN_DEVICE_TOKEN", TOKEN)
            .env_remove("LIMEN_OSDP_SCBK");
        if let Some(scbk) = scbk {
            command.env("LIMEN_OSDP_SCBK", scbk);
        }
        let output = command.output().expect("run limen agent");
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    // A device without its address and key.
    let stderr = agent(&["--osdp-device", "/dev/null"], None);
    assert!(
        stderr.contains("--osdp-address") && stderr.contains("--osdp-scbk"),
        "{stderr}"
    );
    // An address without a device.
    let stderr = agent(&["--osdp-address", "3"], None);
    assert!(stderr.contains("--osdp-device"), "{stderr}");
    let stderr = agent(
        &["--osdp-device", "/dev/null", "--osdp-address", "127"],
        Some(SCBK),
    );
    assert!(stderr.contains("127"), "{stderr}");
    let malformed = "6c696d656e2d6167656e742d73636b2";
    let stderr = agent(
        &["--osdp-device", "/dev/null", "--osdp-address", "3"],
        Some(malformed),
    );
    assert!(stderr.contains("32 hexadecimal digits"), "{stderr}");
    assert!(!stderr.contains(malformed), "{stderr}");
    let stderr = agent(
        &[
            "--osdp-device",
            "/dev/null",
            "--osdp-address",
            "3",
            "--osdp-scbk",
            malformed,
        ],
        None,
    );
    assert!(!stderr.contains(malformed), "{stderr}");
}

/// Runs the agent, with `extra` arguments, on a folder holding one of
/// upstream's liveness samples; returns how many face crops reached the
/// server, and the agent's stderr.
fn crops_sent_of_sample(sample: &str, extra: &[&str]) -> (usize, String) {
    let (url, bodies, _) = receiver(&[r#"{"decision":"unknown","latency_ms":3}"#]);
    let scene = std::env::temp_dir().join(format!(
        "limen-agent-liveness-{}-{sample}",
        std::process::id()
    ));
    std::fs::create_dir_all(&scene).expect("scene");
    std::fs::copy(
        workspace()
            .join("crates/face/tests/fixtures/liveness")
            .join(sample),
        scene.join(sample),
    )
    .expect("sample");
    let output = Command::new(env!("CARGO_BIN_EXE_limen"))
        .args(["agent", "--server", &url, "--source"])
        .arg(format!("dir:{}", scene.display()))
        .args(["--models"])
        .arg(workspace().join("models"))
        .args(extra)
        .env("LIMEN_DEVICE_TOKEN", TOKEN)
        .output()
        .expect("run limen agent");
    std::fs::remove_dir_all(&scene).expect("clean up");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let sent = bodies.lock().expect("log").len();
    (sent, stderr)
}

#[test]
fn the_local_liveness_check_keeps_a_photo_from_being_sent() {
    // Without the check, the photo of a face is sent like any face.
    let (sent, _) = crops_sent_of_sample("sample-image_F1.jpg", &[]);
    assert_eq!(sent, 1);
    let (sent, stderr) = crops_sent_of_sample("sample-image_F1.jpg", &["--check-liveness"]);
    assert_eq!(sent, 0, "{stderr}");
    assert!(stderr.contains("local liveness check"), "{stderr}");
    let (sent, stderr) = crops_sent_of_sample("sample-image_T1.jpg", &["--check-liveness"]);
    assert_eq!(sent, 1, "the live person is sent: {stderr}");
}
