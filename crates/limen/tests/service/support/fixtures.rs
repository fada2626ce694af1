//! What the tests send: the committed LFW fixtures, multipart bodies,
//! and images made to measure.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A multipart/form-data body with one part per frame.
pub fn multipart(frames: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "limen-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (index, (content_type, bytes)) in frames.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"frame\"; filename=\"frame{index}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lfw")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lfw")
        .join(name)
}

pub fn enrolment_frames() -> Vec<Vec<u8>> {
    [
        "Andre_Agassi_0005.jpg",
        "Andre_Agassi_0016.jpg",
        "Andre_Agassi_0027.jpg",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect()
}

/// A valid PNG of `width` × `height` black grey-level pixels, a few
/// kilobytes however large it declares itself.
pub fn grey_png(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; width as usize + 1];
    for _ in 0..height {
        encoder.write_all(&row).expect("compress");
    }
    let data = encoder.finish().expect("compress");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &data);
    chunk(&mut png, b"IEND", &[]);
    png
}
