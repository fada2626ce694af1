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
//! devices, decision events), `device_activity` (when each device was
//! last heard from, its frames in the last hour), `audit`, `retention`, `rollout` (the model
//! versions in use and their renewal), `statements`, and `changes` (the
//! numbered record of every change a gallery must follow). Every method
//! that performs an audited action takes its [`AuditRecord`] and commits
//! it with the action; `anchor` records each chain's head outside the
//! database after the commit.
//!
//! # Deleted means destroyed (P4)
//!
//! A deleted row is only marked free by either database; its bytes stay in
//! the file until overwritten. What each backend does about it:
//!
//! - **SQLite.** Every connection runs with `secure_delete`, so what a
//!   delete frees is overwritten with zeros. After every deletion of
//!   biometric data (withdrawal, removal or replacement of a set,
//!   cancellation, erasure of a person, deletion of an organisation) the
//!   write-ahead log is checkpointed into the file and truncated, so that
//!   neither the file nor the log keeps the old ciphertext. Should a
//!   long reader hold that checkpoint back, the hourly retention sweep
//!   repeats it and logs when it cannot. Upgrading a file made before this
//!   (schema version 4) rewrites it once with `VACUUM`.
//! - **PostgreSQL.** A deleted row stays in its table page as a dead
//!   tuple; `VACUUM` (and autovacuum) makes its space reusable but does
//!   not overwrite it, so the ciphertext stays readable in the table file
//!   until a later row happens to take its place. The write-ahead log
//!   holds the row as inserted until its segment is recycled, and archived
//!   WAL, base backups and replicas keep it as long as they are kept.
//!   PostgreSQL has no secure delete; what an operator can do is in
//!   `crates/server/README.md` ("Deleted data on PostgreSQL").
//!
//! Crypto-shredding: each person's set is sealed under a key of its own
//! (`vector_keys`, wrapped by the organisation's data key), deleted with
//! the set and replaced at every re-enrolment, so the live database holds
//! no key for a deleted set's ciphertext. On PostgreSQL the deleted key's
//! row lingers as a dead tuple like the vectors' until `VACUUM FULL
//! vector_keys` (a small table) rewrites it.
//!
//! On both, copies taken before a deletion (backups, snapshots, and on
//! PostgreSQL the dead rows and old WAL) still hold the ciphertext, its
//! wrapped key and the organisation's wrapped data key: the master key
//! opens them until it is rotated. [`Store::rotate_master_key`] gives every
//! organisation a new data key, wraps or seals anew what the old one
//! wrapped or sealed, and wraps everything (the audit key too, with its
//! value kept) under the new master key in one transaction; once the old
//! key file is destroyed (`limen admin key rotate` does it after the
//! commit), no copy from before can be decrypted, including the vectors of
//! people and organisations deleted since. Below the database, a filesystem or an SSD may keep
//! overwritten blocks; full-disk encryption covers that.

pub mod audit;
pub mod crypto;
pub mod token;

mod accounts;
mod admin_totp;
mod admins;
mod anchor;
mod api_keys;
mod changes;
mod consents;
mod device_activity;
mod entrances;
mod faces;
mod migration;
mod organisations;
mod people;
mod retention;
mod rollout;
mod rotation;
mod schema;
mod statements;
mod store;

pub use accounts::RedeemError;
pub use admin_totp::AdminTotp;
pub use admins::AdminLogin;
pub use anchor::AnchorError;
pub use api_keys::{ADMIN_TOKEN_NAME, MAX_API_KEYS, NewApiKey};
pub use audit::{AuditEntry, AuditRecord, BrokenLink, OPERATOR_CHAIN};
pub use changes::{FACE_CHANGES_CHANNEL, FaceChange, FaceChangeListener};
pub use crypto::{KeyError, MasterKey};
pub use device_activity::DeviceTally;
pub use entrances::{
    DecisionFilter, DeviceAtEntrance, MAX_LISTED_DECISIONS, NamedDecision, NewConnector,
};
pub use faces::{GallerySet, StoredVector};
pub use rollout::{
    ActivationRefused, DueRenewal, EndedTransition, RenewalProgress, VersionHolding,
};
pub use rotation::Rotated;
pub use store::{Backend, Store, StoreError};
