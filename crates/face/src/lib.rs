//! Limen's face engine: image in, faces with landmarks, quality and 128-d
//! descriptors out.
//!
//! It runs Davis King's dlib models (CC0) in pure Rust and reproduces dlib's
//! results: the Python `face_recognition` package is the correctness oracle.
//! It reads model files and nothing else: no other I/O, no knowledge of people.
//!
//! [`liveness`] (presentation-attack detection: Minivision's MiniFASNet
//! models, PyTorch as the oracle) is loaded on its own, as a
//! [`LivenessChecker`], by callers that want it.

pub mod back_end;
pub mod chip;
pub mod decode;
pub mod descriptor;
pub mod detect;
pub mod engine;
pub mod enrolment;
mod fhog;
pub mod geometry;
pub mod image;
pub mod ir_net;
mod jpeg;
pub mod landmarks;
pub mod liveness;
pub mod models;
mod nn;
pub mod omz;
mod pyramid;
pub mod quality;
pub mod warp;

pub use back_end::{BackEnd, Centring};
pub use chip::{ChipError, FaceChip};
pub use decode::{DecodeError, decode, dimensions};
pub use descriptor::{Descriptor, DescriptorError, DescriptorNet};
pub use detect::{Detection, HogFaceDetector};
pub use engine::{
    CROP_FACE_SHARE, EntranceFrame, EntranceReading, Face, FaceEngine, FaceError, FaceFinder,
    FoundFace, entrance_face, read_entrance_frame,
};
pub use enrolment::{
    EnrolledFace, Enrolment, EnrolmentError, FrameProblem, MAX_ENROLMENT_FRAMES, SetAside,
    enrolment_face,
};
pub use geometry::{Point, Rect};
pub use image::RgbImage;
pub use landmarks::ShapePredictor;
pub use liveness::{LIVE_FROM, Liveness, LivenessChecker, LivenessError};
pub use models::{DescriptorRecipe, FaceModel, ModelError, ModelSource};
pub use quality::{QualityIssue, QualityMeasurements, QualityReport, QualityThresholds};
