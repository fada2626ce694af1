//! Decoding real files of every supported kind, and refusing bad ones with a
//! typed error instead of a panic.

use limen_face::{DecodeError, decode};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/decode/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn lfw() -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/lfw/Abdullah_Gul_0008.jpg",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn exif_orientation_is_applied() {
    // Stored 40x20, red on the left; EXIF 6 says "turn clockwise to view":
    // upright it is 20x40 with red on top.
    let img = decode(&fixture("exif-rotate90.jpg")).expect("decodes");
    assert_eq!((img.width(), img.height()), (20, 40));
    let top = img.pixel(10, 5);
    let bottom = img.pixel(10, 35);
    assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom is blue: {bottom:?}"
    );
}

#[test]
fn grey_sixteen_bit_alpha_and_cmyk_become_rgb() {
    let grey = decode(&fixture("grey.jpg")).expect("grey jpeg");
    let [r, g, b] = grey.pixel(5, 5);
    assert!(r == g && g == b);

    let g16 = decode(&fixture("grey16.png")).expect("16-bit png");
    assert_eq!((g16.width(), g16.height()), (40, 20));
    // Sample 0 is 0, the last is 799*80 = 63920 -> 249 in 8 bits.
    assert_eq!(g16.pixel(0, 0), [0, 0, 0]);
    assert_eq!(g16.pixel(39, 19), [249, 249, 249]);

    let rgba = decode(&fixture("rgba.png")).expect("rgba png");
    assert_eq!(rgba.pixel(0, 0), [255, 0, 0]);
    assert_eq!(rgba.pixel(39, 0), [0, 0, 255]);

    // CMYK JPEGs are converted to RGB rather than refused.
    let cmyk = decode(&fixture("cmyk.jpg")).expect("cmyk jpeg");
    assert_eq!((cmyk.width(), cmyk.height()), (40, 20));
    let left = cmyk.pixel(5, 10);
    assert!(left[0] > 180 && left[2] < 90, "left is red: {left:?}");
}

#[test]
fn a_declared_decompression_bomb_is_refused_before_allocation() {
    let err = decode(&fixture("bomb.png")).expect_err("refused");
    assert!(matches!(err, DecodeError::TooLarge { .. }), "{err:?}");
}

#[test]
fn truncated_corrupt_and_foreign_bytes_are_errors() {
    let jpeg = lfw();
    for cut in [2, 20, 200, jpeg.len() / 2] {
        assert!(decode(&jpeg[..cut]).is_err(), "cut at {cut}");
    }
    let mut flipped = jpeg.clone();
    for b in flipped.iter_mut().skip(600).step_by(7) {
        *b ^= 0x5A;
    }
    // Corrupt entropy data may still decode to noise; what matters is no panic.
    let _ = decode(&flipped);
    assert!(matches!(decode(b""), Err(DecodeError::UnsupportedFormat)));
    assert!(matches!(
        decode(b"GIF89a\x01\x00\x01\x00"),
        Err(DecodeError::UnsupportedFormat)
    ));
    assert!(matches!(
        decode(b"%PDF-1.4 not an image"),
        Err(DecodeError::UnsupportedFormat)
    ));
}

#[test]
fn an_lfw_photo_decodes_to_its_size() {
    let img = decode(&lfw()).expect("decodes");
    assert_eq!((img.width(), img.height()), (250, 250));
}

fn fixture_path(relative: &str) -> String {
    format!("{}/tests/fixtures/{relative}", env!("CARGO_MANIFEST_DIR"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn baseline_jpegs_decode_to_pils_exact_pixels() {
    // SHA-256 of PIL's `convert('RGB')` buffer (libjpeg-turbo) for each file:
    // the 60 LFW photos plus grey, 4:4:4, 4:2:2, 4:4:0, odd-sized 4:2:0 and
    // restart-marker images made with PIL (see the fixtures README).
    let list = std::fs::read_to_string(fixture_path("pil-rgb.sha256")).expect("hash list");
    let mut checked = 0;
    let mut differing = Vec::new();
    for line in list.lines() {
        let (expected, relative) = line.split_once(' ').expect("hash and path");
        let bytes = std::fs::read(fixture_path(relative)).expect("fixture");
        let img = decode(&bytes).unwrap_or_else(|e| panic!("{relative}: {e}"));
        if sha256_hex(img.as_raw()) != expected {
            differing.push(relative.to_string());
        }
        checked += 1;
    }
    assert_eq!(checked, 67);
    assert!(
        differing.is_empty(),
        "pixels differ from PIL's: {differing:?}"
    );
}

#[test]
fn the_restart_fixture_really_has_restart_markers() {
    let bytes = fixture("restart.jpg");
    let has = |marker: [u8; 2]| bytes.windows(2).any(|w| w == marker);
    assert!(has([0xFF, 0xDD]), "a restart interval is declared");
    assert!(
        has([0xFF, 0xD0]) && has([0xFF, 0xD2]),
        "markers in the scan"
    );
}

#[test]
fn a_progressive_jpeg_still_decodes() {
    let img = decode(&fixture("progressive.jpg")).expect("progressive");
    assert_eq!((img.width(), img.height()), (61, 45));
}

#[test]
fn damaged_jpegs_give_errors_or_noise_never_a_panic() {
    for name in ["restart.jpg", "420-odd.jpg", "grey-odd.jpg", "422.jpg"] {
        let good = fixture(name);
        // Cut anywhere but keep an end marker, so the scan itself runs short.
        for cut in (2..good.len()).step_by(5) {
            let mut cut_short = good[..cut].to_vec();
            cut_short.extend_from_slice(&[0xFF, 0xD9]);
            let _ = decode(&cut_short);
        }
        // Overwrite single bytes, headers and tables included.
        for at in 2..good.len() - 2 {
            for value in [0x00, 0x0F, 0xFF, good[at] ^ 0x81] {
                let mut damaged = good.clone();
                damaged[at] = value;
                let _ = decode(&damaged);
            }
        }
    }
}
