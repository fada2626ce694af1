//! Limen's connectors to an organisation's access management system (ACS).
//! Limen never decides who may pass: it tells the ACS whose face it saw, and
//! the ACS's answer is the decision.
//!
//! - [`http`]: Limen POSTs a signed request to the ACS's endpoint; the
//!   receiving side's check is [`http::Verifier`].
//! - [`osdp`]: the camera agent acts as an OSDP reader on the ACS panel's
//!   serial line and reports a card read; the panel's LED answer is the decision.
//! - [`wiegand`]: the card formats a reader reports an ACS id in.

pub mod http;
pub mod osdp;
pub mod wiegand;

/// The access system's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Granted,
    Denied,
}
