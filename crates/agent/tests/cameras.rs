//! The agent against real camera servers on loopback, both from Debian's
//! packages (scripts/test.sh installs them): GStreamer's RTSP server playing
//! a recorded H.264 clip behind Digest authentication, and lighttpd serving
//! an MJPEG stream over https behind Digest authentication, with a
//! certificate from a private CA.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tls::PrivateCa;
use common::{Receiver, fixture};
use limen_agent::{
    Agent, AgentConfig, AgentError, AgentEvent, Capture, FrameSource, Picture, RetryPolicy,
    SourceSpec, TrustedRoots,
};
use limen_face::{FaceEngine, FaceModel};

const MATCHED: &str = r#"{"decision":"matched","acs_id":"4711","latency_ms":42}"#;
const USER: &str = "limen";
/// With a `:`, which the URL carries percent-encoded.
const PASSWORD: &str = "door:cam-7";
const PASSWORD_IN_URL: &str = "door%3Acam-7";
/// The clip's person (see tests/fixtures/README.md).
const CLIP_PHOTO: &str = "Andre_Agassi_0005.jpg";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Whether a camera server's package is installed: required under CI,
/// skipped with a visible notice elsewhere.
fn installed(what: &str, present: bool) -> bool {
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {what} is missing: run scripts/test.sh"
        );
        eprintln!(
            "NOTICE: {what} is missing, so this test is SKIPPED (scripts/test.sh installs it)"
        );
    }
    present
}

/// A child process that is killed when dropped.
struct Server(Child);

impl Server {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

// ----- RTSP ------------------------------------------------------------------

/// GStreamer's RTSP server with the clip; its port.
fn rtsp_camera() -> Option<(Server, u16)> {
    let python = Path::new("/usr/bin/python3");
    let has_gstreamer = python.exists()
        && Command::new(python)
            .args([
                "-c",
                "import gi; gi.require_version('GstRtspServer', '1.0'); \
                 from gi.repository import GstRtspServer",
            ])
            .status()
            .is_ok_and(|s| s.success());
    if !installed(
        "GStreamer's RTSP server (gir1.2-gst-rtsp-server-1.0)",
        has_gstreamer,
    ) {
        return None;
    }
    let mut child = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/rtsp_camera.py"))
        .arg(fixtures().join("door.mp4"))
        .args([USER, PASSWORD])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the RTSP server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the server prints its port");
    let port = line.trim().parse().expect("a port");
    Some((Server(child), port))
}

#[test]
fn an_rtsp_camera_with_digest_authentication_is_decoded_and_its_passer_by_sent() {
    let Some((camera, port)) = rtsp_camera() else {
        return;
    };
    let engine = FaceEngine::load(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"),
        FaceModel::DEFAULT,
    )
    .expect("models");
    let spec: SourceSpec = format!("rtsp://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{port}/door")
        .parse()
        .expect("spec");
    assert_eq!(
        spec.to_string(),
        format!("rtsp://***@127.0.0.1:{port}/door")
    );
    let source = FrameSource::open(&spec, &TrustedRoots::public()).expect("the camera plays");
    let mut capture = Capture::start(source);
    assert!(capture.is_live());

    let receiver = Receiver::start(200, MATCHED);
    let policy = RetryPolicy {
        max_frame_age: Duration::from_secs(600),
        request_timeout: Duration::from_secs(30),
        ..RetryPolicy::default()
    };
    let mut agent = Agent::new(
        common::submitter(&receiver.url(), "t0k3n", policy),
        AgentConfig {
            cooldown: Duration::from_secs(600),
            ..AgentConfig::default()
        },
    );
    // Once the person is sent, the camera goes away, as it would when
    // unplugged, and the agent's run ends.
    let mut camera = Some(camera);
    let mut events = Vec::new();
    let ended = agent.run(&mut capture, engine.finder(), &mut |e| {
        if matches!(e, AgentEvent::Answered { .. }) {
            camera.take();
        }
        events.push(e.to_string());
    });
    assert!(camera.is_none(), "nothing was sent: {events:?}");
    assert!(
        matches!(ended, Ok(_) | Err(AgentError::Source(_))),
        "{ended:?}"
    );
    let skipped: Vec<&String> = events.iter().filter(|e| e.contains("skipped")).collect();
    assert!(skipped.is_empty(), "{skipped:?}");

    // One crop, of the person in the clip.
    let received = receiver.received();
    assert_eq!(received.len(), 1, "{events:?}");
    let sent = engine.analyze(&received[0].body).expect("a JPEG");
    assert_eq!(sent.len(), 1, "one face in the crop");
    let photo = engine.analyze(&fixture(CLIP_PHOTO)).expect("the photo");
    let distance = sent[0].descriptor.euclidean_distance(&photo[0].descriptor);
    assert!(
        distance < engine.model().same_person_distance,
        "distance {distance}"
    );
}

#[test]
fn an_rtsp_camera_refuses_a_wrong_password_which_no_message_repeats() {
    let Some((_camera, port)) = rtsp_camera() else {
        return;
    };
    for credentials in ["", "limen:not-the-password@"] {
        let spec: SourceSpec = format!("rtsp://{credentials}127.0.0.1:{port}/door")
            .parse()
            .expect("spec");
        let refused = FrameSource::open(&spec, &TrustedRoots::public())
            .err()
            .expect("refused");
        let message = refused.to_string();
        assert!(message.contains("401"), "{message}");
        assert!(!message.contains("not-the-password"), "{message}");
    }
}

// ----- MJPEG over https -----------------------------------------------------------

/// The MJPEG stream the camera serves: these photos as its parts.
const STREAM_PHOTOS: [&str; 3] = [
    "Andre_Agassi_0005.jpg",
    "Anna_Kournikova_0005.jpg",
    "David_Beckham_0001.jpg",
];

/// lighttpd over https with a certificate from `ca`, Digest authentication
/// for everything, serving the stream; its folder and port.
fn https_camera(ca: &PrivateCa) -> Option<(Server, TempDir, u16)> {
    let lighttpd = Path::new("/usr/sbin/lighttpd");
    let present = lighttpd.exists() && Path::new("/usr/lib/lighttpd/mod_openssl.so").exists();
    if !installed("lighttpd with lighttpd-mod-openssl", present) {
        return None;
    }
    let dir = TempDir::new("https-camera");
    let certificate = ca.issue_for_loopback();
    std::fs::write(
        dir.0.join("server.pem"),
        format!("{}{}", certificate.cert_pem, certificate.key_pem),
    )
    .expect("certificate");
    std::fs::write(dir.0.join("users"), format!("{USER}:{PASSWORD}\n")).expect("users");
    std::fs::create_dir(dir.0.join("www")).expect("www");
    let mut stream = Vec::new();
    for name in STREAM_PHOTOS {
        stream.extend_from_slice(b"--cam\r\nContent-Type: image/jpeg\r\n\r\n");
        stream.extend_from_slice(&fixture(name));
        stream.extend_from_slice(b"\r\n");
    }
    stream.extend_from_slice(b"--cam--\r\n");
    std::fs::write(dir.0.join("www/video.mjpeg"), stream).expect("stream");
    // A free port, given to lighttpd, which cannot pick one itself.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let path = |name: &str| dir.0.join(name).display().to_string();
    let config = format!(
        r#"server.document-root = "{www}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{log}"
server.modules = ("mod_auth", "mod_authn_file", "mod_openssl")
mimetype.assign = (".mjpeg" => "multipart/x-mixed-replace;boundary=cam")
auth.backend = "plain"
auth.backend.plain.userfile = "{users}"
auth.require = ("/" => ("method" => "digest", "realm" => "camera", "require" => "valid-user"))
ssl.engine = "enable"
ssl.pemfile = "{pem}"
"#,
        www = path("www"),
        log = path("error.log"),
        users = path("users"),
        pem = path("server.pem"),
    );
    std::fs::write(dir.0.join("lighttpd.conf"), config).expect("config");
    let server = Server(
        Command::new(lighttpd)
            .arg("-D")
            .arg("-f")
            .arg(dir.0.join("lighttpd.conf"))
            .stdout(Stdio::null())
            .spawn()
            .expect("start lighttpd"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "lighttpd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((server, dir, port))
}

#[test]
fn an_https_mjpeg_camera_with_digest_authentication_and_a_private_ca() {
    let ca = PrivateCa::new("Camera CA");
    let Some((_camera, _dir, port)) = https_camera(&ca) else {
        return;
    };
    let trusted = TrustedRoots::from_pem(ca.pem().as_bytes()).expect("the CA");
    let open = |credentials: &str, roots: &TrustedRoots| {
        let spec: SourceSpec = format!("mjpeg:https://{credentials}127.0.0.1:{port}/video.mjpeg")
            .parse()
            .expect("spec");
        FrameSource::open(&spec, roots)
    };

    let mut source = open(&format!("{USER}:{PASSWORD_IN_URL}@"), &trusted).expect("the stream");
    let mut frames = Vec::new();
    while let Some(picture) = source.next_frame().expect("a whole stream") {
        let Picture::Encoded(jpeg) = picture else {
            panic!("an MJPEG stream delivers JPEGs");
        };
        frames.push(jpeg.to_vec());
    }
    let expected: Vec<Vec<u8>> = STREAM_PHOTOS.iter().map(|n| fixture(n)).collect();
    assert!(
        frames == expected,
        "{} frames, not the photos",
        frames.len()
    );

    let refusals = [
        ("", &trusted, "asks for a user name and password"),
        (
            "limen:wrong@",
            &trusted,
            "refused the user name and password",
        ),
        // The public roots do not vouch for a private CA's certificate.
        (
            &*format!("{USER}:{PASSWORD_IN_URL}@"),
            &TrustedRoots::public(),
            "certificate",
        ),
    ];
    for (credentials, roots, expected) in refusals {
        let message = open(credentials, roots).err().expect("refused").to_string();
        assert!(message.contains(expected), "{message}");
        assert!(
            !message.contains(PASSWORD_IN_URL) && !message.contains("wrong"),
            "{message}"
        );
    }
}

/// A folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("limen-agent-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
