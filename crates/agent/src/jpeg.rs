//! Finding where one JPEG ends: the building block of both MJPEG sources.
//!
//! A JPEG is walked marker by marker rather than searched for its end marker,
//! because an EXIF thumbnail carries a whole JPEG (with its own end marker)
//! inside the first segment.

use std::io::Read;

use zeroize::Zeroizing;

use crate::source::SourceError;

/// The largest single frame accepted from a stream; a camera frame is a few
/// hundred kilobytes, so anything bigger is a broken stream, not a picture.
pub const MAX_FRAME_BYTES: usize = 16 << 20;

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;

/// Why a byte slice is not (yet) one whole JPEG.
#[derive(Debug, PartialEq, Eq)]
pub enum JpegExtentError {
    /// The data stops before the end marker.
    Incomplete,
    /// The structure is broken at this offset.
    Corrupt(&'static str, usize),
}

/// The length of the JPEG at the start of `data`, through its end marker.
pub fn jpeg_extent(data: &[u8]) -> Result<usize, JpegExtentError> {
    use JpegExtentError::{Corrupt, Incomplete};
    if data.len() < 2 {
        return Err(Incomplete);
    }
    if data[0] != 0xFF || data[1] != SOI {
        return Err(Corrupt("no start-of-image marker", 0));
    }
    let mut pos = 2;
    loop {
        let marker_at = pos;
        let Some(&byte) = data.get(pos) else {
            return Err(Incomplete);
        };
        if byte != 0xFF {
            return Err(Corrupt("expected a marker", pos));
        }
        // Any number of 0xFF fill bytes may precede a marker code.
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&code) = data.get(pos) else {
            return Err(Incomplete);
        };
        pos += 1;
        match code {
            EOI => return Ok(pos),
            SOI => return Err(Corrupt("start-of-image inside an image", marker_at)),
            // Markers without a length: TEM and the restart markers.
            0x01 | 0xD0..=0xD7 => continue,
            0x00 => return Err(Corrupt("invalid marker code 0", marker_at)),
            _ => {}
        }
        let (Some(&hi), Some(&lo)) = (data.get(pos), data.get(pos + 1)) else {
            return Err(Incomplete);
        };
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if length < 2 {
            return Err(Corrupt("segment length below 2", marker_at));
        }
        pos += length;
        if pos > data.len() {
            return Err(Incomplete);
        }
        if code == SOS {
            pos = end_of_entropy_data(data, pos).ok_or(Incomplete)?;
        }
    }
}

/// Skips entropy-coded data: it ends at the first 0xFF that is neither a
/// stuffed zero nor a restart marker.
fn end_of_entropy_data(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let ff = pos + memchr(0xFF, &data[pos..])?;
        let next = *data.get(ff + 1)?;
        if next == 0x00 || (0xD0..=0xD7).contains(&next) {
            pos = ff + 2;
        } else {
            return Some(ff);
        }
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Splits a recorded MJPEG (JPEG images one after another) into frames.
/// Bytes that are not a whole JPEG are skipped with an error, and reading goes
/// on at the next start-of-image marker.
pub struct JpegStream<R> {
    reader: R,
    buf: Zeroizing<Vec<u8>>,
    at_eof: bool,
    /// After a damaged frame, the bytes up to the next start marker belong to
    /// it and were already reported.
    resyncing: bool,
    /// Non-JPEG bytes dropped since the last report.
    garbage: usize,
}

impl<R: Read> JpegStream<R> {
    pub fn new(reader: R) -> Self {
        JpegStream {
            reader,
            buf: Zeroizing::new(Vec::new()),
            at_eof: false,
            resyncing: false,
            garbage: 0,
        }
    }

    /// The next whole JPEG; `Ok(None)` at the end of the input.
    pub fn next_frame(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, SourceError> {
        loop {
            let start = find_soi(&self.buf);
            if start.is_none() && self.at_eof {
                self.garbage += self.buf.len();
                self.discard(self.buf.len());
                let garbage = std::mem::take(&mut self.garbage);
                return if garbage > 0 && !std::mem::take(&mut self.resyncing) {
                    Err(SourceError::BadFrame(format!(
                        "{garbage} bytes of non-JPEG data at the end skipped"
                    )))
                } else {
                    Ok(None)
                };
            }
            let Some(start) = start else {
                // Keep the last two bytes: they may begin the next start marker.
                let drop = self.buf.len() - self.buf.len().min(2);
                self.garbage += drop;
                self.discard(drop);
                self.fill()?;
                continue;
            };
            // Garbage dropped in earlier reads counts too, even when the
            // start marker now opens the buffer.
            if start > 0 || self.garbage > 0 {
                self.discard(start);
                let garbage = std::mem::take(&mut self.garbage) + start;
                if !std::mem::take(&mut self.resyncing) {
                    return Err(SourceError::BadFrame(format!(
                        "{garbage} bytes of non-JPEG data skipped"
                    )));
                }
            }
            self.resyncing = false;
            match jpeg_extent(&self.buf) {
                Ok(len) => {
                    let frame = Zeroizing::new(self.buf[..len].to_vec());
                    self.discard(len);
                    return Ok(Some(frame));
                }
                Err(JpegExtentError::Incomplete) if self.buf.len() > MAX_FRAME_BYTES => {
                    self.discard(2);
                    self.resyncing = true;
                    return Err(SourceError::BadFrame(format!(
                        "frame larger than {MAX_FRAME_BYTES} bytes skipped"
                    )));
                }
                Err(JpegExtentError::Incomplete) if self.at_eof => {
                    let len = self.buf.len();
                    self.discard(len);
                    return Err(SourceError::BadFrame(format!(
                        "truncated JPEG at the end ({len} bytes) skipped"
                    )));
                }
                Err(JpegExtentError::Incomplete) => self.fill()?,
                Err(JpegExtentError::Corrupt(why, at)) => {
                    // Resynchronise after this frame's start marker.
                    self.discard(at.max(2));
                    self.resyncing = true;
                    return Err(SourceError::BadFrame(format!(
                        "corrupt JPEG skipped: {why}"
                    )));
                }
            }
        }
    }

    fn fill(&mut self) -> Result<(), SourceError> {
        let old_len = self.buf.len();
        self.buf.resize(old_len + 64 * 1024, 0);
        let read = loop {
            match self.reader.read(&mut self.buf[old_len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old_len);
                    return Err(SourceError::Io(e));
                }
            }
        };
        self.buf.truncate(old_len + read);
        self.at_eof = read == 0;
        Ok(())
    }

    /// Drops the first `n` buffered bytes; the vector's spare capacity is
    /// zeroised with it when the buffer is dropped.
    fn discard(&mut self, n: usize) {
        self.buf.copy_within(n.., 0);
        let len = self.buf.len() - n;
        let tail = &mut self.buf[len..];
        zeroize::Zeroize::zeroize(tail);
        self.buf.truncate(len);
    }
}

fn find_soi(buf: &[u8]) -> Option<usize> {
    buf.windows(3)
        .position(|w| w[0] == 0xFF && w[1] == SOI && w[2] == 0xFF)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A real JPEG made by the encoder the agent uses.
    pub(crate) fn sample_jpeg(width: u32, height: u32, shade: u8) -> Vec<u8> {
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|i| [shade, (i % 251) as u8, shade / 2])
            .collect();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode(&pixels, width, height, image::ExtendedColorType::Rgb8)
            .expect("encode test image");
        out
    }

    fn frames_of(data: &[u8]) -> Vec<Result<Vec<u8>, String>> {
        // A tiny read size exercises frames split across reads.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = out.len().min(self.0.len()).min(7);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut stream = JpegStream::new(Trickle(data));
        let mut out = Vec::new();
        for _ in 0..100 {
            match stream.next_frame() {
                Ok(Some(f)) => out.push(Ok(f.to_vec())),
                Ok(None) => return out,
                Err(e) => out.push(Err(e.to_string())),
            }
        }
        panic!("stream did not end");
    }

    #[test]
    fn extent_of_a_real_jpeg_is_its_length_even_with_an_embedded_thumbnail() {
        let thumb = sample_jpeg(8, 8, 10);
        let main = sample_jpeg(32, 24, 200);
        assert_eq!(jpeg_extent(&main), Ok(main.len()));
        // An APP1 segment holding a whole JPEG, as EXIF thumbnails do.
        let mut with_thumb = main[..2].to_vec();
        with_thumb.extend_from_slice(&[0xFF, 0xE1]);
        with_thumb.extend_from_slice(
            &u16::try_from(thumb.len() + 2)
                .expect("small thumbnail")
                .to_be_bytes(),
        );
        with_thumb.extend_from_slice(&thumb);
        with_thumb.extend_from_slice(&main[2..]);
        assert_eq!(jpeg_extent(&with_thumb), Ok(with_thumb.len()));
        assert_eq!(
            jpeg_extent(&with_thumb[..with_thumb.len() - 1]),
            Err(JpegExtentError::Incomplete)
        );
    }

    #[test]
    fn concatenated_frames_split_and_damage_is_skipped_with_errors() {
        let a = sample_jpeg(16, 16, 10);
        let b = sample_jpeg(24, 8, 90);
        let c = sample_jpeg(8, 8, 170);
        let mut data = b"junk".to_vec();
        data.extend_from_slice(&a);
        // A frame cut off in its entropy data, then a whole one. (A cut in
        // the headers can take the next frame down with it: a segment
        // length read from the wrong bytes skips over its start.)
        data.extend_from_slice(&b[..b.len() - 10]);
        data.extend_from_slice(&c);
        data.extend_from_slice(&b);
        // A frame whose first segment marker is invalid.
        let mut broken = a.clone();
        broken[3] = 0x00;
        data.extend_from_slice(&broken);
        data.extend_from_slice(&c[..c.len() - 3]);
        // Enough junk before the first frame to span many reads.
        data.splice(0..0, vec![b'x'; 40]);

        let frames = frames_of(&data);
        let ok: Vec<&Vec<u8>> = frames.iter().filter_map(|f| f.as_ref().ok()).collect();
        let lengths: Vec<usize> = ok.iter().map(|f| f.len()).collect();
        assert!(ok == vec![&a, &c, &b], "frames of lengths {lengths:?}");
        let errors: Vec<&String> = frames.iter().filter_map(|f| f.as_ref().err()).collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("44 bytes of non-JPEG"), "{errors:?}");
        assert!(errors[1].contains("start-of-image inside"), "{errors:?}");
        assert!(errors[2].contains("invalid marker code 0"), "{errors:?}");
        assert!(
            errors[3].contains("truncated JPEG at the end"),
            "{errors:?}"
        );
    }

    #[test]
    fn garbage_is_reported_however_the_reads_split_it_from_the_frame() {
        let a = sample_jpeg(16, 16, 10);
        // Five junk bytes and the start marker's first two fill one 7-byte
        // read: the junk is dropped before the marker is seen whole.
        let mut data = b"xxxxx".to_vec();
        data.extend_from_slice(&a);
        let frames = frames_of(&data);
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert!(
            frames[0]
                .as_ref()
                .is_err_and(|e| e.contains("5 bytes of non-JPEG data skipped")),
            "{:?}",
            frames[0]
        );
        assert!(frames[1].as_ref().ok() == Some(&a), "the frame differs");
    }

    #[test]
    fn empty_input_has_no_frames() {
        assert!(frames_of(&[]).is_empty());
    }
}
