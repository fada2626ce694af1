//! Limen's vocabulary, shared by every other crate: identifiers and values
//! checked where they enter (an [`EmailAddress`], not a `String`),
//! organisations and people, consent and the privacy statement it names,
//! face vectors and the model version that made them, entrances and the
//! decisions taken at them, and who acted.
//!
//! No database and no HTTP here: the store persists these types, the
//! services change them, the server carries them over HTTP.

mod actor;
mod audit;
mod consent;
mod entrance;
mod face;
mod language;
mod network;
mod people;
mod recorded;
mod rollout;
#[cfg(feature = "utoipa")]
mod schema;
mod security;
mod statement;
mod values;

pub use actor::{Actor, AdminAccount, AdminCredential, ApiKey, OrgAdmin};
pub use audit::{AuditAction, AuditDetail};
pub use consent::Consent;
pub use entrance::{
    AccessSystemAnswer, ConnectorKind, Decision, DecisionDetail, DecisionEvent, Device,
    DeviceStatus, Entrance, LivenessMode, PassId,
};
pub use face::{FaceVector, MAX_VECTORS_PER_PERSON, ModelVersion};
pub use language::{Language, UnknownLanguage};
pub use network::{AddressRange, InvalidAddressRange};
pub use people::{
    DEFAULT_TIME_ZONE, ImportReport, NewPerson, Organisation, Person, PersonOverview, PersonStatus,
    RowError, RowProblem,
};
pub use recorded::{Recorded, Stored};
pub use rollout::{ModelRollout, Transition};
pub use security::{SecurityLevel, UnknownSecurityLevel};
pub use statement::Statement;
pub use values::{
    AcsId, AdminId, ApiKeyId, DeviceId, EmailAddress, EntranceId, HandoverId, InvalidValue, Label,
    OrgId, PersonId, PersonName, UnixTime, now,
};
