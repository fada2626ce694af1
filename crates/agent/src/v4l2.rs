//! A Linux camera through V4L2, captured as MJPEG so frames arrive already
//! encoded and go through the same path as every other source.

use std::path::Path;

use linuxvideo::format::{PixFormat, PixelFormat};
use linuxvideo::stream::ReadStream;
use linuxvideo::{BufType, Device};
use zeroize::Zeroizing;

use crate::jpeg::MAX_FRAME_BYTES;
use crate::source::SourceError;

/// The frame size asked of the camera; the driver picks its nearest. Enough
/// for a face a few metres away, small enough for the detector to keep up.
const REQUESTED_WIDTH: u32 = 1280;
const REQUESTED_HEIGHT: u32 = 720;

pub struct V4l2Frames {
    stream: ReadStream,
}

impl V4l2Frames {
    pub fn open(device: &Path) -> Result<V4l2Frames, SourceError> {
        let device = Device::open(device)?;
        let formats = device
            .formats(BufType::VIDEO_CAPTURE)
            .map(|f| f.map(|f| f.pixel_format()))
            .collect::<Result<Vec<_>, _>>()?;
        let format = [PixelFormat::MJPG, PixelFormat::JPEG]
            .into_iter()
            .find(|f| formats.contains(f))
            .ok_or_else(|| {
                SourceError::Protocol(format!(
                    "the camera offers no MJPEG capture (it offers {formats:?})"
                ))
            })?;
        let capture =
            device.video_capture(PixFormat::new(REQUESTED_WIDTH, REQUESTED_HEIGHT, format))?;
        Ok(V4l2Frames {
            stream: capture.into_stream()?,
        })
    }

    pub fn next_frame(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, SourceError> {
        // The driver's buffer is copied out and handed back at once; it is
        // the kernel's memory, reused for the next frame.
        let copied = self.stream.dequeue(|buf| {
            if buf.is_error() {
                return Ok(Err("the camera marked the frame as damaged"));
            }
            if buf.len() > MAX_FRAME_BYTES {
                return Ok(Err("the frame is implausibly large"));
            }
            Ok(Ok(Zeroizing::new(buf.to_vec())))
        })?;
        copied
            .map(Some)
            .map_err(|why| SourceError::BadFrame(why.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_that_is_not_a_camera_is_an_error() {
        let missing = V4l2Frames::open(Path::new("/nonexistent/video9"));
        assert!(matches!(missing, Err(SourceError::Io(_))));
        // A character device that does not speak V4L2.
        let not_video = V4l2Frames::open(Path::new("/dev/null"));
        assert!(not_video.is_err());
    }
}
