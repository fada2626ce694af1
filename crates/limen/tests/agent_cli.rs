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
use std::time::Duration;

const TOKEN: &str = "dev-token-5d1e";
const MATCHED_4711: &str = r#"{"decision":"matched","acs_id":"4711","latency_ms":3}"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Authorization header and body of each request.
type Requests = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Answers the n-th request with the n-th of `answers` (the last one
/// repeating) and keeps the requests.
fn receiver(answers: &'static [&'static str]) -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for (index, conn) in listener.incoming().take(16).enumerate() {
            let Ok(mut conn) = conn else { continue };
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
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
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                log.lock().expect("log").push((auth, body));
            }
            let answer = answers[index.min(answers.len() - 1)];
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, bodies)
}

#[test]
fn the_agent_sends_one_face_crop_per_passage_and_writes_nothing() {
    let (url, bodies) = receiver(&[MATCHED_4711]);
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
    let (url, _) = receiver(&[
        MATCHED_4711,
        r#"{"decision":"matched","acs_id":"70000","latency_ms":3}"#,
    ]);
    let mut panel =
        osdp_panel::ControlPanel::new(OSDP_ADDRESS, scbk_bytes(), vec![card_4711.clone()]);
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
}

#[test]
fn the_panels_denial_is_the_outcome() {
    let (url, _) = receiver(&[MATCHED_4711]);
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
