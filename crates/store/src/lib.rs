//! Limen's storage: organisations, people, accounts, consents, encrypted
//! face vectors, entrances, the audit trail and the change sequence of
//! faces, on SQLite or PostgreSQL. The vocabulary is `limen-domain`'s.
//!
//! Both databases sit behind the one [`Store`]: queries are written once in
//! the SQL both understand (`$n` parameters, `ON CONFLICT`, `RETURNING`),
//! and only the migrations are per dialect. The store holds no images.
//!
//! One module per aggregate, each adding its methods to [`Store`]:
//! `organisations`, `people`, `accounts` (invitations, accounts, sessions,
//! cancellation), `faces` (consent and vectors), `entrances` (entrances,
//! devices, decision events), `audit`, `retention`, and `changes` (the
//! numbered record of every change a gallery must follow).

pub mod audit;
pub mod crypto;
pub mod token;

mod accounts;
mod changes;
mod entrances;
mod faces;
mod organisations;
mod people;
mod retention;
mod store;

pub use accounts::RedeemError;
pub use audit::{AuditEntry, AuditEvent, BrokenLink, OPERATOR_CHAIN};
pub use changes::{FACE_CHANGES_CHANNEL, FaceChange, FaceChangeListener};
pub use crypto::{KeyError, MasterKey};
pub use entrances::{DeviceAtEntrance, NewConnector};
pub use faces::{GallerySet, StoredVector};
pub use store::{Backend, Store, StoreError};
