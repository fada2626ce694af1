//! Agreement with the reference on the whole lfw-dev set (2,736 images), from
//! the reference's output in `/work/ref/peer-*.jsonl` (or the files named in
//! `LIMEN_PEER_JSONL`, separated by `:`). With `LIMEN_PNG_DIR` set, images
//! are read from `<dir>/<person>/<name>.png` instead: the reference's own
//! decoding saved losslessly, to measure our code on identical pixels. Run with
//! `cargo test --release -p limen-face --test detect_lfw_dev -- --ignored --nocapture`.

use std::path::Path;

use limen_face::detect::clip_to_image;
use limen_face::{HogFaceDetector, Rect, RgbImage, ShapePredictor};
use serde_json::Value;

fn model(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../models/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("model present")
}

/// Decodes with Limen's own `decode`, so the run measures the real pipeline.
fn load(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).expect("image file");
    limen_face::decode(&bytes).expect("image decodes")
}

fn rect(v: &Value) -> Rect {
    let b: Vec<i64> = v
        .as_array()
        .expect("box")
        .iter()
        .map(|x| x.as_i64().expect("int"))
        .collect();
    Rect::new(b[0], b[1], b[2], b[3])
}

#[test]
#[ignore = "needs /work/ref and lfw-dev; minutes"]
fn agreement_on_lfw_dev() {
    let detector =
        HogFaceDetector::from_bytes(&model("dlib_frontal_face_detector_hog.svm")).expect("model");
    let predictor =
        ShapePredictor::from_bytes(&model("shape_predictor_5_face_landmarks.dat")).expect("model");
    let files = std::env::var("LIMEN_PEER_JSONL")
        .unwrap_or_else(|_| "/work/ref/peer-00.jsonl:/work/ref/peer-01.jsonl".into());
    let (mut images, mut ref_found, mut ours_found, mut ref_boxes, mut our_boxes) = (0, 0, 0, 0, 0);
    let (mut matched, mut exact, mut images_same) = (0, 0, 0);
    let mut landmark_errors = Vec::new();
    for file in files.split(':') {
        let text = std::fs::read_to_string(file).expect("reference file");
        for line in text.lines() {
            let entry: Value = serde_json::from_str(line).expect("json");
            let path = Path::new(entry["path"].as_str().expect("path"));
            let image = match std::env::var_os("LIMEN_PNG_DIR") {
                Some(dir) => {
                    let person = path
                        .parent()
                        .and_then(Path::file_name)
                        .expect("person folder");
                    load(
                        &Path::new(&dir)
                            .join(person)
                            .join(path.with_extension("png").file_name().expect("name")),
                    )
                }
                None => load(path),
            };
            let got: Vec<Rect> = detector
                .detect(&image, 1)
                .iter()
                .map(|d| clip_to_image(d.rect, image.width(), image.height()))
                .collect();
            let faces = entry["faces"].as_array().expect("faces");
            images += 1;
            ref_found += usize::from(!faces.is_empty());
            ours_found += usize::from(!got.is_empty());
            ref_boxes += faces.len();
            our_boxes += got.len();
            let want: Vec<Rect> = faces.iter().map(|f| rect(&f["box"])).collect();
            images_same += usize::from(want == got);
            for (face, w) in faces.iter().zip(&want) {
                matched += usize::from(got.iter().any(|g| g.iou(w) >= 0.5));
                exact += usize::from(got.contains(w));
                let points = predictor.predict(&image, *w);
                let err = points
                    .iter()
                    .zip(face["landmarks5"].as_array().expect("landmarks"))
                    .map(|(p, q)| {
                        let (qx, qy) = (q[0].as_f64().expect("x"), q[1].as_f64().expect("y"));
                        ((p.x - qx).powi(2) + (p.y - qy).powi(2)).sqrt()
                    })
                    .sum::<f64>()
                    / 5.0;
                landmark_errors.push(err);
            }
        }
    }
    landmark_errors.sort_by(f64::total_cmp);
    let n = landmark_errors.len().max(1);
    eprintln!("images: {images}; with >=1 face: ours {ours_found}, reference {ref_found}");
    eprintln!(
        "boxes: ours {our_boxes}, reference {ref_boxes}; reference boxes matched IoU>=0.5: {matched}, identical: {exact}; images with identical box lists: {images_same}"
    );
    eprintln!(
        "landmarks on reference boxes: mean {:.3} px, median {:.3} px, max {:.3} px, exact {}/{}",
        landmark_errors.iter().sum::<f64>() / n as f64,
        landmark_errors.get(n / 2).copied().unwrap_or(0.0),
        landmark_errors.last().copied().unwrap_or(0.0),
        landmark_errors.iter().filter(|&&e| e == 0.0).count(),
        landmark_errors.len()
    );
    assert!(images > 0);
}
