//! The liveness check against its reference (PyTorch and OpenCV through
//! `tools/liveness/reference.py`, outputs in `fixtures/liveness/`) on
//! upstream's three sample frames and 60 LFW images, each with the box
//! upstream's own detector drew.
//!
//! Two checks, kept apart: Limen's crop region and resize must give the very
//! bytes OpenCV gave (same SHA-256), so both networks then see identical
//! 80×80 inputs, and on those inputs each network's class probabilities
//! must match PyTorch's within 1e-4.

use std::path::{Path, PathBuf};

use limen_face::liveness::{LivenessChecker, NETWORKS, ReferenceBox, crop_region, network_input};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn crops_and_probabilities_match_the_reference() {
    let checker = LivenessChecker::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"))
        .expect("the repository's liveness models load");
    let text = std::fs::read_to_string(fixtures().join("liveness/reference.jsonl"))
        .expect("reference outputs");
    let (mut crops, mut max_diff) = (0, 0.0f32);
    for line in text.lines() {
        let reference: Value = serde_json::from_str(line).expect("json line");
        let path = reference["path"].as_str().expect("path");
        let bytes = std::fs::read(fixtures().join(path)).expect("image");
        let image = limen_face::decode(&bytes).expect("decodes");
        let b: Vec<i64> = reference["box"]
            .as_array()
            .expect("box")
            .iter()
            .map(|v| v.as_i64().expect("integer"))
            .collect();
        let face = ReferenceBox {
            x: b[0],
            y: b[1],
            width: b[2],
            height: b[3],
        };
        for (index, (crop, (_, scale))) in reference["crops"]
            .as_array()
            .expect("crops")
            .iter()
            .zip(NETWORKS)
            .enumerate()
        {
            assert_eq!(crop["scale"].as_f64(), Some(scale), "{path}: network order");
            let region = crop_region(image.width(), image.height(), face, scale).expect("region");
            let want: Vec<usize> = crop["crop"]
                .as_array()
                .expect("crop")
                .iter()
                .map(|v| v.as_u64().expect("integer") as usize)
                .collect();
            assert_eq!(
                [region.left, region.top, region.right, region.bottom][..],
                want[..],
                "{path}: crop region at {scale}×"
            );
            let input = network_input(&image, face, scale).expect("crop");
            assert_eq!(
                hex(&Sha256::digest(input.as_bgr())),
                crop["sha256"].as_str().expect("sha256"),
                "{path}: the 80×80 crop at {scale}× differs from OpenCV's"
            );
            let got = checker
                .network_probabilities(index, &input)
                .expect("network");
            for (g, w) in got.iter().zip(crop["probabilities"].as_array().expect("p")) {
                let diff = (g - w.as_f64().expect("float") as f32).abs();
                assert!(diff <= 1e-4, "{path} at {scale}×: {got:?} vs {w}");
                max_diff = max_diff.max(diff);
            }
            crops += 1;
        }
    }
    assert!(crops >= 2 * 53, "only {crops} crops checked");
    println!("{crops} crops, max abs probability difference {max_diff:e}");
}

/// The engine's own path: HOG finds the face, its box is mapped to the
/// reference detector's, both networks judge it. Upstream's live sample
/// passes, its two attack samples do not.
#[test]
fn upstream_samples_through_the_engine() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let finder = limen_face::FaceFinder::load(&models).expect("finder loads");
    let checker = LivenessChecker::load(&models).expect("liveness loads");
    for (name, live) in [("T1", true), ("F1", false), ("F2", false)] {
        let path = fixtures().join(format!("liveness/sample-image_{name}.jpg"));
        let image = limen_face::decode(&std::fs::read(path).expect("read")).expect("decodes");
        let faces = finder.find(&image);
        let face = faces.iter().max_by_key(|f| f.rect.area()).expect("a face");
        let liveness = checker.check(&image, face.rect).expect("checked");
        let score = liveness.live_score();
        assert_eq!(score >= 0.5, live, "{name}: live score {score}");
        assert_eq!(liveness.upstream_label_is_live(), live, "{name}");
    }
    let image = limen_face::RgbImage::from_raw(8, 8, vec![0; 8 * 8 * 3]).expect("image");
    assert_eq!(
        checker.check(&image, limen_face::Rect::new(5, 5, 4, 4)),
        Err(limen_face::LivenessError::NoCrop)
    );
}
