//! Any bytes through the Open Model Zoo model version's path: decode, the
//! HOG detector, then for every face the aligner, the aligned crop and the
//! re-identification network. It must give vectors or nothing, never panic,
//! hang or exhaust memory.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use limen_face::FaceFinder;
use limen_face::omz::OmzReid;

static MODELS: OnceLock<(FaceFinder, OmzReid)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (finder, nets) = MODELS.get_or_init(|| {
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        (
            FaceFinder::load(&models).expect("dlib models in the repository load"),
            OmzReid::load(&models).expect("Intel models in the repository load"),
        )
    });
    let Ok(image) = limen_face::decode(data) else {
        return;
    };
    for face in finder.find(&image) {
        let _ = nets.describe(&image, face.rect);
    }
});
