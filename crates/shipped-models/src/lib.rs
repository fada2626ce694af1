//! The model files Limen ships in `models/`, built into the binary, so that
//! `limen` finds its default models wherever it is installed (a directory
//! given with `--models` or `LIMEN_MODELS_DIR` still takes their place).
//! Only bytes here: `limen_face::models` knows each file's digest, checks
//! it before parsing as it does for files read from a directory
//! (`limen_face::ModelSource::BuiltIn`), and no build step computes it.
//!
//! The files keep their licences (see `models/README.md`): CC0 for dlib's
//! networks, the Boost Software License for its HOG detector, Apache 2.0
//! for Minivision's liveness networks and Intel's Open Model Zoo ones,
//! whose text goes with any copy of the binary (`models/*/LICENSE-*`).
//! `models/mmod_human_face_detector.dat` is not built in: nothing runs it.

macro_rules! shipped {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/", $name)),
        )
    };
}

/// Each built-in file: its name under `models/`, and its bytes.
pub static FILES: &[(&str, &[u8])] = &[
    shipped!("dlib_frontal_face_detector_hog.svm"),
    shipped!("shape_predictor_5_face_landmarks.dat"),
    shipped!("dlib_face_recognition_resnet_model_v1.dat"),
    shipped!("intel/face-reidentification-retail-0095.xml"),
    shipped!("intel/face-reidentification-retail-0095.bin"),
    shipped!("intel/landmarks-regression-retail-0009.xml"),
    shipped!("intel/landmarks-regression-retail-0009.bin"),
    shipped!("back-ends/omz-reid-0095-lfw-dev-mean.f32"),
    shipped!("liveness/2.7_80x80_MiniFASNetV2.pth"),
    shipped!("liveness/4_0_0_80x80_MiniFASNetV1SE.pth"),
];

#[cfg(test)]
mod tests {
    use limen_face::models::{LIVENESS_V1SE, LIVENESS_V2, read_verified};
    use limen_face::{FaceModel, ModelSource};

    /// Every file a model version or the liveness check runs is built in,
    /// with the digest its manifest expects; nothing else is.
    #[test]
    fn every_file_the_engine_runs_is_built_in_and_verifies() {
        let built_in = ModelSource::BuiltIn(super::FILES);
        let mut needed: Vec<&str> = vec![LIVENESS_V2.file_name, LIVENESS_V1SE.file_name];
        for version in FaceModel::ALL {
            version
                .check_installed(&built_in)
                .unwrap_or_else(|e| panic!("{version}: {e}"));
            needed.extend(version.files().iter().map(|f| f.file_name));
        }
        for file in [LIVENESS_V2, LIVENESS_V1SE] {
            read_verified(&built_in, file).expect("liveness network verifies");
        }
        needed.sort_unstable();
        needed.dedup();
        let mut shipped: Vec<&str> = super::FILES.iter().map(|(name, _)| *name).collect();
        shipped.sort_unstable();
        assert_eq!(shipped, needed);
    }
}
