//! Limen's face engine: image in, faces with landmarks, quality and 128-d
//! descriptors out.
//!
//! It runs Davis King's dlib models (CC0) in pure Rust and reproduces dlib's
//! results: the Python `face_recognition` package is the correctness oracle.
//! It reads model files and nothing else: no other I/O, no knowledge of people.

pub mod chip;
pub mod decode;
pub mod descriptor;
pub mod detect;
pub mod engine;
mod fhog;
pub mod geometry;
pub mod image;
pub mod ir_net;
mod jpeg;
pub mod landmarks;
pub mod models;
mod nn;
pub mod omz;
mod pyramid;
pub mod quality;
pub mod warp;

pub use chip::{ChipError, FaceChip};
pub use decode::{DecodeError, decode};
pub use descriptor::{Descriptor, DescriptorError, DescriptorNet};
pub use detect::{Detection, HogFaceDetector};
pub use engine::{
    EnrolmentError, Face, FaceEngine, FaceError, FaceFinder, FoundFace, SAME_PERSON_DISTANCE,
};
pub use geometry::{Point, Rect};
pub use image::RgbImage;
pub use landmarks::ShapePredictor;
pub use models::{DESCRIPTOR_MODEL_VERSION, ModelError};
pub use quality::{QualityIssue, QualityReport, QualityThresholds};
