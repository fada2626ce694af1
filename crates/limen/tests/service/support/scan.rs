//! Scans of what the server leaves behind: files, and traces of images.

use std::path::{Path, PathBuf};

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Why these bytes look like (part of) an image, if they do.
pub fn image_trace(bytes: &[u8], uploads: &[Vec<u8>]) -> Option<String> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.windows(PNG.len()).any(|w| w == PNG) {
        return Some("a PNG signature".into());
    }
    // SOI followed by a marker segment: how every JPEG file begins.
    if bytes
        .windows(4)
        .any(|w| w[0] == 0xFF && w[1] == 0xD8 && w[2] == 0xFF && (w[3] >= 0xC0))
    {
        return Some("a JPEG signature".into());
    }
    for (index, upload) in uploads.iter().enumerate() {
        for start in (0..upload.len().saturating_sub(64)).step_by(997) {
            let sample = &upload[start..start + 64];
            if bytes.windows(64).any(|w| w == sample) {
                return Some(format!(
                    "64 bytes of uploaded frame {index} at offset {start}"
                ));
            }
        }
    }
    None
}
