//! Any bytes through the liveness entry point: decode, find faces, check
//! each one's liveness (both networks on their crops); and, from the first
//! 16 bytes, an arbitrary box on the same image. It must return a result or
//! a typed error, never panic, hang or exhaust memory.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use limen_face::FaceFinder;
use limen_face::liveness::{LivenessChecker, ReferenceBox};

static MODELS: OnceLock<(FaceFinder, LivenessChecker)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (finder, checker) = MODELS.get_or_init(|| {
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        (
            FaceFinder::load(&models).expect("models in the repository load"),
            LivenessChecker::load(&models).expect("models in the repository load"),
        )
    });
    let Some((head, image_bytes)) = data.split_first_chunk::<16>() else {
        return;
    };
    let Ok(image) = limen_face::decode(image_bytes) else {
        return;
    };
    for face in finder.find(&image) {
        let _ = checker.check(&image, face.rect);
    }
    let coordinate = |i: usize| i64::from(i32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]));
    let face = ReferenceBox {
        x: coordinate(0),
        y: coordinate(4),
        width: coordinate(8),
        height: coordinate(12),
    };
    let _ = checker.check_box(&image, face);
});
