//! An agent as a process watching a live camera: an MJPEG stream on
//! loopback whose scene a test changes as it goes, and the agent's status
//! lines read as they come.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{BIN, Server, fixture};

/// The enrolment photos (support::enrolment_frames) are other pictures of
/// the same person.
pub(crate) const ENROLLED_PERSON_AT_THE_DOOR: &str = "Andre_Agassi_0029.jpg";
pub(crate) const UNENROLLED_PERSON_AT_THE_DOOR: &str = "Abdullah_Gul_0011.jpg";

/// The agent's default limit on a frame's age, in milliseconds.
pub(crate) const MAX_FRAME_AGE_MS: u64 = 2000;

/// What the camera shows.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Scene {
    Enrolled = 1,
    Stranger = 2,
    Nobody = 3,
    /// The camera stops streaming.
    Off = 4,
}

/// A grey picture: the empty entrance.
fn empty_entrance() -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(250, 250, image::Rgb([120, 120, 120]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&picture)
        .expect("encode");
    jpeg
}

/// An IP camera on loopback streaming MJPEG at about 25 frames a second,
/// showing whatever `scene` says; at most two minutes, so a test that goes
/// wrong ends.
pub(crate) fn camera(scene: Arc<AtomicU8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "mjpeg:http://{}/video",
        listener.local_addr().expect("addr")
    );
    let pictures = [
        fixture(ENROLLED_PERSON_AT_THE_DOOR),
        fixture(UNENROLLED_PERSON_AT_THE_DOOR),
        empty_entrance(),
    ];
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut request = BufReader::new(conn.try_clone().expect("clone"));
        let mut line = String::new();
        while request.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let head =
            "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=cam\r\n\r\n";
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let jpeg = match scene.load(Ordering::SeqCst) {
                s if s == Scene::Enrolled as u8 => &pictures[0],
                s if s == Scene::Stranger as u8 => &pictures[1],
                s if s == Scene::Nobody as u8 => &pictures[2],
                _ => return,
            };
            let part = format!(
                "--cam\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                jpeg.len()
            );
            let written = conn
                .write_all(part.as_bytes())
                .and_then(|()| conn.write_all(jpeg))
                .and_then(|()| conn.write_all(b"\r\n"));
            if written.is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(40));
        }
    });
    url
}

/// A line of the agent's status output, and when it was read.
#[derive(Clone)]
pub(crate) struct StatusLine {
    pub(crate) at: Instant,
    pub(crate) text: String,
}

/// The agent as a process, its stdout and stderr read as they come.
pub(crate) struct RunningAgent {
    child: Child,
    lines: Arc<Mutex<Vec<StatusLine>>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl RunningAgent {
    pub(crate) fn start(server: &Server, device_token: &str, source: &str) -> RunningAgent {
        RunningAgent::start_with(server, device_token, source, &[])
    }

    /// As `start`, with more arguments.
    pub(crate) fn start_with(
        server: &Server,
        device_token: &str,
        source: &str,
        more_args: &[&str],
    ) -> RunningAgent {
        let mut child = Command::new(BIN)
            .args(["agent", "--server", &server.url, "--source", source])
            .args(more_args)
            // One passage per person for the whole test.
            .args(["--cooldown-ms", "600000"])
            .args(["--max-frame-age-ms", &MAX_FRAME_AGE_MS.to_string()])
            .env("LIMEN_DEVICE_TOKEN", device_token)
            .env(
                "LIMEN_MODELS_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start limen agent");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let mut readers = Vec::new();
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let lines = Arc::clone(&lines);
            readers.push(thread::spawn(move || {
                for text in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().expect("lines").push(StatusLine {
                        at: Instant::now(),
                        text,
                    });
                }
            }));
        }
        RunningAgent {
            child,
            lines,
            readers,
        }
    }

    pub(crate) fn lines(&self) -> Vec<StatusLine> {
        self.lines.lock().expect("lines").clone()
    }

    pub(crate) fn transcript(&self) -> String {
        self.lines()
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits up to `timeout` for a line read after `since` that contains
    /// `text`; returns when it was read.
    pub(crate) fn wait_for(&self, since: Instant, text: &str, timeout: Duration) -> Instant {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .lines()
                .into_iter()
                .find(|l| l.at >= since && l.text.contains(text))
            {
                return line.at;
            }
            assert!(
                Instant::now() < deadline,
                "the agent never said {text:?}:\n{}",
                self.transcript()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the agent to exit; kills it if it does not within `timeout`.
    pub(crate) fn finish(mut self, timeout: Duration) -> Vec<StatusLine> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // Its output ends with it: the readers have the last lines.
                for reader in std::mem::take(&mut self.readers) {
                    let _ = reader.join();
                }
                return self.lines();
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the agent did not stop with its camera:\n{}",
            self.transcript()
        );
    }
}

impl Drop for RunningAgent {
    /// A test that fails mid-way leaves no agent behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
