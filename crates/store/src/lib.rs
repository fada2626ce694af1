//! Limen's domain and storage: organisations, people, accounts, consents,
//! encrypted face vectors and the audit trail, on SQLite or PostgreSQL.
//!
//! Both databases sit behind the one [`Store`]: queries are written once in
//! the SQL both understand (`$n` parameters, `ON CONFLICT`, `RETURNING`),
//! and only the migrations are per dialect. The store holds no images.

pub mod audit;
pub mod crypto;
mod entrance;
mod store;
pub mod token;
pub mod types;

pub use audit::{AuditEntry, AuditEvent, BrokenLink, OPERATOR_CHAIN};
pub use crypto::{KeyError, MasterKey};
pub use entrance::{
    ConnectorKind, DecisionEvent, DeviceAtEntrance, Entrance, GalleryVector, NewConnector,
};
pub use store::{
    Backend, Consent, ImportReport, NewPerson, Organisation, Person, PersonOverview, RedeemError,
    RowError, Store, StoreError, StoredVector,
};
pub use types::{
    AcsId, DeviceId, EmailAddress, EntranceId, InvalidValue, OrgId, PersonId, PersonName,
    PersonStatus, UnixTime, now,
};
