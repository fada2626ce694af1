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
