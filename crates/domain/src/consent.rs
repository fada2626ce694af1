//! Consent: what a person agreed to (a version of the privacy statement),
//! when and how, and when they took it back.

use serde::Serialize;

use crate::language::Language;
use crate::values::UnixTime;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Consent {
    /// The SHA-256 of the statement text the person read.
    pub statement_version: String,
    /// The language of the statement they read.
    pub statement_language: Language,
    pub method: String,
    pub given_at: UnixTime,
    pub withdrawn_at: Option<UnixTime>,
}

impl Consent {
    pub fn is_active(&self) -> bool {
        self.withdrawn_at.is_none()
    }
}
