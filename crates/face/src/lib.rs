//! Limen's face engine: image in, faces with landmarks, quality and 128-d
//! descriptors out.
//!
//! It runs Davis King's dlib models (CC0) in pure Rust and reproduces dlib's
//! results: the Python `face_recognition` package is the correctness oracle.
//! It reads model files and nothing else: no other I/O, no knowledge of people.

pub mod chip;
pub mod descriptor;
pub mod geometry;
pub mod image;
mod nn;

pub use chip::{ChipError, FaceChip};
pub use descriptor::{Descriptor, DescriptorError, DescriptorNet};
pub use geometry::{Point, Rect};
pub use image::RgbImage;
