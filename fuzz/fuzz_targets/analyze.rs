//! Any bytes through the engine's entry point: decode, detect, landmarks,
//! quality, descriptor. It must return a result or a typed error, never
//! panic, hang or exhaust memory.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use limen_face::{FaceEngine, FaceModel};

static ENGINE: OnceLock<FaceEngine> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| {
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        FaceEngine::load(&models, FaceModel::DEFAULT).expect("models in the repository load")
    });
    let _ = engine.analyze(data);
});
