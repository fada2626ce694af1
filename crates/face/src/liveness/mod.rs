//! Presentation-attack detection ("liveness"): is the face in front of the
//! camera a live person, or a photo or a screen held up to it?
//!
//! Minivision's two MiniFASNet networks (Apache 2.0) run in pure Rust, as
//! upstream's predictor runs them: each sees an 80×80 crop of the face box
//! enlarged around its centre (2.7× for MiniFASNetV2, 4× for
//! MiniFASNetV1SE), their softmax outputs are averaged, and class 1 is a
//! live face. PyTorch through `tools/liveness/reference.py` is the
//! correctness oracle.
//!
//! [`LivenessChecker`] is loaded on its own, apart from the face engine, so
//! a caller that does not check liveness pays nothing for it. It takes a
//! face the engine found (a dlib HOG box) and maps it to the box upstream's
//! own detector would have drawn ([`ReferenceBox::from_hog`]), since the
//! networks were trained on crops around that detector's boxes.

mod crop;
mod net;

use limen_torch_format::StateDict;
use thiserror::Error;

pub use crop::{CropRegion, ReferenceBox, crop_input, crop_region};
pub use net::{CLASSES, INPUT_SIZE, LivenessInput, MiniFasNet, MiniFasNetError};

use crate::models::{self, LIVENESS_V1SE, LIVENESS_V2, ModelFile, ModelSource};
use crate::{ModelError, Rect, RgbImage};

/// Upstream's class index of a live face (0 and 2 are attack classes).
pub const LIVE_CLASS: usize = 1;

/// The live score from which a face counts as live where liveness is
/// enforced: the live class at least as likely as both attack classes
/// together. On lfw-dev's press photographs it refuses 9.7% of real faces
/// and let none of the screen and print attacks made on this machine
/// through (BENCHMARKS.md, "Liveness").
pub const LIVE_FROM: f32 = 0.5;

/// The two networks and the enlargement of the face box each was trained on.
pub const NETWORKS: [(ModelFile, f64); 2] = [(LIVENESS_V2, 2.7), (LIVENESS_V1SE, 4.0)];

/// Why a face could not be checked.
#[derive(Debug, Error, PartialEq)]
pub enum LivenessError {
    #[error("the face box is empty or outside the image")]
    NoCrop,
}

/// Both networks' verdict on one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Liveness {
    /// Class probabilities of each network, in [`NETWORKS`] order.
    pub per_network: [[f32; CLASSES]; 2],
}

impl Liveness {
    /// The networks' mean class probabilities (upstream sums them; the
    /// arg-max is the same).
    pub fn fused(&self) -> [f32; CLASSES] {
        let [a, b] = self.per_network;
        std::array::from_fn(|i| (a[i] + b[i]) / 2.0)
    }

    /// The fused probability that the face is live, 0–1 (upstream's
    /// "score" when its label is live).
    pub fn live_score(&self) -> f32 {
        self.fused()[LIVE_CLASS]
    }

    /// Upstream's own decision: the live class has the highest fused
    /// probability.
    pub fn upstream_label_is_live(&self) -> bool {
        let fused = self.fused();
        fused
            .iter()
            .enumerate()
            .all(|(i, &p)| i == LIVE_CLASS || p < fused[LIVE_CLASS])
    }
}

/// Both liveness networks, loaded and checksummed. Load once, share by
/// reference (it is `Send + Sync`; every method takes `&self`).
#[derive(Debug)]
pub struct LivenessChecker {
    networks: [MiniFasNet; 2],
}

impl LivenessChecker {
    /// Loads both networks (in the `liveness/` folder of a directory, or
    /// built in), checking their SHA-256 first.
    pub fn load(models: impl Into<ModelSource>) -> Result<LivenessChecker, ModelError> {
        let models = models.into();
        let load = |model: ModelFile| {
            let bytes = models::read_verified(&models, model)?;
            let invalid = |reason: String| ModelError::Invalid {
                path: models.path_of(model.file_name),
                reason,
            };
            let dict = StateDict::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
            MiniFasNet::from_state_dict(&dict).map_err(|e| invalid(e.to_string()))
        };
        Ok(LivenessChecker {
            networks: [load(NETWORKS[0].0)?, load(NETWORKS[1].0)?],
        })
    }

    /// Multiply-adds of one check (both networks).
    pub fn multiply_adds(&self) -> usize {
        self.networks.iter().map(MiniFasNet::multiply_adds).sum()
    }

    /// Whether the face at `face` looks live: its score reaches
    /// [`LIVE_FROM`]. A face that cannot be judged does not.
    pub fn judges_live(&self, image: &RgbImage, face: Rect) -> bool {
        self.check(image, face)
            .is_ok_and(|liveness| liveness.live_score() >= LIVE_FROM)
    }

    /// Liveness of the face the engine found at `face` (a HOG box, as in
    /// [`crate::FoundFace::rect`]).
    pub fn check(&self, image: &RgbImage, face: Rect) -> Result<Liveness, LivenessError> {
        self.check_box(image, ReferenceBox::from_hog(face))
    }

    /// Liveness of the face in a box drawn as upstream's detector draws it.
    pub fn check_box(
        &self,
        image: &RgbImage,
        face: ReferenceBox,
    ) -> Result<Liveness, LivenessError> {
        let mut per_network = [[0.0; CLASSES]; 2];
        for ((net, (_, scale)), out) in self.networks.iter().zip(NETWORKS).zip(&mut per_network) {
            let input = network_input(image, face, scale)?;
            *out = net.probabilities(&input);
        }
        Ok(Liveness { per_network })
    }

    /// The class probabilities of network `index` (in [`NETWORKS`] order)
    /// for a prepared crop.
    pub fn network_probabilities(
        &self,
        index: usize,
        input: &LivenessInput,
    ) -> Option<[f32; CLASSES]> {
        self.networks.get(index).map(|net| net.probabilities(input))
    }
}

/// The crop a network trained on `scale`× boxes sees for `face`.
pub fn network_input(
    image: &RgbImage,
    face: ReferenceBox,
    scale: f64,
) -> Result<LivenessInput, LivenessError> {
    let region =
        crop_region(image.width(), image.height(), face, scale).ok_or(LivenessError::NoCrop)?;
    crop_input(image, region).ok_or(LivenessError::NoCrop)
}
