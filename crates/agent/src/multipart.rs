//! The body of an IP camera's `multipart/x-mixed-replace` stream: parts
//! separated by `--boundary` lines, each a header block and one JPEG.
//!
//! Cameras differ in details, so the reader is lenient where it costs
//! nothing: the part length comes from the boundary, not `Content-Length`
//! (often wrong or absent), and a missing CRLF before a boundary is accepted.

use std::io::Read;

use zeroize::Zeroizing;

use crate::jpeg::{JpegExtentError, MAX_FRAME_BYTES, jpeg_extent};
use crate::source::SourceError;

const MAX_PART_HEADER_BYTES: usize = 8 * 1024;

pub struct MultipartStream<R> {
    reader: R,
    /// `--` followed by the boundary.
    delimiter: Vec<u8>,
    buf: Zeroizing<Vec<u8>>,
    at_eof: bool,
    /// Whether the first delimiter (after any preamble) has been passed.
    started: bool,
}

impl<R: Read> MultipartStream<R> {
    /// `boundary` as declared in the `Content-Type` header.
    pub fn new(reader: R, boundary: &str) -> Self {
        // Some cameras declare the boundary with its leading dashes.
        let boundary = boundary.strip_prefix("--").unwrap_or(boundary);
        MultipartStream {
            reader,
            delimiter: format!("--{boundary}").into_bytes(),
            buf: Zeroizing::new(Vec::new()),
            at_eof: false,
            started: false,
        }
    }

    /// The next part's JPEG; `Ok(None)` when the stream ends.
    pub fn next_frame(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, SourceError> {
        if !self.started {
            let delimiter = self.delimiter.clone();
            match self.find(&delimiter, 0, MAX_PART_HEADER_BYTES)? {
                Some(at) => {
                    self.started = true;
                    if !self.consume_delimiter_line(at)? {
                        return Ok(None);
                    }
                }
                None if self.at_eof => return Ok(None),
                None => {
                    return Err(SourceError::Protocol(
                        "no multipart boundary at the start of the stream".into(),
                    ));
                }
            }
        }
        let Some(header_end) = self.find(b"\r\n\r\n", 0, MAX_PART_HEADER_BYTES)? else {
            if !self.at_eof {
                return Err(SourceError::Protocol("part headers too long".into()));
            }
            let rest_is_blank = self.buf.iter().all(u8::is_ascii_whitespace);
            self.discard(self.buf.len());
            if rest_is_blank {
                return Ok(None);
            }
            return Err(SourceError::BadFrame(
                "part truncated by the end of the stream (in its headers)".into(),
            ));
        };
        let content_type = part_content_type(&self.buf[..header_end]);
        let body_start = header_end + 4;
        let delimiter = self.delimiter.clone();
        let body = match self.find(&delimiter, body_start, MAX_FRAME_BYTES)? {
            Some(next) => {
                let mut body_end = next;
                if self.buf[body_start..body_end].ends_with(b"\r\n") {
                    body_end -= 2;
                }
                let body = Zeroizing::new(self.buf[body_start..body_end].to_vec());
                self.consume_delimiter_line(next)?;
                body
            }
            // A stream may stop right after a whole part; whether the part
            // is whole is checked below like any other.
            None if self.at_eof => {
                let body = Zeroizing::new(self.buf[body_start..].to_vec());
                self.discard(self.buf.len());
                body
            }
            None => {
                return Err(SourceError::Protocol(format!(
                    "part larger than {MAX_FRAME_BYTES} bytes"
                )));
            }
        };
        if let Some(kind) = content_type.filter(|t| !t.eq_ignore_ascii_case("image/jpeg")) {
            return Err(SourceError::BadFrame(format!(
                "part of type {kind} skipped"
            )));
        }
        match jpeg_extent(&body) {
            Ok(len) if body[len..].iter().all(u8::is_ascii_whitespace) => {
                let mut body = body;
                zeroize::Zeroize::zeroize(&mut body[len..]);
                body.truncate(len);
                Ok(Some(body))
            }
            Ok(_) => Err(SourceError::BadFrame(
                "part holds data after its JPEG".into(),
            )),
            Err(JpegExtentError::Incomplete) => {
                Err(SourceError::BadFrame("part holds a truncated JPEG".into()))
            }
            Err(JpegExtentError::Corrupt(why, _)) => Err(SourceError::BadFrame(format!(
                "part holds a corrupt JPEG: {why}"
            ))),
        }
    }

    /// Drops everything through the delimiter line at `at`; false when it
    /// was the closing delimiter (`--boundary--`) or the stream ended, and
    /// then the stream is over: what follows is an epilogue, not parts,
    /// however much of it was already read.
    fn consume_delimiter_line(&mut self, at: usize) -> Result<bool, SourceError> {
        let after = at + self.delimiter.len();
        match self.find(b"\n", after, MAX_PART_HEADER_BYTES)? {
            Some(line_end) if !self.buf[after..line_end].starts_with(b"--") => {
                self.discard(line_end + 1);
                Ok(true)
            }
            _ => {
                self.discard(self.buf.len());
                self.at_eof = true;
                Ok(false)
            }
        }
    }

    /// Position of `needle` at or after `from`, reading more as needed, but
    /// not looking further than `limit` bytes past `from`.
    fn find(
        &mut self,
        needle: &[u8],
        from: usize,
        limit: usize,
    ) -> Result<Option<usize>, SourceError> {
        let mut searched = from;
        loop {
            if let Some(i) = self.buf[searched..]
                .windows(needle.len())
                .position(|w| w == needle)
            {
                return Ok(Some(searched + i));
            }
            searched = self.buf.len().saturating_sub(needle.len() - 1).max(from);
            if self.at_eof || self.buf.len() - from > limit {
                return Ok(None);
            }
            self.fill()?;
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
                    zeroize::Zeroize::zeroize(&mut self.buf[old_len..]);
                    self.buf.truncate(old_len);
                    return Err(SourceError::Io(e));
                }
            }
        };
        self.buf.truncate(old_len + read);
        self.at_eof = read == 0;
        Ok(())
    }

    fn discard(&mut self, n: usize) {
        self.buf.copy_within(n.., 0);
        let len = self.buf.len() - n;
        zeroize::Zeroize::zeroize(&mut self.buf[len..]);
        self.buf.truncate(len);
    }
}

fn part_content_type(headers: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(headers);
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| value.split(';').next().unwrap_or("").trim().to_owned())
    })
}

/// The boundary parameter of a `multipart/x-mixed-replace` content type.
pub fn boundary_of(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/x-mixed-replace") {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jpeg::tests::sample_jpeg;

    fn part(content_type: &str, body: &[u8]) -> Vec<u8> {
        let mut p = format!(
            "--frame\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        p.extend_from_slice(body);
        p.extend_from_slice(b"\r\n");
        p
    }

    fn parse(data: &[u8], boundary: &str) -> Vec<Result<Vec<u8>, String>> {
        let mut stream = MultipartStream::new(data, boundary);
        let mut out = Vec::new();
        for _ in 0..50 {
            match stream.next_frame() {
                Ok(Some(f)) => out.push(Ok(f.to_vec())),
                Ok(None) => return out,
                Err(e @ SourceError::BadFrame(_)) => out.push(Err(e.to_string())),
                Err(e) => panic!("unexpected stream error: {e}"),
            }
        }
        panic!("stream did not end");
    }

    #[test]
    fn boundary_is_read_from_the_content_type() {
        assert_eq!(
            boundary_of("multipart/x-mixed-replace; boundary=\"frame\"").as_deref(),
            Some("frame")
        );
        assert_eq!(
            boundary_of("Multipart/X-Mixed-Replace;boundary=--myboundary").as_deref(),
            Some("--myboundary")
        );
        assert_eq!(boundary_of("image/jpeg"), None);
        assert_eq!(boundary_of("multipart/x-mixed-replace"), None);
    }

    #[test]
    fn parts_become_frames_and_damaged_parts_are_skipped_with_errors() {
        let a = sample_jpeg(16, 16, 30);
        let b = sample_jpeg(8, 24, 120);
        let mut data = b"preamble\r\n".to_vec();
        data.extend(part("image/jpeg", &a));
        data.extend(part("image/jpeg", &b[..b.len() - 20]));
        data.extend(part("text/plain", b"hello"));
        let mut corrupt = b.clone();
        corrupt[3] = 0x00;
        data.extend(part("image/jpeg", &corrupt));
        // No CRLF between this body and the next boundary.
        data.extend(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n");
        data.extend(&b);
        data.extend(part("image/jpeg", &a));
        data.extend(b"--frame--\r\n");

        let frames = parse(&data, "frame");
        let ok: Vec<&Vec<u8>> = frames.iter().filter_map(|f| f.as_ref().ok()).collect();
        assert!(ok == vec![&a, &b, &a], "wrong frames: {} of 3", ok.len());
        let errors: Vec<&String> = frames.iter().filter_map(|f| f.as_ref().err()).collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("truncated JPEG"));
        assert!(errors[1].contains("text/plain"));
        assert!(errors[2].contains("corrupt JPEG"));
    }

    #[test]
    fn nothing_after_the_closing_boundary_is_read_as_a_part() {
        let a = sample_jpeg(16, 16, 30);
        let mut data = part("image/jpeg", &a);
        data.extend_from_slice(b"--frame--\r\nepilogue\r\n\r\nnot a part");
        let frames = parse(&data, "frame");
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert!(frames[0].as_ref().ok() == Some(&a), "the frame differs");
        // Closing at once: no frames, whatever follows.
        assert!(parse(b"--frame--\r\n\r\n\r\nx", "frame").is_empty());
    }

    #[test]
    fn a_stream_cut_off_mid_part_ends_with_an_error_not_a_panic() {
        let a = sample_jpeg(16, 16, 30);
        let mut data = part("image/jpeg", &a);
        let cut = part("image/jpeg", &a);
        data.extend_from_slice(&cut[..cut.len() / 2]);
        let frames = parse(&data, "--frame");
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert!(frames[0].as_ref().ok() == Some(&a), "first frame differs");
        assert!(frames[1].as_ref().is_err_and(|e| e.contains("truncated")));
        // Every prefix of a stream parses without panicking.
        for len in 0..data.len() {
            parse(&data[..len], "frame");
        }
    }
}
