//! dlib's serialised model files, read into plain Rust data.
//!
//! This crate knows the *format* only: it turns the bytes of a dlib `.dat` or
//! `.svm` file into structs of numbers. Running a model is the face engine's
//! job (`limen-face`), so a format change and a runtime change never touch the
//! same code. The dlib files stay the source of truth: nothing is converted
//! ahead of time.

pub mod dnn;
pub mod fhog_detector;
mod reader;
pub mod shape_predictor;

pub use dnn::DnnModel;
pub use reader::{FormatError, Reader};
