//! What must hold for any bytes a camera sends the agent: the fuzz targets
//! (fuzz/fuzz_targets/) run these on generated inputs, and
//! `tests/fuzz_regressions.rs` replays the inputs kept in `fuzz/regressions/`
//! and the seed corpora.

use std::io::Read;

use limen_agent::SourceError;
use limen_agent::jpeg::{JpegStream, jpeg_extent};
use limen_agent::mjpg::with_standard_huffman_tables;
use limen_agent::multipart::{MultipartStream, boundary_of};

/// More items than this from one input means the stream does not end.
const MAX_ITEMS: usize = 10_000;

/// What a stream gave: each frame's bytes, or a skippable error's text.
type Items = Vec<Result<Vec<u8>, String>>;

/// Hands out `data` in pieces whose sizes come from `sizes` (cycled), as a
/// network or pipe would; never an empty read before the end.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = match self.sizes {
            [] => usize::MAX,
            sizes => usize::from(sizes[self.turn % sizes.len()]).max(1),
        };
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Splits the fuzz input at its first NUL byte, if any, into a header
/// (for the chunk sizes or the content type) and the stream.
fn split_header(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) if at <= 64 => (&data[..at], &data[at + 1..]),
        _ => (&[], data),
    }
}

fn drain(mut next: impl FnMut() -> Result<Option<Vec<u8>>, SourceError>) -> Items {
    let mut items = Vec::new();
    loop {
        match next() {
            Ok(Some(frame)) => items.push(Ok(frame)),
            Ok(None) => return items,
            Err(e @ SourceError::BadFrame(_)) => items.push(Err(e.to_string())),
            // A protocol error ends a camera's stream.
            Err(e) => {
                items.push(Err(e.to_string()));
                return items;
            }
        }
        assert!(items.len() <= MAX_ITEMS, "the stream does not end");
    }
}

/// An IP camera's `multipart/x-mixed-replace` body, with the boundary
/// taken from a content type as the camera declared it: every part given
/// out is one whole JPEG, and how the bytes arrive changes nothing.
pub fn multipart(data: &[u8]) {
    let (content_type, body) = split_header(data);
    let content_type = String::from_utf8_lossy(content_type);
    let boundary = boundary_of(&format!(
        "multipart/x-mixed-replace; boundary={content_type}"
    ))
    .unwrap_or_else(|| "frame".to_owned());
    let read = |sizes: &[u8]| {
        let mut stream = MultipartStream::new(
            Chunked {
                data: body,
                sizes,
                turn: 0,
            },
            &boundary,
        );
        drain(|| stream.next_frame().map(|f| f.map(|f| f.to_vec())))
    };
    let whole = read(&[]);
    for frame in whole.iter().flatten() {
        assert_eq!(
            jpeg_extent(frame),
            Ok(frame.len()),
            "a part is not one whole JPEG"
        );
    }
    for sizes in [&[1][..], &[3, 1, 7], &[64, 255]] {
        assert!(
            read(sizes) == whole,
            "the frames depend on how the bytes arrive"
        );
    }
}

/// A recorded or piped MJPEG (JPEGs one after another), in chunk sizes the
/// input's header chooses: every frame given out is one whole JPEG, the same
/// however the bytes arrive, and putting back the standard Huffman tables
/// keeps it one whole JPEG.
pub fn mjpeg_stream(data: &[u8]) {
    let (sizes, stream) = split_header(data);
    let read = |sizes: &[u8]| {
        let mut frames = JpegStream::new(Chunked {
            data: stream,
            sizes,
            turn: 0,
        });
        drain(|| frames.next_frame().map(|f| f.map(|f| f.to_vec())))
    };
    let whole = read(&[]);
    assert!(
        read(sizes) == whole,
        "the frames depend on how the bytes arrive"
    );
    assert!(
        read(&[1]) == whole,
        "the frames depend on how the bytes arrive"
    );
    for frame in whole.into_iter().flatten() {
        assert_eq!(
            jpeg_extent(&frame),
            Ok(frame.len()),
            "a frame is not one whole JPEG"
        );
        let completed = with_standard_huffman_tables(zeroize::Zeroizing::new(frame.clone()));
        assert_eq!(
            jpeg_extent(&completed),
            Ok(completed.len()),
            "tables broke a frame"
        );
        assert!(completed.len() == frame.len() || completed.len() > frame.len() + 4);
    }
}
