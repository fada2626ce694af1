//! OpenVINO IR models, read into plain Rust data.
//!
//! An IR model is two files: an XML topology (layers with their attributes
//! and port shapes, and the edges between ports) and a `.bin` file of weight
//! blobs that the XML addresses by byte offset and size. This crate reads
//! IR version 5 (Model Optimizer 2019), the version of Intel's Open Model
//! Zoo models Limen ships, into an [`IrModel`]: it checks the structure and
//! turns every blob into `f32` values, but knows nothing of what a layer
//! computes. Running a model is the face engine's job (`limen-face`), as
//! `limen-dlib-format` is for dlib's files.
//!
//! Nothing in a file is trusted: every problem is a [`FormatError`], never a
//! panic, and no allocation is larger than the input makes necessary.

mod f16;
mod model;
mod xml;

pub use f16::f16_to_f32;
pub use model::{Blob, Edge, IrModel, Layer, Port, Precision};

use thiserror::Error;

/// Why an IR model could not be read.
#[derive(Debug, Error, PartialEq)]
pub enum FormatError {
    #[error("the topology is not well-formed XML: {0}")]
    Xml(String),
    #[error("the topology's root element is <{0}>, not <net>")]
    NotANet(String),
    #[error("IR version {0} is not supported (only version 5)")]
    Version(String),
    #[error("{element}: attribute {attribute} is missing")]
    MissingAttribute {
        element: String,
        attribute: &'static str,
    },
    #[error("{element}: attribute {attribute}={value:?} is not valid")]
    InvalidAttribute {
        element: String,
        attribute: String,
        value: String,
    },
    #[error("{element}: {reason}")]
    Invalid { element: String, reason: String },
    #[error("layer {layer}: blob {blob} lies outside the {bin_len}-byte weights file")]
    BlobOutOfRange {
        layer: u32,
        blob: String,
        bin_len: usize,
    },
    #[error("layer {layer}: precision {precision} is not supported (FP16 or FP32)")]
    Precision { layer: u32, precision: String },
    #[error("layer id {0} appears twice")]
    DuplicateLayer(u32),
    #[error("edge {from_layer}:{from_port} -> {to_layer}:{to_port} names a missing layer or port")]
    DanglingEdge {
        from_layer: u32,
        from_port: u32,
        to_layer: u32,
        to_port: u32,
    },
}
