//! The HTTP connector: Limen POSTs `{"type": "access.requested",
//! "entrance", "acs_id"}` to the ACS's URL and the ACS answers
//! `{"granted": bool}`.
//!
//! Requests are signed the Standard Webhooks way (standardwebhooks.com),
//! so an access system can check them with an existing library in its own
//! language:
//!
//! - `webhook-id`: a random id, never reused (`msg_` and 32 hex digits);
//! - `webhook-timestamp`: unix seconds;
//! - `webhook-signature`: `v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`,
//!   keyed with the entrance's secret, which is given as `whsec_<base64>`.
//!
//! The receiver checks the signature and refuses timestamps outside a
//! window, as those libraries do, and also refuses an id it has already
//! seen (see [`Verifier`]), so a captured request cannot be replayed even
//! inside the window.

mod client;
mod policy;
mod signature;

pub use client::{HttpAccessError, HttpAccessSystem, HttpConfigError};
pub use policy::{AllowedHost, ConnectorPolicy, InvalidAllowedHost};
pub use signature::{
    MessageId, ReceivedHeaders, SecretError, SharedSecret, Verifier, VerifyError, sign,
};

use serde::{Deserialize, Serialize};

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// What Limen asks the access system; on the wire, a Standard Webhooks
/// event of type `access.requested` with these fields at the top level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    /// The entrance the person stands at.
    pub entrance: String,
    /// The person's id in the access system.
    pub acs_id: String,
}

/// What Limen sends an access system, as [`Verifier::verify`] returns it:
/// on the wire the event's `type` beside its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum WebhookEvent {
    #[serde(rename = "access.requested")]
    AccessRequested(AccessRequest),
    /// An admin's "send a test": nobody stands at the door; the access
    /// system answers with any 2xx status to show it is reached and takes
    /// the signature.
    #[serde(rename = "connection.test")]
    ConnectionTest { entrance: String },
}

impl AccessRequest {
    /// The JSON body that is sent and signed.
    fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(&WebhookEvent::AccessRequested(self.clone()))
            .expect("a struct of strings serialises")
    }
}

/// The body the access system answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessResponse {
    pub granted: bool,
}
