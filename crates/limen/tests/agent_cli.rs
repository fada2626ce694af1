//! `limen agent` as an operator runs it: an LFW entrance scene from a `dir:`
//! source, sent to a receiver on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "dev-token-5d1e";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Authorization header and body of each request.
type Requests = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Answers every request with a `matched` decision and keeps the requests.
fn receiver() -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for conn in listener.incoming().take(16) {
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
            let answer = r#"{"decision":"matched","acs_id":"4711","latency_ms":3}"#;
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
    let (url, bodies) = receiver();
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
    let output = Command::new(env!("CARGO_BIN_EXE_limen"))
        .args(["agent", "--server", "http://127.0.0.1:9", "--token", TOKEN])
        .args(["--source", "mjpeg:https://admin:hunter2@camera/video"])
        .output()
        .expect("run limen agent");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("http://"), "{stderr}");
    assert!(
        !stderr.contains("hunter2") && !stderr.contains(TOKEN),
        "{stderr}"
    );
}
