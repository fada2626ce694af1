//! Limen's services: the one owner of every change to a person, a consent,
//! a vector or an organisation. Between the edges (HTTP handlers, pages,
//! `limen admin …`) and the store, they keep three things in step: the
//! store, the live galleries of every running instance, and the audit
//! trail. They return the domain's types and [`ServiceError`]s; they never
//! speak HTTP.
//!
//! - [`Services`] serves one running instance: consent (give, withdraw),
//!   enrolment (frames to vectors through the face engine, stored as the
//!   person's set), vector removal, cancellation, person erasure, people
//!   and invitations, accounts and sessions, the person's overview and
//!   export, recognition at the entrances, and the retention purge.
//! - [`Operator`] serves `limen admin …`: organisations and the audit
//!   trail's check. It holds no gallery.
//!
//! # Galleries in step across instances
//!
//! Every change to a face is numbered in the store's change sequence in
//! the transaction that makes it (and announced by PostgreSQL
//! `LISTEN/NOTIFY`, ids only). Each instance applies changes as they are
//! announced, polls as a safety net, and before it searches a frame makes
//! sure it has applied every change up to the database's head; when it
//! cannot, the frame is refused. See the `galleries` module. Model renewal
//! (issue 10) will add its service here: a second set of galleries of the
//! incoming model, followed the same way.
//!
//! # Checking that nothing goes around the services
//!
//! The galleries are a private type of this crate: nothing outside can
//! reach them, and the server does not even depend on `limen-matcher`. A
//! reviewer checks the rest by grep, from the workspace root:
//!
//! ```text
//! grep -rn 'limen_matcher' crates/server crates/limen/src
//! ```
//!
//! finds only the benchmarks (`bench_matcher.rs` and `bench_galleries.rs`
//! measure the matcher on galleries they make for themselves;
//! `bench_seed.rs` reads the descriptor length), and
//!
//! ```text
//! grep -rnE -B3 '\.(give_consent|withdraw_consent|replace_vectors|delete_vectors|cancel_registration|delete_person|delete_organisation)\(' crates/server crates/limen/src
//! ```
//!
//! shows every call of a store method that changes a face or a consent
//! with its receiver: each is on `services` or `operator`, except in
//! `bench_seed.rs`, which fills throw-away benchmark databases before any
//! instance starts. (Should a call ever slip through, the galleries would
//! still follow, since the store numbers the change itself; what would be
//! lost is the audit entry.)

mod accounts;
mod audit;
mod consent;
mod engine_queue;
mod enrolment;
mod error;
mod galleries;
mod operator;
mod overview;
mod passes;
pub mod password;
mod people;
mod recognition;
mod retention;
mod security;

use std::sync::Arc;

use limen_domain::{Actor, ModelVersion, OrgId};
use limen_face::FaceEngine;
use limen_matcher::calibration_for;
use limen_store::Store;

pub use accounts::Session;
pub use enrolment::{Enrolled, Frame, FrameProblem, MAX_FRAME_PIXELS, SetAsideFrame};
pub use error::ServiceError;
pub use operator::{AdminToken, Operator};
pub use overview::{
    AccountOverview, ExportedAccount, ExportedPerson, ExportedVector, FaceSummary,
    OrganisationName, PersonExport,
};
pub use passes::{MAX_PASS_FRAMES, PASS_WINDOW, PassKey};
pub use people::Invitation;
pub use recognition::{Recognised, Recognition};
pub use retention::Retention;
pub use security::SecurityView;

use crate::engine_queue::EngineQueue;
use crate::galleries::{Galleries, GalleryModel};
use crate::passes::Passes;

/// The services of one running instance.
pub struct Services {
    store: Store,
    engine: Arc<FaceEngine>,
    /// Bounds the engine's work to the cores, entrance frames first.
    engine_queue: Arc<EngineQueue>,
    galleries: Arc<Galleries>,
    /// The devices' passes being decided.
    passes: Arc<Passes>,
    retention: Retention,
    /// Applies the changes other instances make, for as long as this lives.
    follower: tokio::task::JoinHandle<()>,
    /// Ends quiet passes every second, wiping their vectors.
    sweeper: tokio::task::JoinHandle<()>,
}

impl Services {
    /// Loads the galleries of the engine's model from the store and starts
    /// following the changes made elsewhere. Call within a Tokio runtime.
    pub async fn start(
        store: Store,
        engine: Arc<FaceEngine>,
        retention: Retention,
    ) -> Result<Services, ServiceError> {
        let face_model = engine.model();
        let calibration = calibration_for(face_model.id)
            .ok_or_else(|| ServiceError::Uncalibrated(face_model.id.to_owned()))?;
        let model = GalleryModel {
            version: ModelVersion::new(face_model.id),
            dimensions: face_model.dimensions,
            calibration: calibration.clone(),
        };
        let galleries = Arc::new(Galleries::load(store.clone(), model).await?);
        let follower = tokio::spawn(galleries.clone().follow());
        let passes = Arc::new(Passes::default());
        let sweeper = tokio::spawn({
            let passes = passes.clone();
            async move {
                let mut every_second = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    every_second.tick().await;
                    passes.sweep();
                }
            }
        });
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Services {
            store,
            engine,
            engine_queue: EngineQueue::new(cores),
            galleries,
            passes,
            retention,
            follower,
            sweeper,
        })
    }

    /// Bounds the face engine to `workers` jobs at once instead of one per
    /// core (see `engine_queue`).
    pub fn with_engine_workers(mut self, workers: usize) -> Services {
        self.engine_queue = EngineQueue::new(workers);
        self
    }

    /// The store, for reading and for what changes no face (sessions,
    /// entrances, devices, decision events).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The model the engine makes vectors with and the galleries hold.
    pub fn model_version(&self) -> &ModelVersion {
        self.galleries.model()
    }

    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// How many people `org`'s gallery holds on this instance.
    pub fn gallery_len(&self, org: &OrgId) -> usize {
        self.galleries.len(org)
    }

    /// Records an organisation admin's action in the organisation's trail.
    pub async fn audit_admin(&self, org: &OrgId, action: &str, subject: &str, detail: &str) {
        audit::record(
            &self.store,
            org.as_str(),
            &Actor::Admin,
            action,
            subject,
            detail,
        )
        .await;
    }

    /// Stops following changes and closes the database connections.
    pub async fn shutdown(&self) {
        self.follower.abort();
        self.sweeper.abort();
        self.store.close().await;
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.follower.abort();
        self.sweeper.abort();
    }
}
