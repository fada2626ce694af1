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

pub use audit::{AuditEntry, AuditEvent, BrokenLink, OPERATOR_CHAIN};
pub use crypto::{KeyError, MasterKey};
pub use entrance::{DeviceAtEntrance, GalleryVector, NewConnector};
pub use store::{Backend, RedeemError, Store, StoreError, StoredVector};
