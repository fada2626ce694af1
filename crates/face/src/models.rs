//! The model files the engine runs, each checked against the SHA-256 it was
//! released with before a single byte is parsed.
//!
//! The expected digests are compiled in, so a model swapped on disk (and its
//! README edited to match) still fails to load. The files come from a
//! directory or from the binary itself ([`ModelSource`]); either way they
//! are checked the same.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::Descriptor;
use crate::back_end::BackEnd;
use crate::descriptor::DESCRIPTOR_LEN;

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

/// How a face's vector is made from the descriptor network's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptorRecipe {
    /// dlib's descriptor of the aligned chip, exactly as the reference
    /// computes it.
    Plain,
    /// The unit-length sum of the descriptors of the chip and of its mirror
    /// image (test-time augmentation: two network passes). On lfw-dev it
    /// answers more probes with the right person and halves the genuine
    /// pairs refused at dlib's 1:1 operating point (BENCHMARKS.md).
    MirrorAveraged,
    /// Intel's Open Model Zoo `face-reidentification-retail-0095` on the
    /// crop its own aligner (`landmarks-regression-retail-0009`) makes from
    /// the detector's box, unit length ([`crate::omz`]).
    OpenModelZoo,
}

impl DescriptorRecipe {
    /// Whether the recipe's vectors have unit length.
    pub fn unit_length(self) -> bool {
        match self {
            DescriptorRecipe::Plain => false,
            DescriptorRecipe::MirrorAveraged | DescriptorRecipe::OpenModelZoo => true,
        }
    }
}

/// A model version: the models (detector and landmarks, always dlib's, for
/// the faces and their quality; the descriptor network and its chip
/// geometry) and the recipe that turns a face into a vector. Every stored vector records its version's id, and vectors of
/// different versions are never compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceModel {
    pub id: &'static str,
    pub recipe: DescriptorRecipe,
    /// How many numbers each vector has.
    pub dimensions: usize,
    /// Two vectors closer than this are the same person in a 1:1
    /// comparison, at about 0.5% false matches on lfw-dev (dlib's published
    /// operating point, 0.6, for plain descriptors).
    pub same_person_distance: f32,
    /// Where the version only transforms another version's vectors: that
    /// transform, with which stored vectors migrate in place.
    pub back_end: Option<BackEnd>,
}

impl FaceModel {
    /// dlib's descriptor as it is: the vectors Limen stored first.
    pub const DLIB_RESNET_V1: FaceModel = FaceModel {
        id: "dlib-resnet-v1",
        recipe: DescriptorRecipe::Plain,
        dimensions: DESCRIPTOR_LEN,
        same_person_distance: 0.6,
        back_end: None,
    };
    /// dlib's network with mirror averaging, unit length.
    pub const DLIB_RESNET_V1_MIRRORED: FaceModel = FaceModel {
        id: "dlib-resnet-v1-mirrored",
        recipe: DescriptorRecipe::MirrorAveraged,
        dimensions: DESCRIPTOR_LEN,
        same_person_distance: 0.41,
        back_end: None,
    };
    /// Intel's Open Model Zoo re-identification network (256-d) with its
    /// own aligner on dlib's HOG box. 1.2 lets through the share of lfw-dev
    /// impostor pairs that the mirrored version's 0.41 does (0.48% of 3.7 M;
    /// `limen eval lfw`, 1:1 table), and refuses 0.3% of genuine pairs
    /// where 0.41 refuses 1.4%.
    pub const OMZ_REID_0095: FaceModel = FaceModel {
        id: "omz-reid-0095",
        recipe: DescriptorRecipe::OpenModelZoo,
        dimensions: crate::omz::OMZ_VECTOR_LEN,
        same_person_distance: 1.2,
        back_end: None,
    };
    /// `omz-reid-0095` with its vectors centred on their lfw-dev mean
    /// ([`crate::back_end`]): derived from stored `omz-reid-0095` vectors in
    /// place. In 5×2 people-disjoint cross-validation on lfw-dev it
    /// answered more mated probes at the door's operating points (FNIR
    /// 2.27% and 3.45% at FPIR 1% and 0.1%, against 2.55% and 3.73%) and
    /// refused slightly more genuine 1:1 pairs (0.30% against 0.18%, at
    /// 1.211, the distance letting through the 0.49% of impostor pairs
    /// that 1.2 does); BENCHMARKS.md, "A back-end migrated in place".
    pub const OMZ_REID_0095_CENTRED: FaceModel = FaceModel {
        id: "omz-reid-0095-centred",
        recipe: DescriptorRecipe::OpenModelZoo,
        dimensions: crate::omz::OMZ_VECTOR_LEN,
        same_person_distance: 1.211,
        back_end: Some(BackEnd {
            base: "omz-reid-0095",
            mean: crate::back_end::OMZ_REID_0095_LFW_DEV_MEAN,
        }),
    };
    /// The version a new installation enrols with (an existing one keeps
    /// the version its vectors were made with until the operator activates
    /// another): the most accurate on lfw-dev (BENCHMARKS.md).
    pub const DEFAULT: FaceModel = Self::OMZ_REID_0095;
    /// Every version this build can run.
    pub const ALL: [FaceModel; 4] = [
        Self::DLIB_RESNET_V1,
        Self::DLIB_RESNET_V1_MIRRORED,
        Self::OMZ_REID_0095,
        Self::OMZ_REID_0095_CENTRED,
    ];

    pub fn by_id(id: &str) -> Option<FaceModel> {
        Self::ALL.into_iter().find(|v| v.id == id)
    }

    /// The version's manifest: every file it runs, with the digest each
    /// must have.
    pub fn files(&self) -> Vec<ModelFile> {
        let mut files = vec![HOG_DETECTOR, LANDMARKS];
        match self.recipe {
            DescriptorRecipe::Plain | DescriptorRecipe::MirrorAveraged => files.push(DESCRIPTOR),
            DescriptorRecipe::OpenModelZoo => files.extend([
                crate::omz::ALIGNER_XML,
                crate::omz::ALIGNER_BIN,
                crate::omz::REID_XML,
                crate::omz::REID_BIN,
            ]),
        }
        files.extend(self.back_end.map(|b| b.mean));
        files
    }

    /// Whether this version's vectors derive from stored vectors of
    /// `version`, without a picture.
    pub fn derives_from(&self, version: &str) -> bool {
        self.back_end.is_some_and(|b| b.base == version)
    }

    /// Whether every file of the manifest is in `dir` with its digest: the
    /// version is installed there.
    pub fn check_installed(&self, models: impl Into<ModelSource>) -> Result<(), ModelError> {
        let models = models.into();
        for file in self.files() {
            read_verified(&models, file)?;
        }
        Ok(())
    }

    /// One vector for the frames of one passage: their mean, brought back
    /// to unit length for a recipe whose vectors have it. `None` for no
    /// frames or vectors of another length than the version's.
    pub fn fuse(&self, vectors: &[&Descriptor]) -> Option<Descriptor> {
        if vectors.is_empty() || vectors.iter().any(|v| v.len() != self.dimensions) {
            return None;
        }
        let mut sum = vec![0f32; self.dimensions];
        for vector in vectors {
            for (s, v) in sum.iter_mut().zip(vector.as_slice()) {
                *s += v;
            }
        }
        let scale = if self.recipe.unit_length() {
            let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 { 1.0 / norm } else { 1.0 }
        } else {
            1.0 / vectors.len() as f32
        };
        sum.iter_mut().for_each(|v| *v *= scale);
        Some(Descriptor::from_vec(sum))
    }
}

impl std::fmt::Display for FaceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

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

/// Model files built into a binary: each file's name (as [`ModelFile`]
/// has it) and bytes.
pub type BuiltInFiles = &'static [(&'static str, &'static [u8])];

/// Where model files are read from.
#[derive(Clone)]
pub enum ModelSource {
    /// A directory holding the files under their names: the repository's
    /// `models/`, or an operator's (`--models`, `LIMEN_MODELS_DIR`).
    Dir(PathBuf),
    /// Files built into the binary, so that it runs wherever it is
    /// installed (the `limen-shipped-models` crate).
    BuiltIn(BuiltInFiles),
}

impl ModelSource {
    /// How a file of this source is named in messages.
    pub fn path_of(&self, file_name: &str) -> PathBuf {
        match self {
            ModelSource::Dir(dir) => dir.join(file_name),
            ModelSource::BuiltIn(_) => Path::new("(built in)").join(file_name),
        }
    }

    fn read(&self, file_name: &str) -> std::io::Result<Cow<'static, [u8]>> {
        match self {
            ModelSource::Dir(dir) => std::fs::read(dir.join(file_name)).map(Cow::Owned),
            ModelSource::BuiltIn(files) => files
                .iter()
                .find(|(name, _)| *name == file_name)
                .map(|(_, bytes)| Cow::Borrowed(*bytes))
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "not built into this binary")
                }),
        }
    }
}

/// Names the directory, or the built-in files (never their bytes).
impl std::fmt::Debug for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::Dir(dir) => f.debug_tuple("Dir").field(dir).finish(),
            ModelSource::BuiltIn(files) => f
                .debug_tuple("BuiltIn")
                .field(&files.iter().map(|(name, _)| name).collect::<Vec<_>>())
                .finish(),
        }
    }
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::Dir(dir) => write!(f, "{}", dir.display()),
            ModelSource::BuiltIn(_) => f.write_str("the models built into this binary"),
        }
    }
}

impl From<PathBuf> for ModelSource {
    fn from(dir: PathBuf) -> ModelSource {
        ModelSource::Dir(dir)
    }
}

impl From<&Path> for ModelSource {
    fn from(dir: &Path) -> ModelSource {
        ModelSource::Dir(dir.to_owned())
    }
}

impl From<&PathBuf> for ModelSource {
    fn from(dir: &PathBuf) -> ModelSource {
        ModelSource::Dir(dir.clone())
    }
}

impl From<&ModelSource> for ModelSource {
    fn from(source: &ModelSource) -> ModelSource {
        source.clone()
    }
}

/// Reads `model` from `models` and returns its bytes if the digest matches.
pub fn read_verified(
    models: &ModelSource,
    model: ModelFile,
) -> Result<Cow<'static, [u8]>, ModelError> {
    let path = || models.path_of(model.file_name);
    let bytes = models
        .read(model.file_name)
        .map_err(|source| ModelError::Read {
            path: path(),
            source,
        })?;
    let found = hex(&Sha256::digest(&bytes));
    if found != model.sha256 {
        return Err(ModelError::Checksum {
            path: path(),
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
    fn fusing_averages_and_keeps_unit_length_where_the_recipe_has_it() {
        let mut a = [0f32; DESCRIPTOR_LEN];
        let mut b = [0f32; DESCRIPTOR_LEN];
        a[0] = 1.0;
        b[1] = 1.0;
        let (a, b) = (Descriptor::from_slice(&a), Descriptor::from_slice(&b));
        let plain = FaceModel::DLIB_RESNET_V1.fuse(&[&a, &b]).expect("two");
        assert_eq!(plain.as_slice()[..2], [0.5, 0.5]);
        let unit = FaceModel::DLIB_RESNET_V1_MIRRORED
            .fuse(&[&a, &b])
            .expect("two");
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert!(
            (unit.as_slice()[0] - half).abs() < 1e-6 && (unit.as_slice()[1] - half).abs() < 1e-6
        );
        assert!(FaceModel::DLIB_RESNET_V1.fuse(&[]).is_none());
        let short = Descriptor::from_slice(&[1.0; 3]);
        assert!(FaceModel::DLIB_RESNET_V1.fuse(&[&a, &short]).is_none());
    }

    #[test]
    fn shipped_models_match_their_digests() {
        for model in [
            DESCRIPTOR,
            LANDMARKS,
            HOG_DETECTOR,
            LIVENESS_V2,
            LIVENESS_V1SE,
            crate::omz::REID_XML,
            crate::omz::REID_BIN,
            crate::omz::ALIGNER_XML,
            crate::omz::ALIGNER_BIN,
        ] {
            read_verified(&ModelSource::Dir(models_dir()), model).expect("shipped model verifies");
        }
    }

    #[test]
    fn a_changed_byte_is_refused() {
        let dir = std::env::temp_dir().join(format!("limen-models-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut bytes = std::fs::read(models_dir().join(HOG_DETECTOR.file_name)).expect("read");
        bytes[1000] ^= 1;
        std::fs::write(dir.join(HOG_DETECTOR.file_name), &bytes).expect("write");
        let err =
            read_verified(&ModelSource::Dir(dir.clone()), HOG_DETECTOR).expect_err("tampered");
        std::fs::remove_dir_all(&dir).ok();
        assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("refusing to load"));
    }
}
