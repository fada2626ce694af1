//! Where frames come from: a folder of pictures, a recorded MJPEG file, an IP
//! camera's MJPEG stream over HTTP, or a V4L2 camera.
//!
//! Every source hands out encoded JPEG/PNG bytes held in zeroising buffers.
//! Nothing here writes anywhere (P1).

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::jpeg::{JpegStream, MAX_FRAME_BYTES};
use crate::mjpg::with_standard_huffman_tables;
use crate::multipart::{MultipartStream, boundary_of};

/// How long a camera may stay silent before its stream counts as lost.
const CAMERA_READ_TIMEOUT: Duration = Duration::from_secs(10);
const CAMERA_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_RESPONSE_HEADER_BYTES: usize = 16 * 1024;
/// Damaged-frame reports a live feed keeps while the agent is busy.
const MAX_PENDING_SKIPS: usize = 16;

#[derive(Debug, Error)]
pub enum SourceError {
    /// One frame is unusable; the source goes on.
    #[error("frame skipped: {0}")]
    BadFrame(String),
    #[error("invalid source: {0}")]
    InvalidSpec(String),
    #[error("camera stream: {0}")]
    Protocol(String),
    #[error("reading frames failed: {0}")]
    Io(#[from] io::Error),
}

impl SourceError {
    /// Whether only one frame was lost and reading may go on.
    pub fn is_skippable(&self) -> bool {
        matches!(self, SourceError::BadFrame(_))
    }
}

/// A `--source` argument.
#[derive(Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `dir:PATH`: JPEG/PNG files, in file-name order.
    Dir(PathBuf),
    /// `file:PATH`: a recorded MJPEG (JPEG images back to back).
    File(PathBuf),
    /// `mjpeg:http://…`: an IP camera's `multipart/x-mixed-replace` stream.
    Mjpeg(HttpUrl),
    /// `v4l2:/dev/videoN`: a Linux camera delivering MJPEG.
    V4l2(PathBuf),
}

impl FromStr for SourceSpec {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<Self, SourceError> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            SourceError::InvalidSpec(
                "expected dir:PATH, file:PATH, mjpeg:URL or v4l2:DEVICE".into(),
            )
        })?;
        if rest.is_empty() {
            return Err(SourceError::InvalidSpec(format!("{kind}: needs a value")));
        }
        match kind {
            "dir" => Ok(SourceSpec::Dir(rest.into())),
            "file" => Ok(SourceSpec::File(rest.into())),
            "mjpeg" => Ok(SourceSpec::Mjpeg(rest.parse()?)),
            "v4l2" => Ok(SourceSpec::V4l2(rest.into())),
            other => Err(SourceError::InvalidSpec(format!(
                "unknown source kind {other:?} (dir, file, mjpeg or v4l2)"
            ))),
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Dir(p) => write!(f, "dir:{}", p.display()),
            SourceSpec::File(p) => write!(f, "file:{}", p.display()),
            SourceSpec::Mjpeg(url) => write!(f, "mjpeg:{url}"),
            SourceSpec::V4l2(p) => write!(f, "v4l2:{}", p.display()),
        }
    }
}

impl fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A plain-HTTP URL, as IP cameras serve them. Its credentials never appear
/// in `Display` or `Debug` (P6).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpUrl {
    host: String,
    port: u16,
    path: String,
    credentials: Option<Zeroizing<String>>,
}

impl FromStr for HttpUrl {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<Self, SourceError> {
        let rest = s.strip_prefix("http://").ok_or_else(|| {
            SourceError::InvalidSpec("a camera stream URL must start with http://".into())
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(Zeroizing::new(userinfo.to_owned())), host_port),
            None => (None, authority),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => {
                let port = port.parse().map_err(|_| {
                    SourceError::InvalidSpec("invalid port in the camera URL".into())
                })?;
                (host, port)
            }
            _ => (host_port, 80),
        };
        if host.is_empty()
            || path
                .chars()
                .any(|c| c.is_ascii_whitespace() || c.is_control())
        {
            return Err(SourceError::InvalidSpec("invalid camera URL".into()));
        }
        Ok(HttpUrl {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            credentials,
        })
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = if self.credentials.is_some() {
            "***@"
        } else {
            ""
        };
        write!(f, "http://{hidden}{}:{}{}", self.host, self.port, self.path)
    }
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An open source of encoded frames.
pub enum FrameSource {
    Dir(DirFrames),
    File(JpegStream<File>),
    Mjpeg(MultipartStream<BufReader<TcpStream>>),
    #[cfg(target_os = "linux")]
    V4l2(crate::v4l2::V4l2Frames),
}

impl FrameSource {
    pub fn open(spec: &SourceSpec) -> Result<FrameSource, SourceError> {
        match spec {
            SourceSpec::Dir(path) => Ok(FrameSource::Dir(DirFrames::open(path)?)),
            SourceSpec::File(path) => Ok(FrameSource::File(JpegStream::new(File::open(path)?))),
            SourceSpec::Mjpeg(url) => Ok(FrameSource::Mjpeg(open_mjpeg_stream(url)?)),
            #[cfg(target_os = "linux")]
            SourceSpec::V4l2(device) => {
                Ok(FrameSource::V4l2(crate::v4l2::V4l2Frames::open(device)?))
            }
            #[cfg(not(target_os = "linux"))]
            SourceSpec::V4l2(_) => Err(SourceError::InvalidSpec("V4L2 cameras need Linux".into())),
        }
    }

    /// A camera runs on its own clock and must be drained in real time; a
    /// recording waits for the reader.
    pub fn is_live(&self) -> bool {
        match self {
            FrameSource::Dir(_) | FrameSource::File(_) => false,
            FrameSource::Mjpeg(_) => true,
            #[cfg(target_os = "linux")]
            FrameSource::V4l2(_) => true,
        }
    }

    /// The next encoded frame; `Ok(None)` when the source has ended.
    pub fn next_frame(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, SourceError> {
        let frame = match self {
            FrameSource::Dir(d) => d.next_frame(),
            FrameSource::File(f) => f.next_frame(),
            FrameSource::Mjpeg(m) => m.next_frame(),
            #[cfg(target_os = "linux")]
            FrameSource::V4l2(v) => v.next_frame(),
        }?;
        // Webcam frames (and recordings of them) may lack Huffman tables.
        Ok(frame.map(with_standard_huffman_tables))
    }
}

/// The JPEG and PNG files of a folder, in file-name order.
pub struct DirFrames {
    files: VecDeque<PathBuf>,
}

impl DirFrames {
    pub fn open(dir: &Path) -> Result<DirFrames, SourceError> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let is_picture = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                ["jpg", "jpeg", "png"]
                    .iter()
                    .any(|known| e.eq_ignore_ascii_case(known))
            });
            if is_picture && path.is_file() {
                files.push(path);
            }
        }
        files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        Ok(DirFrames {
            files: files.into(),
        })
    }

    /// The file names still to be read, in order.
    pub fn remaining(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(PathBuf::as_path)
    }

    fn next_frame(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, SourceError> {
        let Some(path) = self.files.pop_front() else {
            return Ok(None);
        };
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let read = || -> io::Result<Zeroizing<Vec<u8>>> {
            let file = File::open(&path)?;
            let len = file.metadata()?.len();
            if len > MAX_FRAME_BYTES as u64 {
                return Err(io::Error::other(format!(
                    "larger than {MAX_FRAME_BYTES} bytes"
                )));
            }
            // Read into a buffer sized up front, so it never reallocates and
            // leaves an unzeroised copy behind.
            let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize + 1));
            file.take(MAX_FRAME_BYTES as u64).read_to_end(&mut bytes)?;
            Ok(bytes)
        };
        read()
            .map(Some)
            .map_err(|e| SourceError::BadFrame(format!("{name}: {e}")))
    }
}

fn open_mjpeg_stream(url: &HttpUrl) -> Result<MultipartStream<BufReader<TcpStream>>, SourceError> {
    let address = (url.host.as_str(), url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| SourceError::Protocol(format!("{} does not resolve", url.host)))?;
    let mut tcp = TcpStream::connect_timeout(&address, CAMERA_CONNECT_TIMEOUT)?;
    tcp.set_read_timeout(Some(CAMERA_READ_TIMEOUT))?;
    // HTTP/1.0 so the camera cannot answer with chunked encoding.
    let mut request = Zeroizing::new(format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nAccept: multipart/x-mixed-replace, */*\r\n",
        url.path, url.host
    ));
    if let Some(userinfo) = &url.credentials {
        let encoded =
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(userinfo.as_bytes()));
        request.push_str(&format!("Authorization: Basic {}\r\n", encoded.as_str()));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes())?;

    let mut reader = BufReader::new(tcp);
    let mut header_bytes = 0;
    let mut line = Vec::new();
    let mut read_line =
        |reader: &mut BufReader<TcpStream>, line: &mut Vec<u8>| -> Result<String, SourceError> {
            line.clear();
            let n = reader
                .by_ref()
                .take((MAX_RESPONSE_HEADER_BYTES - header_bytes) as u64)
                .read_until(b'\n', line)?;
            header_bytes += n;
            if n == 0 || !line.ends_with(b"\n") {
                return Err(SourceError::Protocol(
                    "the camera's response headers are cut off or too long".into(),
                ));
            }
            Ok(String::from_utf8_lossy(line).trim_end().to_owned())
        };
    let status_line = read_line(&mut reader, &mut line)?;
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(SourceError::Protocol(format!(
            "the camera answered HTTP status {status:?}"
        )));
    }
    let mut content_type = None;
    loop {
        let header = read_line(&mut reader, &mut line)?;
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-type")
        {
            content_type = Some(value.trim().to_owned());
        }
    }
    let content_type = content_type.unwrap_or_default();
    let boundary = boundary_of(&content_type).ok_or_else(|| {
        SourceError::Protocol(format!(
            "not an MJPEG stream (Content-Type {content_type:?})"
        ))
    })?;
    Ok(MultipartStream::new(reader, &boundary))
}

/// One encoded frame and when it was read.
pub struct Frame {
    pub jpeg: Zeroizing<Vec<u8>>,
    pub captured_at: Instant,
}

/// Frames as the agent consumes them. A recording is read frame by frame; a
/// camera is drained by a thread that keeps only the newest frame, so a slow
/// or blocked agent (a server outage) never works through a backlog of old
/// frames afterwards.
pub enum Capture {
    Recorded(FrameSource),
    Live(LiveFeed),
}

impl Capture {
    pub fn start(source: FrameSource) -> Capture {
        if source.is_live() {
            Capture::Live(LiveFeed::spawn(source))
        } else {
            Capture::Recorded(source)
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Capture::Live(_))
    }

    /// The next frame, a skippable error, a fatal error, or `None` at the end.
    pub fn next_frame(&mut self) -> Option<Result<Frame, SourceError>> {
        match self {
            Capture::Recorded(source) => source
                .next_frame()
                .map(|frame| {
                    frame.map(|jpeg| Frame {
                        jpeg,
                        captured_at: Instant::now(),
                    })
                })
                .transpose(),
            Capture::Live(feed) => feed.next_frame(),
        }
    }
}

#[derive(Default)]
struct Slot {
    frame: Option<Frame>,
    skipped: VecDeque<SourceError>,
    /// Set when the reading thread has stopped: `Some(error)` if it failed.
    ended: Option<Option<SourceError>>,
    /// Set when the consumer is gone, so the thread stops reading.
    closed: bool,
}

pub struct LiveFeed {
    shared: Arc<(Mutex<Slot>, Condvar)>,
}

impl LiveFeed {
    fn spawn(mut source: FrameSource) -> LiveFeed {
        let shared = Arc::new((Mutex::new(Slot::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        std::thread::spawn(move || {
            let (slot, ready) = &*theirs;
            loop {
                let read = source.next_frame();
                let Ok(mut slot) = slot.lock() else { return };
                if slot.closed {
                    return;
                }
                match read {
                    // Replacing the previous frame drops (zeroises) it.
                    Ok(Some(jpeg)) => {
                        slot.frame = Some(Frame {
                            jpeg,
                            captured_at: Instant::now(),
                        })
                    }
                    Ok(None) => slot.ended = Some(None),
                    Err(e) if e.is_skippable() => {
                        if slot.skipped.len() < MAX_PENDING_SKIPS {
                            slot.skipped.push_back(e);
                        }
                    }
                    Err(e) => slot.ended = Some(Some(e)),
                }
                ready.notify_all();
                if slot.ended.is_some() {
                    return;
                }
            }
        });
        LiveFeed { shared }
    }

    fn next_frame(&mut self) -> Option<Result<Frame, SourceError>> {
        let (slot, ready) = &*self.shared;
        let mut slot = slot.lock().ok()?;
        loop {
            if let Some(e) = slot.skipped.pop_front() {
                return Some(Err(e));
            }
            if let Some(frame) = slot.frame.take() {
                return Some(Ok(frame));
            }
            if let Some(ended) = slot.ended.take() {
                // Leave it marked as ended for any later call.
                slot.ended = Some(None);
                return ended.map(Err);
            }
            slot = ready.wait(slot).ok()?;
        }
    }
}

impl Drop for LiveFeed {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.shared.0.lock() {
            slot.closed = true;
            slot.frame = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jpeg::tests::sample_jpeg;
    use crate::mjpg::tests::without_tables;
    use std::net::TcpListener;

    #[test]
    fn specs_parse_and_never_show_camera_credentials() {
        assert_eq!(
            "dir:/frames".parse::<SourceSpec>().ok(),
            Some(SourceSpec::Dir("/frames".into()))
        );
        assert_eq!(
            "v4l2:/dev/video0".parse::<SourceSpec>().ok(),
            Some(SourceSpec::V4l2("/dev/video0".into()))
        );
        let spec: SourceSpec = "mjpeg:http://admin:hunter2@10.1.2.3:8080/video.mjpg"
            .parse()
            .expect("valid");
        assert_eq!(
            spec.to_string(),
            "mjpeg:http://***@10.1.2.3:8080/video.mjpg"
        );
        assert!(!format!("{spec:?}").contains("hunter2"));
        let SourceSpec::Mjpeg(url) = &spec else {
            panic!("not mjpeg")
        };
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("10.1.2.3", 8080, "/video.mjpg")
        );
        for bad in [
            "frames",
            "dir:",
            "rtsp:x",
            "mjpeg:https://cam/",
            "mjpeg:http://cam:99999/",
            "mjpeg:http:///x",
        ] {
            assert!(bad.parse::<SourceSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn dir_source_reads_pictures_in_file_name_order() {
        let dir = std::env::temp_dir().join(format!("limen-agent-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let names = ["b.JPG", "10.jpg", "2.jpeg", "a.png", "notes.txt", "c.gif"];
        for (i, name) in names.iter().enumerate() {
            std::fs::write(dir.join(name), sample_jpeg(8, 8, i as u8 * 40)).expect("write");
        }
        std::fs::create_dir_all(dir.join("sub.jpg")).expect("subdir");
        let mut frames = DirFrames::open(&dir).expect("open");
        let order: Vec<String> = frames
            .remaining()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(order, ["10.jpg", "2.jpeg", "a.png", "b.JPG"]);
        let first = frames.next_frame().expect("read").expect("a frame");
        assert_eq!(first.as_slice(), sample_jpeg(8, 8, 40).as_slice());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    /// An IP camera on loopback serving `parts` as one MJPEG response.
    fn camera(
        head: &'static str,
        parts: Vec<Vec<u8>>,
    ) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://user:secret@127.0.0.1:{}/stream",
            listener.local_addr().expect("addr").port()
        );
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            conn.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut request = Vec::new();
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("request line");
                request.extend_from_slice(line.as_bytes());
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            conn.write_all(head.as_bytes()).expect("head");
            for part in parts {
                conn.write_all(b"--cam\r\nContent-Type: image/jpeg\r\n\r\n")
                    .expect("part head");
                conn.write_all(&part).expect("part");
                conn.write_all(b"\r\n").expect("part end");
            }
            String::from_utf8(request).expect("ascii request")
        });
        (url, server)
    }

    #[test]
    fn mjpeg_stream_over_http_yields_its_frames_and_skips_damaged_ones() {
        let a = sample_jpeg(16, 16, 10);
        let b = sample_jpeg(16, 8, 200);
        // The last frame as a webcam sends it, without Huffman tables.
        let (c_without_tables, _) = without_tables(&sample_jpeg(24, 16, 90));
        let (url, server) = camera(
            "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=cam\r\n\r\n",
            vec![
                a.clone(),
                b[..b.len() - 30].to_vec(),
                b.clone(),
                c_without_tables,
            ],
        );
        let spec: SourceSpec = format!("mjpeg:{url}").parse().expect("spec");
        let source = FrameSource::open(&spec).expect("open");
        assert!(source.is_live());
        let mut capture = Capture::start(source);
        let mut frames = Vec::new();
        let mut skipped = Vec::new();
        while let Some(item) = capture.next_frame() {
            match item {
                Ok(frame) => frames.push(frame.jpeg.to_vec()),
                Err(e) if e.is_skippable() => skipped.push(e.to_string()),
                Err(e) => panic!("stream failed: {e}"),
            }
            assert!(frames.len() + skipped.len() <= 4, "more items than sent");
        }
        let request = server.join().expect("camera");
        assert!(request.starts_with("GET /stream HTTP/1.0\r\n"), "{request}");
        assert!(
            request.contains("Authorization: Basic dXNlcjpzZWNyZXQ=\r\n"),
            "{request}"
        );
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].contains("truncated"));
        // A live feed keeps only the newest frame, so earlier frames may
        // have been replaced before they were taken; the last always arrives,
        // with its tables put back.
        let last = frames.pop().expect("frames");
        let c = limen_face::decode(&sample_jpeg(24, 16, 90)).expect("decode");
        let arrived = limen_face::decode(&last).expect("the last frame decodes");
        assert!(arrived.as_raw() == c.as_raw(), "the last frame is not c");
        assert!(
            [
                vec![],
                vec![a.clone()],
                vec![b.clone()],
                vec![a.clone(), b.clone()]
            ]
            .contains(&frames),
            "unexpected frames"
        );
    }

    #[test]
    fn a_camera_refusing_the_stream_is_an_error() {
        let (url, server) = camera("HTTP/1.0 401 Unauthorized\r\n\r\n", vec![]);
        let spec: SourceSpec = format!("mjpeg:{url}").parse().expect("spec");
        let err = FrameSource::open(&spec).err().expect("refused");
        assert!(err.to_string().contains("\"401\""), "{err}");
        server.join().expect("camera");

        let (url, server) = camera(
            "HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\n\r\n",
            vec![],
        );
        let spec: SourceSpec = format!("mjpeg:{url}").parse().expect("spec");
        let err = FrameSource::open(&spec).err().expect("not a stream");
        assert!(err.to_string().contains("not an MJPEG stream"), "{err}");
        server.join().expect("camera");
    }
}
