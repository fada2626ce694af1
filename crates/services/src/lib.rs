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
//! cannot, the frame is refused. See the `galleries` module.
//!
//! # Model versions
//!
//! The store holds the rollout: the version enrolment uses and, during a
//! transition, the older one the entrances still match while its holders
//! renew. Each instance follows it (see the `models` module): galleries of
//! every version in use, each frame read by each version whose gallery
//! holds someone of the organisation, renewal requests sent, the old
//! vectors deleted when the transition ends.
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
//! lost is an honest audit entry: the store takes the entry it is given.)
//!
//! # Every audited action commits with its entry
//!
//! An audited action hands its entry (`audit` module) to the store method
//! that performs it, which appends it in the action's own transaction: an
//! action whose entry cannot be written is not done. Actions that change
//! nothing else (an export, a failed login) record their entry first and
//! stop when it cannot be written.

mod accounts;
mod admins;
mod api_keys;
mod audit;
mod consent;
mod device_activity;
mod engine_queue;
mod enrolment;
mod entrances;
mod error;
mod galleries;
mod handovers;
mod languages;
mod migration;
mod models;
mod operator;
mod overview;
mod passes;
pub mod password;
mod people;
mod recognition;
mod reconsent;
mod retention;
mod security;
pub mod totp;
mod two_step;

use std::sync::{Arc, RwLock};

use limen_domain::{ModelVersion, OrgId};

use limen_store::Store;

pub use accounts::{PASSWORD_RESET_SECS, PasswordReset, Session};
pub use admins::{AdminInvitation, AdminPasswordReset, AdminSession};
pub use api_keys::ApiKeyToken;
pub use audit::CheckedTrail;
pub use engine_queue::EngineLoad;
pub use enrolment::{
    Enrolled, Frame, FrameCheck, FrameProblem, MAX_FRAME_PIXELS, Refusal, SetAsideFrame,
};
pub use error::ServiceError;
pub use galleries::GallerySize;
pub use handovers::HANDOVER_HOLD;
pub use migration::{Migrated, derives_in_place};
pub use models::{ModelLibrary, RenewalRequest, RolloutView};
pub use operator::{AdminToken, Operator};
pub use overview::{
    AccountOverview, ExportedAccount, ExportedPerson, ExportedReconsentRequest,
    ExportedRenewalRequest, ExportedVector, FaceSummary, OrganisationName, PersonExport,
};
pub use passes::{MAX_PASS_FRAMES, PASS_WINDOW, PassKey};
pub use people::{IMPORT_BATCH, Invitation};
pub use recognition::{Recognised, Recognition};
pub use reconsent::ReconsentRequest;
pub use retention::Retention;
pub use security::SecurityView;
pub use two_step::TwoStepSetup;

use crate::device_activity::DeviceActivity;
use crate::engine_queue::EngineQueue;
use crate::galleries::Galleries;
use crate::handovers::Handovers;
use crate::models::{InUse, engines_for, gallery_model};
use crate::passes::Passes;

/// The services of one running instance.
pub struct Services {
    store: Store,
    library: ModelLibrary,
    /// The model versions this instance follows (see `models`).
    in_use: RwLock<Arc<InUse>>,
    /// One change of versions at a time.
    changing_versions: tokio::sync::Mutex<()>,
    /// Bounds the engine's work to the cores, entrance frames first.
    engine_queue: Arc<EngineQueue>,
    galleries: Arc<Galleries>,
    /// The devices' passes being decided.
    passes: Arc<Passes>,
    /// Matches whose device has yet to tell its access panel.
    handovers: Arc<Handovers>,
    /// Devices heard from since the last write (see `device_activity`).
    device_activity: Arc<DeviceActivity>,
    retention: Retention,
    /// Applies the changes other instances make, for as long as this lives.
    follower: tokio::task::JoinHandle<()>,
    /// Ends quiet passes every second, wiping their vectors, and lets go
    /// of expired handovers.
    sweeper: tokio::task::JoinHandle<()>,
    /// Ends a model transition when it is over, lets consents to an old
    /// statement lapse.
    keeper: tokio::task::JoinHandle<()>,
    /// Writes the devices' activity every few seconds.
    activity_writer: tokio::task::JoinHandle<()>,
}

impl Services {
    /// Loads the galleries of the model versions in use from the store
    /// (on a new database, the library's default version is the active
    /// one) and starts following the changes made elsewhere. Call within a
    /// Tokio runtime.
    pub async fn start(
        store: Store,
        library: ModelLibrary,
        retention: Retention,
    ) -> Result<Services, ServiceError> {
        let rollout = store
            .start_model_rollout(&ModelVersion::new(library.default_version().id))
            .await?;
        let engines = engines_for(&library, &rollout).await?;
        let models = engines
            .iter()
            .map(|e| gallery_model(e))
            .collect::<Result<Vec<_>, _>>()?;
        let galleries = Arc::new(Galleries::load(store.clone(), models).await?);
        let follower = tokio::spawn(galleries.clone().follow());
        let keeper = tokio::spawn(models::keep_rollout(
            store.clone(),
            galleries.clone(),
            retention.clone(),
        ));
        let passes = Arc::new(Passes::default());
        let handovers = Arc::new(Handovers::default());
        let sweeper = tokio::spawn({
            let passes = passes.clone();
            let handovers = handovers.clone();
            async move {
                let mut every_second = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    every_second.tick().await;
                    passes.sweep();
                    handovers.sweep();
                }
            }
        });
        let device_activity = Arc::new(DeviceActivity::default());
        let activity_writer = tokio::spawn({
            let activity = device_activity.clone();
            let store = store.clone();
            async move {
                let mut tick = tokio::time::interval(device_activity::FLUSH_EVERY);
                loop {
                    tick.tick().await;
                    activity.flush(&store).await;
                }
            }
        });
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Services {
            store,
            library,
            in_use: RwLock::new(Arc::new(InUse { rollout, engines })),
            changing_versions: tokio::sync::Mutex::new(()),
            engine_queue: EngineQueue::new(cores),
            galleries,
            passes,
            handovers,
            device_activity,
            retention,
            follower,
            sweeper,
            keeper,
            activity_writer,
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

    /// The model version enrolment uses, as this instance last read it.
    pub fn model_version(&self) -> ModelVersion {
        self.cached_in_use().rollout.active.clone()
    }

    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// How many people `org`'s gallery of the active version holds on this
    /// instance.
    pub fn gallery_len(&self, org: &OrgId) -> usize {
        self.galleries.len(org, &self.model_version())
    }

    /// Every gallery on this instance (each organisation's, for each
    /// version in use) with the people it holds.
    pub fn gallery_sizes(&self) -> Vec<GallerySize> {
        self.galleries.sizes()
    }

    /// The face engine's jobs running and waiting now.
    pub fn engine_load(&self) -> EngineLoad {
        self.engine_queue.load()
    }

    /// Stops following changes, writes the devices' last activity and
    /// closes the database connections.
    pub async fn shutdown(&self) {
        self.follower.abort();
        self.sweeper.abort();
        self.keeper.abort();
        self.activity_writer.abort();
        self.device_activity.flush(&self.store).await;
        self.store.close().await;
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.follower.abort();
        self.sweeper.abort();
        self.keeper.abort();
        self.activity_writer.abort();
    }
}
