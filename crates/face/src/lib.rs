//! Limen's face engine: image in, faces with landmarks, quality and 128-d
//! descriptors out.
//!
//! It runs Davis King's dlib models (CC0) in pure Rust and reproduces dlib's
//! results: the Python `face_recognition` package is the correctness oracle.
//! It reads model files and nothing else: no other I/O, no knowledge of people.

pub mod detect;
mod fhog;
pub mod geometry;
pub mod image;
pub mod landmarks;
mod pyramid;

pub use detect::{Detection, HogFaceDetector};
pub use geometry::{Point, Rect};
pub use image::RgbImage;
pub use landmarks::ShapePredictor;
