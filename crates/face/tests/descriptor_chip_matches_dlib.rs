//! Chips must be byte-identical to `dlib.get_face_chip` when both start from
//! the same pixels (see `fixtures/descriptor/README.md`).

use std::path::{Path, PathBuf};

use limen_face::{FaceChip, Point, RgbImage};

const LANDMARKS: [(f64, f64); 5] = [
    (153.0, 112.0),
    (139.0, 112.0),
    (97.0, 115.0),
    (113.0, 113.0),
    (132.0, 144.0),
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/descriptor")
        .join(name)
}

fn load(name: &str) -> (usize, usize, Vec<u8>) {
    let rgb = image::open(fixture(name)).expect("fixture").to_rgb8();
    (rgb.width() as usize, rgb.height() as usize, rgb.into_raw())
}

/// Every pixel repeated `factor` times across and down.
fn enlarge(width: usize, height: usize, pixels: &[u8], factor: usize) -> RgbImage {
    let mut out = Vec::with_capacity(pixels.len() * factor * factor);
    for row in pixels.chunks_exact(width * 3) {
        let wide: Vec<u8> = row
            .chunks_exact(3)
            .flat_map(|px| std::iter::repeat_n(px, factor).flatten().copied())
            .collect();
        for _ in 0..factor {
            out.extend_from_slice(&wide);
        }
    }
    RgbImage::from_raw(width * factor, height * factor, out).expect("size")
}

fn assert_chip(image: &RgbImage, scale: f64, shift: (f64, f64), expected: &str) {
    let landmarks =
        LANDMARKS.map(|(x, y)| Point::new((x + shift.0) * scale, (y + shift.1) * scale));
    let chip = FaceChip::extract(image, &landmarks).expect("chip");
    let (w, h, want) = load(expected);
    assert_eq!((w, h), (150, 150));
    let differing = chip
        .as_raw()
        .iter()
        .zip(&want)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing, 0,
        "{expected}: {differing} bytes differ from dlib"
    );
}

#[test]
fn chips_are_byte_identical_to_dlib() {
    let (w, h, pixels) = load("abba_eban_0001_decoded.png");
    let photo = RgbImage::from_raw(w, h, pixels.clone()).expect("size");
    assert_chip(&photo, 1.0, (0.0, 0.0), "abba_eban_0001_chip_x1.png");
    assert_chip(
        &photo,
        1.0,
        (-90.0, -60.0),
        "abba_eban_0001_chip_shifted.png",
    );
    let enlarged = enlarge(w, h, &pixels, 4);
    assert_chip(&enlarged, 4.0, (0.0, 0.0), "abba_eban_0001_chip_x4.png");
}
