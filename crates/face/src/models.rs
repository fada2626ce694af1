//! The model files the engine runs, each checked against the SHA-256 it was
//! released with before a single byte is parsed.
//!
//! The expected digests are compiled in, so a model swapped on disk (and its
//! README edited to match) still fails to load.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A model file Limen knows, with its released digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    pub file_name: &'static str,
    pub sha256: &'static str,
}

/// dlib's 128-d ResNet face descriptor (CC0).
pub const DESCRIPTOR: ModelFile = ModelFile {
    file_name: "dlib_face_recognition_resnet_model_v1.dat",
    sha256: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
};

/// dlib's 5-point landmark predictor (CC0).
pub const LANDMARKS: ModelFile = ModelFile {
    file_name: "shape_predictor_5_face_landmarks.dat",
    sha256: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
};

/// dlib's HOG frontal face detector (Boost Software License 1.0).
pub const HOG_DETECTOR: ModelFile = ModelFile {
    file_name: "dlib_frontal_face_detector_hog.svm",
    sha256: "f3f7aa833fb4a14a46fc48689f45b98d85ef72d6dfaf8bdc012b7d3c522a5426",
};

/// Minivision's MiniFASNetV2 anti-spoofing network, input the face box
/// enlarged 2.7× (Apache License 2.0).
pub const LIVENESS_V2: ModelFile = ModelFile {
    file_name: "liveness/2.7_80x80_MiniFASNetV2.pth",
    sha256: "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0",
};

/// Minivision's MiniFASNetV1SE anti-spoofing network, input the face box
/// enlarged 4× (Apache License 2.0).
pub const LIVENESS_V1SE: ModelFile = ModelFile {
    file_name: "liveness/4_0_0_80x80_MiniFASNetV1SE.pth",
    sha256: "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990",
};

/// The version tag stored with every descriptor: a vector made by another
/// descriptor model never matches one made by this one.
pub const DESCRIPTOR_MODEL_VERSION: &str = "dlib-resnet-v1";

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model file {path} has SHA-256 {found}, expected {expected}: refusing to load it")]
    Checksum {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },
    #[error("model file {path} is not a valid model: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Reads `model` from `dir` and returns its bytes if the digest matches.
pub fn read_verified(dir: &Path, model: ModelFile) -> Result<Vec<u8>, ModelError> {
    let path = dir.join(model.file_name);
    let bytes = std::fs::read(&path).map_err(|source| ModelError::Read {
        path: path.clone(),
        source,
    })?;
    let found = hex(&Sha256::digest(&bytes));
    if found != model.sha256 {
        return Err(ModelError::Checksum {
            path,
            expected: model.sha256,
            found,
        });
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
    }

    #[test]
    fn shipped_models_match_their_digests() {
        for model in [
            DESCRIPTOR,
            LANDMARKS,
            HOG_DETECTOR,
            LIVENESS_V2,
            LIVENESS_V1SE,
        ] {
            read_verified(&models_dir(), model).expect("shipped model verifies");
        }
    }

    #[test]
    fn a_changed_byte_is_refused() {
        let dir = std::env::temp_dir().join(format!("limen-models-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut bytes = std::fs::read(models_dir().join(HOG_DETECTOR.file_name)).expect("read");
        bytes[1000] ^= 1;
        std::fs::write(dir.join(HOG_DETECTOR.file_name), &bytes).expect("write");
        let err = read_verified(&dir, HOG_DETECTOR).expect_err("tampered");
        std::fs::remove_dir_all(&dir).ok();
        assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("refusing to load"));
    }
}
