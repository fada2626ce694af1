//! Detection speed, single thread. Run with
//! `cargo test --release -p limen-face --test detect_timing -- --ignored --nocapture`.

use std::time::Instant;

use limen_face::{HogFaceDetector, RgbImage, ShapePredictor};

fn load(relative: &str) -> RgbImage {
    let path = format!("{}/tests/fixtures/{relative}", env!("CARGO_MANIFEST_DIR"));
    let rgb = image::open(path).expect("fixture decodes").to_rgb8();
    let (w, h) = rgb.dimensions();
    RgbImage::from_raw(w as usize, h as usize, rgb.into_raw()).expect("sizes match")
}

/// CPU time of this thread in ms (Linux `schedstat`), so that a busy
/// machine does not inflate the figures; `None` elsewhere.
fn thread_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e6)
}

fn model(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../models/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("model present")
}

#[test]
#[ignore = "timing; run in release"]
fn time_detection_and_landmarks() {
    let detector =
        HogFaceDetector::from_bytes(&model("dlib_frontal_face_detector_hog.svm")).expect("model");
    let predictor =
        ShapePredictor::from_bytes(&model("shape_predictor_5_face_landmarks.dat")).expect("model");
    let small = load("lfw/Abba_Eban_0001.jpg");
    let large = {
        let path = format!(
            "{}/tests/fixtures/lfw/Abba_Eban_0001.jpg",
            env!("CARGO_MANIFEST_DIR")
        );
        let rgb = image::open(path).expect("fixture decodes").to_rgb8();
        let big = image::imageops::resize(&rgb, 640, 480, image::imageops::FilterType::Triangle);
        RgbImage::from_raw(640, 480, big.into_raw()).expect("sizes match")
    };
    for (name, image) in [("250x250", &small), ("640x480", &large)] {
        let runs = 30;
        let mut faces = 0;
        let start = Instant::now();
        let cpu_start = thread_cpu_ms();
        for _ in 0..runs {
            faces = detector.detect(image, 1).len();
        }
        let detect_ms = start.elapsed().as_secs_f64() * 1e3 / runs as f64;
        let cpu_ms = thread_cpu_ms()
            .zip(cpu_start)
            .map_or(f64::NAN, |(end, start)| (end - start) / runs as f64);
        let face = detector.detect(image, 1)[0].rect;
        let start = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(predictor.predict(image, face));
        }
        let landmark_ms = start.elapsed().as_secs_f64() * 1e3 / runs as f64;
        let start = Instant::now();
        for _ in 0..runs {
            assert_eq!(detector.detect_with_threads(image, 1, 2).len(), faces);
        }
        let two_threads_ms = start.elapsed().as_secs_f64() * 1e3 / runs as f64;
        eprintln!("{name}: detect (upsample 1) with 2 threads {two_threads_ms:.2} ms wall");
        eprintln!(
            "{name}: detect (upsample 1) {detect_ms:.2} ms wall, {cpu_ms:.2} ms CPU, {faces} face(s); landmarks {landmark_ms:.3} ms wall"
        );
    }
}
