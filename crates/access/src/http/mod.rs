//! The HTTP connector: Limen POSTs
//! `{"entrance", "acs_id", "timestamp", "nonce"}` to the ACS's URL, signed
//! with a secret shared with the ACS, and the ACS answers `{"granted": bool}`.
//!
//! Headers: `X-Limen-Timestamp: <unix seconds>` and
//! `X-Limen-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>.<body>">`.
//! The receiver checks the signature, refuses timestamps outside a window
//! and nonces it has already seen (see [`Verifier`]), so a captured request
//! cannot be replayed.

mod client;
mod signature;

pub use client::{HttpAccessError, HttpAccessSystem, HttpConfigError};
pub use signature::{SharedSecret, Verifier, VerifyError, sign};

use serde::{Deserialize, Serialize};

pub const TIMESTAMP_HEADER: &str = "X-Limen-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Limen-Signature";

/// The body Limen sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    /// The entrance the person stands at.
    pub entrance: String,
    /// The person's id in the access system.
    pub acs_id: String,
    /// Unix seconds; equal to the timestamp header.
    pub timestamp: u64,
    /// Random, never reused; lets the receiver refuse replays.
    pub nonce: String,
}

/// The body the access system answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessResponse {
    pub granted: bool,
}
