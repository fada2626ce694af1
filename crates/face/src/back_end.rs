//! Scoring back-ends: a transform that turns a base version's vector into
//! a derived version's from the vector alone. A version that changes only
//! its back-end therefore migrates stored vectors in place, and nobody is
//! asked for a new picture (no picture is kept to recompute from).
//!
//! The one back-end so far centres: it subtracts the mean vector of a set
//! of faces and brings the result back to unit length, which spreads the
//! vectors over the sphere the network leaves them crowded on one side of.

use crate::Descriptor;
use crate::models::{ModelError, ModelFile, ModelSource, read_verified};

/// A back-end as a model version names it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackEnd {
    /// The version whose vectors it transforms.
    pub base: &'static str,
    /// The mean subtracted: the version's dimensions as little-endian f32.
    pub mean: ModelFile,
}

/// The mean of the `omz-reid-0095` vectors of lfw-dev (the largest face of
/// each image, the label-noise images set apart: 2,714 vectors), made by
/// Limen; see `models/README.md`.
pub const OMZ_REID_0095_LFW_DEV_MEAN: ModelFile = ModelFile {
    file_name: "back-ends/omz-reid-0095-lfw-dev-mean.f32",
    sha256: "818c2d4a5840a36576836bc67e88ef56daefbce8cd9306185999e2cf8b57eb04",
};

impl BackEnd {
    /// Reads and checks the back-end's file (from a directory, or built
    /// in), for vectors of `dimensions` numbers.
    pub fn load(
        &self,
        models: impl Into<ModelSource>,
        dimensions: usize,
    ) -> Result<Centring, ModelError> {
        let models = models.into();
        let bytes = read_verified(&models, self.mean)?;
        if bytes.len() != dimensions * 4 {
            return Err(ModelError::Invalid {
                path: models.path_of(self.mean.file_name),
                reason: format!(
                    "{} bytes where {dimensions} little-endian f32 take {}",
                    bytes.len(),
                    dimensions * 4
                ),
            });
        }
        let mean = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Centring { mean })
    }
}

/// A loaded centring back-end.
#[derive(Debug, Clone)]
pub struct Centring {
    mean: Vec<f32>,
}

impl Centring {
    /// The derived vector of the base version's `vector`: less the mean,
    /// at unit length. `None` for a vector of another length.
    pub fn apply(&self, vector: &[f32]) -> Option<Descriptor> {
        if vector.len() != self.mean.len() {
            return None;
        }
        let mut centred: Vec<f32> = vector.iter().zip(&self.mean).map(|(v, m)| v - m).collect();
        let norm = centred.iter().map(|v| v * v).sum::<f32>().sqrt();
        // A vector equal to the mean has no direction; it stays at zero
        // (nobody's face, it matches nobody) rather than becoming NaN.
        if norm > 0.0 {
            centred.iter_mut().for_each(|v| *v /= norm);
        }
        Some(Descriptor::from_vec(centred))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn centring_subtracts_the_mean_and_keeps_unit_length() {
        let centring = Centring {
            mean: vec![0.5, 0.0, 0.0],
        };
        let derived = centring.apply(&[1.0, 0.0, 0.0]).expect("three numbers");
        assert_eq!(derived.as_slice(), &[1.0, 0.0, 0.0]);
        let derived = centring.apply(&[0.5, 0.6, 0.8]).expect("three numbers");
        assert_eq!(derived.as_slice(), &[0.0, 0.6, 0.8]);
        assert!(centring.apply(&[1.0, 0.0]).is_none());
        let zero = centring.apply(&[0.5, 0.0, 0.0]).expect("three numbers");
        assert!(zero.as_slice().iter().all(|v| *v == 0.0));
    }

    #[test]
    fn the_shipped_mean_loads_for_256_numbers_only() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        let back_end = BackEnd {
            base: "omz-reid-0095",
            mean: OMZ_REID_0095_LFW_DEV_MEAN,
        };
        let centring = back_end.load(&dir, 256).expect("shipped");
        let norm = centring.mean.iter().map(|v| v * v).sum::<f32>().sqrt();
        // The vectors are unit length: their mean lies well inside.
        assert!(norm > 0.05 && norm < 0.5, "{norm}");
        assert!(matches!(
            back_end.load(&dir, 128),
            Err(ModelError::Invalid { .. })
        ));
    }
}
