//! Time per descriptor on one thread, after warm-up. Run with
//! `cargo test -p limen-face --release --test descriptor_speed -- --ignored --nocapture`.

use std::path::Path;
use std::time::Instant;

use limen_dlib_format::DnnModel;
use limen_face::{DescriptorNet, FaceChip, Point, RgbImage};

#[test]
#[ignore = "timing, not correctness: run on an idle machine"]
fn time_per_descriptor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("../../models/dlib_face_recognition_resnet_model_v1.dat"))
        .expect("model file");
    let net = DescriptorNet::from_model(&DnnModel::parse_face_resnet(&bytes).expect("model"))
        .expect("runnable");
    let rgb = image::open(root.join("tests/fixtures/lfw/Abba_Eban_0001.jpg"))
        .expect("fixture")
        .to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let image = RgbImage::from_raw(w, h, rgb.into_raw()).expect("size");
    let landmarks = [
        (153.0, 112.0),
        (139.0, 112.0),
        (97.0, 115.0),
        (113.0, 113.0),
        (132.0, 144.0),
    ]
    .map(|(x, y)| Point::new(x, y));

    let chip = FaceChip::extract(&image, &landmarks).expect("chip");
    for _ in 0..5 {
        net.compute(&chip);
    }
    let runs = 40;
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let chip = FaceChip::extract(&image, &landmarks).expect("chip");
            net.compute(&chip);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let flops = 2.0 * net.multiply_adds() as f64;
    eprintln!(
        "chip + descriptor: min {:.2} ms, median {:.2} ms over {runs} runs; {:.1} GFLOP/s at the median",
        times[0],
        times[runs / 2],
        flops / times[runs / 2] / 1e6
    );
}
