//! Where frames come from: a folder of pictures, a recorded MJPEG file, an IP
//! camera's MJPEG stream over HTTP(S) or H.264 stream over RTSP, or a V4L2
//! camera.
//!
//! Frames, encoded or decoded, are held in zeroising buffers. Nothing here
//! writes anywhere (P1).

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use limen_face::{DecodeError, RgbImage};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::camera_url::{CameraScheme, CameraUrl};
use crate::http_camera::{MjpegStream, open_mjpeg_stream};
use crate::jpeg::{JpegStream, MAX_FRAME_BYTES};
use crate::mjpg::with_standard_huffman_tables;
use crate::rtsp::RtspFrames;
use crate::tls::TrustedRoots;

/// How long a camera may stay silent before its stream counts as lost.
pub(crate) const CAMERA_READ_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// `mjpeg:http(s)://…`: an IP camera's `multipart/x-mixed-replace` stream.
    Mjpeg(CameraUrl),
    /// `rtsp://…`: an IP camera's H.264 stream.
    Rtsp(CameraUrl),
    /// `v4l2:/dev/videoN`: a Linux camera delivering MJPEG.
    V4l2(PathBuf),
}

impl FromStr for SourceSpec {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<Self, SourceError> {
        if s.starts_with("rtsp://") {
            return Ok(SourceSpec::Rtsp(CameraUrl::parse(s, CameraScheme::Rtsp)?));
        }
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            SourceError::InvalidSpec(
                "expected dir:PATH, file:PATH, mjpeg:URL, rtsp://URL or v4l2:DEVICE".into(),
            )
        })?;
        if rest.is_empty() {
            return Err(SourceError::InvalidSpec(format!("{kind}: needs a value")));
        }
        match kind {
            "dir" => Ok(SourceSpec::Dir(rest.into())),
            "file" => Ok(SourceSpec::File(rest.into())),
            "mjpeg" => Ok(SourceSpec::Mjpeg(CameraUrl::parse(
                rest,
                CameraScheme::Http,
            )?)),
            "v4l2" => Ok(SourceSpec::V4l2(rest.into())),
            other => Err(SourceError::InvalidSpec(format!(
                "unknown source kind {other:?} (dir, file, mjpeg, rtsp or v4l2)"
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
            SourceSpec::Rtsp(url) => write!(f, "{url}"),
            SourceSpec::V4l2(p) => write!(f, "v4l2:{}", p.display()),
        }
    }
}

impl fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One frame as a source delivers it: encoded (JPEG or PNG), or already
/// decoded (a video stream's picture).
pub enum Picture {
    Encoded(Zeroizing<Vec<u8>>),
    Decoded(RgbImage),
}

impl Picture {
    /// The frame's pixels, decoding it in memory if need be.
    pub fn into_image(self) -> Result<RgbImage, DecodeError> {
        match self {
            Picture::Encoded(bytes) => limen_face::decode(&bytes),
            Picture::Decoded(image) => Ok(image),
        }
    }
}

/// An open source of frames.
pub enum FrameSource {
    Dir(DirFrames),
    File(JpegStream<File>),
    Mjpeg(MjpegStream),
    Rtsp(Box<RtspFrames>),
    #[cfg(target_os = "linux")]
    V4l2(crate::v4l2::V4l2Frames),
}

impl FrameSource {
    /// Opens the source; `roots` are the authorities an `https://` camera's
    /// certificate must chain to.
    pub fn open(spec: &SourceSpec, roots: &TrustedRoots) -> Result<FrameSource, SourceError> {
        match spec {
            SourceSpec::Dir(path) => Ok(FrameSource::Dir(DirFrames::open(path)?)),
            SourceSpec::File(path) => Ok(FrameSource::File(JpegStream::new(File::open(path)?))),
            SourceSpec::Mjpeg(url) => Ok(FrameSource::Mjpeg(open_mjpeg_stream(url, roots)?)),
            SourceSpec::Rtsp(url) => Ok(FrameSource::Rtsp(Box::new(RtspFrames::open(url)?))),
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
            FrameSource::Mjpeg(_) | FrameSource::Rtsp(_) => true,
            #[cfg(target_os = "linux")]
            FrameSource::V4l2(_) => true,
        }
    }

    /// The next frame; `Ok(None)` when the source has ended.
    pub fn next_frame(&mut self) -> Result<Option<Picture>, SourceError> {
        let encoded = match self {
            FrameSource::Dir(d) => d.next_frame(),
            FrameSource::File(f) => f.next_frame(),
            FrameSource::Mjpeg(m) => m.next_frame(),
            FrameSource::Rtsp(r) => return Ok(r.next_picture()?.map(Picture::Decoded)),
            #[cfg(target_os = "linux")]
            FrameSource::V4l2(v) => v.next_frame(),
        }?;
        // Webcam frames (and recordings of them) may lack Huffman tables.
        Ok(encoded.map(|bytes| Picture::Encoded(with_standard_huffman_tables(bytes))))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jpeg::tests::sample_jpeg;

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
        for (text, shown) in [
            (
                "mjpeg:http://admin:hunter2@10.1.2.3:8080/video.mjpg",
                "mjpeg:http://***@10.1.2.3:8080/video.mjpg",
            ),
            (
                "mjpeg:https://admin:hunter2@cam.local/video.mjpg",
                "mjpeg:https://***@cam.local/video.mjpg",
            ),
            (
                "rtsp://admin:hunter2@10.1.2.3:554/Streaming/Channels/102",
                "rtsp://***@10.1.2.3:554/Streaming/Channels/102",
            ),
        ] {
            let spec: SourceSpec = text.parse().expect("valid");
            assert_eq!(spec.to_string(), shown);
            assert!(!format!("{spec:?}").contains("hunter2"));
        }
        for bad in [
            "frames",
            "dir:",
            "rtsp:x",
            "mjpeg:rtsp://cam/",
            "mjpeg:ftp://cam/",
            "mjpeg:http://cam:99999/",
            "mjpeg:http://",
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
}
