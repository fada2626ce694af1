//! The 5-point landmarks against the reference (dlib through
//! face_recognition) on the reference's own boxes.

use std::path::Path;

use limen_face::{Point, Rect, RgbImage, ShapePredictor};
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

fn predictor() -> ShapePredictor {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/shape_predictor_5_face_landmarks.dat"
    );
    ShapePredictor::from_bytes(&std::fs::read(path).expect("model present")).expect("model parses")
}

#[test]
fn landmarks_match_the_reference_on_its_boxes() {
    let predictor = predictor();
    let reference = std::fs::read_to_string(fixtures().join("reference.jsonl")).expect("reference");
    let mut errors = Vec::new();
    for line in reference.lines() {
        let entry: Value = serde_json::from_str(line).expect("json");
        let image = load_fixture(entry["path"].as_str().expect("path"));
        for face in entry["faces"].as_array().expect("faces") {
            let b: Vec<i64> = face["box"]
                .as_array()
                .expect("box")
                .iter()
                .map(|v| v.as_i64().expect("int"))
                .collect();
            let points = predictor.predict(&image, Rect::new(b[0], b[1], b[2], b[3]));
            let want: Vec<Point> = face["landmarks5"]
                .as_array()
                .expect("landmarks")
                .iter()
                .map(|p| Point::new(p[0].as_f64().expect("x"), p[1].as_f64().expect("y")))
                .collect();
            let mean = points
                .iter()
                .zip(&want)
                .map(|(a, b)| ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt())
                .sum::<f64>()
                / 5.0;
            errors.push(mean);
        }
    }
    assert!(errors.len() >= 60, "only {} faces", errors.len());
    errors.sort_by(f64::total_cmp);
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    let worst = errors[errors.len() - 1];
    let exact = errors.iter().filter(|&&e| e == 0.0).count();
    eprintln!(
        "{} faces: {exact} exact, mean error {mean:.3} px, median {:.3} px, worst {worst:.3} px",
        errors.len(),
        errors[errors.len() / 2]
    );
    // On identical pixels every point is identical; JPEG decoders differ
    // by a few grey levels, which moves a few points by a pixel.
    assert!(mean < 0.5, "mean landmark error {mean:.3} px");
    assert!(
        worst < 2.0,
        "a face's landmarks are {worst:.3} px off on average"
    );
}

#[test]
fn boxes_outside_the_image_do_not_panic() {
    let predictor = predictor();
    let image = RgbImage::from_raw(4, 3, vec![128; 36]).expect("valid");
    for rect in [
        Rect::new(-500, -500, -400, -400),
        Rect::new(0, 0, 0, 0),
        Rect::new(10, 10, 5, 5),
    ] {
        let points = predictor.predict(&image, rect);
        assert!(points.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    }
}
