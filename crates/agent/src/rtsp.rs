//! An IP camera's H.264 stream over RTSP, decoded in-process.
//!
//! RTSP and RTP come from `retina` (a client written for IP cameras and
//! their quirks, with Basic and Digest authentication), RTP over the RTSP
//! connection itself (interleaved TCP), which passes firewalls and loses no
//! packets. H.264 is decoded by Cisco's OpenH264 (the `openh264` crate,
//! built from its bundled source): Constrained Baseline, Main and High
//! profile progressive streams, which is what IP cameras send.
//!
//! Every access unit has to be decoded, since each frame builds on the
//! ones before, so the decoder runs on the capture thread at the camera's
//! frame rate; a camera's smaller sub-stream (around 720p) is the better
//! source for the agent. The access units and the converted pictures are
//! held in memory only and zeroised when dropped; the libraries' own receive
//! and reference buffers are in memory only too, but not wiped.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use limen_face::RgbImage;
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use retina::client::{
    Demuxed, PlayOptions, Session, SessionGroup, SessionOptions, SetupOptions, Transport,
};
use retina::codec::{CodecItem, FrameFormat};
use tokio::runtime::Runtime;
use zeroize::Zeroizing;

use crate::camera_url::CameraUrl;
use crate::source::{CAMERA_READ_TIMEOUT, SourceError};

/// A 4K camera's main stream is the largest picture accepted: more is a
/// broken or hostile stream, not a door camera.
const MAX_FRAME_PIXELS: usize = 3840 * 2160;
/// How long closing waits for the camera to acknowledge the end of the
/// session.
const TEARDOWN_WAIT: Duration = Duration::from_secs(2);

pub struct RtspFrames {
    /// RTSP runs on tokio; one thread of it suffices for one camera.
    runtime: Runtime,
    /// `None` only while closing.
    session: Option<Demuxed>,
    /// Tracks the session's TEARDOWN when it is closed.
    sessions: Arc<SessionGroup>,
    video_stream: usize,
    decoder: Decoder,
}

impl RtspFrames {
    /// Connects (authenticating as the camera asks), picks its H.264 video
    /// stream and starts playing it.
    pub fn open(url: &CameraUrl) -> Result<RtspFrames, SourceError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let credentials = url.credentials().map(|c| retina::client::Credentials {
            username: c.username.to_string(),
            password: c.password.to_string(),
        });
        let sessions = Arc::new(SessionGroup::default());
        let options = SessionOptions::default()
            .session_group(Arc::clone(&sessions))
            .creds(credentials)
            .user_agent(format!("limen-agent/{}", env!("CARGO_PKG_VERSION")));
        let (session, video_stream) = runtime.block_on(async {
            let connect = async {
                let mut described = Session::describe(url.url().clone(), options).await?;
                let Some(video_stream) = described
                    .streams()
                    .iter()
                    .position(|s| s.media() == "video" && s.encoding_name() == "h264")
                else {
                    return Ok(Err(described
                        .streams()
                        .iter()
                        .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
                        .collect::<Vec<_>>()));
                };
                described
                    .setup(
                        video_stream,
                        SetupOptions::default()
                            .transport(Transport::Tcp(Default::default()))
                            // Annex B, with the parameter sets before every
                            // key frame: what the decoder reads.
                            .frame_format(FrameFormat::SIMPLE),
                    )
                    .await?;
                let playing = described.play(PlayOptions::default()).await?;
                Ok::<_, retina::Error>(Ok((playing.demuxed()?, video_stream)))
            };
            match tokio::time::timeout(CAMERA_READ_TIMEOUT, connect).await {
                Err(_) => Err(SourceError::Protocol(
                    "the camera did not set up the stream in time".into(),
                )),
                Ok(Err(e)) => Err(rtsp_error(&e)),
                Ok(Ok(Err(offered))) => Err(SourceError::Protocol(format!(
                    "the camera offers no H.264 video stream (it offers {offered:?})"
                ))),
                Ok(Ok(Ok(playing))) => Ok(playing),
            }
        })?;
        let decoder =
            Decoder::new().map_err(|e| SourceError::Protocol(format!("H.264 decoder: {e}")))?;
        Ok(RtspFrames {
            runtime,
            session: Some(session),
            sessions,
            video_stream,
            decoder,
        })
    }

    /// The next decoded picture; `Ok(None)` when the camera ends the stream.
    pub fn next_picture(&mut self) -> Result<Option<RgbImage>, SourceError> {
        let Some(session) = self.session.as_mut() else {
            return Ok(None);
        };
        loop {
            // The timer needs the runtime: it is made inside.
            let item = self
                .runtime
                .block_on(async { tokio::time::timeout(CAMERA_READ_TIMEOUT, session.next()).await })
                .map_err(|_| {
                    SourceError::Protocol(format!(
                        "the camera sent nothing for {} s",
                        CAMERA_READ_TIMEOUT.as_secs()
                    ))
                })?;
            let frame = match item {
                None => return Ok(None),
                Some(Err(e)) => return Err(rtsp_error(&e)),
                Some(Ok(CodecItem::VideoFrame(frame)))
                    if frame.stream_id() == self.video_stream =>
                {
                    frame
                }
                Some(Ok(_)) => continue,
            };
            let access_unit = Zeroizing::new(frame.into_data());
            let decoded = self
                .decoder
                .decode(&access_unit)
                .map_err(|e| SourceError::BadFrame(format!("undecodable H.264 frame: {e}")))?;
            // The decoder may hold a picture back until it has the next one.
            let Some(yuv) = decoded else { continue };
            let (width, height) = yuv.dimensions();
            if width * height > MAX_FRAME_PIXELS {
                return Err(SourceError::BadFrame(format!(
                    "frame of {width}×{height} pixels is larger than a door camera's"
                )));
            }
            let mut rgb = vec![0; width * height * 3];
            yuv.write_rgb8(&mut rgb);
            let image = RgbImage::from_raw(width, height, rgb)
                .ok_or_else(|| SourceError::BadFrame("decoded frame of the wrong size".into()))?;
            return Ok(Some(image));
        }
    }
}

impl Drop for RtspFrames {
    /// Ends the session with a TEARDOWN, which retina sends from a task of
    /// the runtime: a camera serving only a few sessions at once then has
    /// one free for the agent's next start.
    fn drop(&mut self) {
        let _context = self.runtime.enter();
        drop(self.session.take());
        let _ = self.runtime.block_on(async {
            tokio::time::timeout(TEARDOWN_WAIT, self.sessions.await_teardown()).await
        });
    }
}

/// Retina's message, which names the URL (without credentials) and the
/// step that failed.
fn rtsp_error(error: &retina::Error) -> SourceError {
    SourceError::Protocol(format!("RTSP: {error}"))
}
