//! The HOG face detector against the reference (dlib's
//! `get_frontal_face_detector()` through face_recognition, upsample 1).

use std::path::Path;

use limen_face::detect::clip_to_image;
use limen_face::{HogFaceDetector, Rect, RgbImage};
use serde_json::Value;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// Decodes a fixture with the `image` crate, or, when `LIMEN_PNG_DIR` names
/// a folder of the same pictures decoded by the reference (PIL) and saved as
/// PNG, reads those: the JPEG decoders differ by a few grey levels, and the
/// PNGs separate that from differences in our own code.
fn load_fixture(relative: &str) -> RgbImage {
    let path = match std::env::var_os("LIMEN_PNG_DIR") {
        Some(dir) => Path::new(&dir).join(
            Path::new(relative)
                .with_extension("png")
                .file_name()
                .expect("file name"),
        ),
        None => fixtures().join(relative),
    };
    let rgb = image::open(path).expect("fixture decodes").to_rgb8();
    let (w, h) = rgb.dimensions();
    RgbImage::from_raw(w as usize, h as usize, rgb.into_raw()).expect("sizes match")
}

fn detector() -> HogFaceDetector {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/dlib_frontal_face_detector_hog.svm"
    );
    HogFaceDetector::from_bytes(&std::fs::read(path).expect("model present")).expect("model parses")
}

fn reference_boxes(entry: &Value) -> Vec<Rect> {
    entry["faces"]
        .as_array()
        .expect("faces")
        .iter()
        .map(|f| {
            let b: Vec<i64> = f["box"]
                .as_array()
                .expect("box")
                .iter()
                .map(|v| v.as_i64().expect("int"))
                .collect();
            Rect::new(b[0], b[1], b[2], b[3])
        })
        .collect()
}

#[test]
fn detections_match_the_reference() {
    let detector = detector();
    let reference = std::fs::read_to_string(fixtures().join("reference.jsonl")).expect("reference");
    let (mut ref_found, mut ours_found, mut matched, mut exact, mut ref_faces) = (0, 0, 0, 0, 0);
    for line in reference.lines() {
        let entry: Value = serde_json::from_str(line).expect("json");
        let image = load_fixture(entry["path"].as_str().expect("path"));
        let want = reference_boxes(&entry);
        let detections = detector.detect(&image, 1);
        assert_eq!(
            detector.detect_with_threads(&image, 1, 3),
            detections,
            "threads change nothing"
        );
        let got: Vec<Rect> = detections
            .iter()
            .map(|d| clip_to_image(d.rect, image.width(), image.height()))
            .collect();
        ref_found += usize::from(!want.is_empty());
        ours_found += usize::from(!got.is_empty());
        ref_faces += want.len();
        for w in &want {
            let best = got.iter().map(|g| g.iou(w)).fold(0.0, f64::max);
            matched += usize::from(best >= 0.5);
            exact += usize::from(got.contains(w));
        }
    }
    eprintln!(
        "images with a face: ours {ours_found}, reference {ref_found}; reference boxes {ref_faces}: IoU>=0.5 {matched}, identical {exact}"
    );
    if std::env::var_os("LIMEN_PNG_DIR").is_some() {
        // Same pixels as the reference: the same boxes.
        assert_eq!(ours_found, ref_found);
        assert_eq!(
            exact, ref_faces,
            "every reference box is reproduced exactly"
        );
    } else {
        // Our JPEG decoder differs from libjpeg-turbo by a grey level here
        // and there, which can tip a detection scored near 0 either way.
        assert!(
            ours_found + 1 >= ref_found,
            "{ours_found} images with faces, reference {ref_found}"
        );
        assert!(
            matched + 1 >= ref_faces,
            "{matched} of {ref_faces} reference boxes found"
        );
        assert!(
            exact * 10 >= ref_faces * 9,
            "only {exact} of {ref_faces} boxes are identical"
        );
    }
}

#[test]
fn degenerate_images_give_no_faces() {
    let detector = detector();
    for (w, h) in [(0, 0), (1, 1), (7, 300), (300, 7), (40, 40)] {
        let image = RgbImage::from_raw(w, h, vec![90; w * h * 3]).expect("valid");
        for upsample in [0, 1, 2] {
            assert!(detector.detect(&image, upsample).is_empty());
        }
    }
}

#[test]
fn truncated_models_are_errors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/dlib_frontal_face_detector_hog.svm"
    );
    let bytes = std::fs::read(path).expect("model present");
    for len in [0, 1, 10, 40, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            HogFaceDetector::from_bytes(&bytes[..len]).is_err(),
            "length {len}"
        );
    }
}
