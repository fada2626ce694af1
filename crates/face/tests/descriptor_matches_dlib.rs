//! The descriptor of every fixture face, computed from the reference's own
//! landmarks, must point the same way as dlib's (`reference.jsonl`).

use std::path::{Path, PathBuf};

use limen_dlib_format::DnnModel;
use limen_face::{DescriptorNet, FaceChip, Point, RgbImage};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load_net() -> DescriptorNet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/dlib_face_recognition_resnet_model_v1.dat");
    let bytes = std::fs::read(path).expect("model file");
    let model = DnnModel::parse_face_resnet(&bytes).expect("valid model");
    DescriptorNet::from_model(&model).expect("runnable model")
}

fn decode(path: &Path) -> RgbImage {
    let rgb = image::open(path).expect("decodable fixture").to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    RgbImage::from_raw(w, h, rgb.into_raw()).expect("consistent size")
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * y).sum();
    let na: f64 = a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn descriptors_match_dlib_on_the_fixtures() {
    let net = load_net();
    let reference =
        std::fs::read_to_string(fixtures_dir().join("reference.jsonl")).expect("reference");
    let mut cosines = Vec::new();
    for line in reference.lines().filter(|l| !l.trim().is_empty()) {
        let record: serde_json::Value = serde_json::from_str(line).expect("json line");
        let path = record["path"].as_str().expect("path");
        let faces = record["faces"].as_array().expect("faces");
        if faces.is_empty() {
            continue;
        }
        let image = decode(&fixtures_dir().join(path));
        for face in faces {
            let points: Vec<Point> = face["landmarks5"]
                .as_array()
                .expect("landmarks")
                .iter()
                .map(|p| Point::new(p[0].as_f64().expect("x"), p[1].as_f64().expect("y")))
                .collect();
            let landmarks: [Point; 5] = points.try_into().expect("5 landmarks");
            let want: Vec<f64> = face["embedding"]
                .as_array()
                .expect("embedding")
                .iter()
                .map(|v| v.as_f64().expect("number"))
                .collect();
            let chip = FaceChip::extract(&image, &landmarks).expect("chip");
            let got = net.compute(&chip);
            cosines.push(cosine(got.as_slice(), &want));
        }
    }
    cosines.sort_by(f64::total_cmp);
    let n = cosines.len();
    let median = cosines[n / 2];
    let good = cosines.iter().filter(|&&c| c >= 0.99).count();
    eprintln!(
        "{n} faces: min cosine {:.6}, median {median:.6}, {good} at or above 0.99",
        cosines[0]
    );
    assert!(n >= 60, "expected every fixture face, got {n}");
    assert!(median >= 0.999, "median cosine {median}");
    assert!(
        good * 100 >= n * 99,
        "only {good} of {n} faces at cosine >= 0.99"
    );
}
