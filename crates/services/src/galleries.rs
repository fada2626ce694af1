//! The live galleries: every organisation's consenting people's vectors of
//! the engine's model, in memory, searched at the entrances. This is the
//! only type that reads or changes them.
//!
//! They follow the store's change sequence (see `limen_store`'s `changes`):
//! each change names a person (or a deleted organisation), and applying it
//! means making the gallery hold what the store holds for them now. That
//! makes applying idempotent and order-safe, so a change may be applied
//! twice (by the instance that made it, and again when it is announced)
//! and a burst of changes to one person is applied once.
//!
//! Three ways a change reaches an instance: the service that made it
//! applies it before it answers; on PostgreSQL, `NOTIFY` wakes every other
//! instance at once; and before a frame is searched, the database's head
//! of the sequence is read (one row by primary key) and anything not yet
//! applied is applied first. The last makes the others a matter of speed:
//! a lost announcement or a dropped connection cannot leave a withdrawn
//! face matchable, and when the head cannot be read the frame is refused.
//!
//! One gallery per model version in use (see `models`): the active one
//! and, during a transition, the retiring one. Each change is applied to
//! every version's gallery; a version joins (filled from the store) or
//! leaves when the rollout changes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use limen_domain::{FaceVector, ModelVersion, OrgId, PersonId};
use limen_matcher::{Calibration, DecisionRule, Identification, Scoring, UnknownReason};
use limen_store::{Store, StoreError};
use zeroize::Zeroizing;

use crate::error::ServiceError;

type OrgGalleries = limen_matcher::Galleries<OrgId, PersonId>;

/// Changes read from the store at a time while catching up.
const CATCH_UP_BATCH: i64 = 1000;
/// How long a frame waits for the galleries to be confirmed current.
const CURRENT_WITHIN: Duration = Duration::from_secs(3);
/// How often the head is read with no announcement: the only way on
/// SQLite (a `limen admin` command changes the same file), a safety net on
/// PostgreSQL (a connection that died without telling).
const POLL_SQLITE: Duration = Duration::from_secs(1);
const POLL_POSTGRES: Duration = Duration::from_secs(5);
/// Wait before listening again after the listening connection failed.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// One gallery on this instance: an organisation's people enrolled with a
/// version in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GallerySize {
    pub organisation: OrgId,
    pub model_version: ModelVersion,
    pub people: usize,
}

pub(crate) struct Galleries {
    store: Store,
    /// Replaced whole when the versions in use change, or when the changes
    /// an instance missed are no longer in the store (it lagged past their
    /// retention).
    current: RwLock<Arc<Vec<VersionGallery>>>,
    /// The last change this instance has applied.
    applied: AtomicI64,
    /// One applier at a time, so changes are applied in order.
    applying: tokio::sync::Mutex<()>,
}

impl Galleries {
    /// Every consenting person's vectors of each of `models`, decrypted.
    pub(crate) async fn load(
        store: Store,
        models: Vec<GalleryModel>,
    ) -> Result<Galleries, StoreError> {
        // The head first: whatever commits while loading is applied again.
        let head = store.face_change_head().await?;
        let mut versions = Vec::with_capacity(models.len());
        for model in models {
            versions.push(fill(&store, model).await?);
        }
        Ok(Galleries {
            store,
            current: RwLock::new(Arc::new(versions)),
            applied: AtomicI64::new(head),
            applying: tokio::sync::Mutex::new(()),
        })
    }

    /// Holds the galleries of `models` from now on: versions kept stay as
    /// they are, new ones are filled from the store, others are dropped.
    pub(crate) async fn use_versions(&self, models: Vec<GalleryModel>) -> Result<(), StoreError> {
        // No change is applied while a version is filled: every change
        // committed meanwhile is above `applied` and reaches it afterwards.
        let _applying = self.applying.lock().await;
        let old = self.current();
        let mut versions = Vec::with_capacity(models.len());
        for model in models {
            match old.iter().find(|v| v.model.version == model.version) {
                Some(kept) => versions.push(kept.clone()),
                None => versions.push(fill(&self.store, model).await?),
            }
        }
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(versions);
        Ok(())
    }

    /// The thresholds and corrections `version`'s gallery decides with.
    pub(crate) fn calibration(&self, version: &ModelVersion) -> Option<Calibration> {
        self.current()
            .iter()
            .find(|v| &v.model.version == version)
            .map(|v| v.model.calibration.clone())
    }

    fn current(&self) -> Arc<Vec<VersionGallery>> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// How many people `org`'s gallery of `version` holds.
    pub(crate) fn len(&self, org: &OrgId, version: &ModelVersion) -> usize {
        self.current()
            .iter()
            .find(|v| &v.model.version == version)
            .map_or(0, |v| v.people.len(org))
    }

    /// Every gallery of every version in use, with the people it holds.
    pub(crate) fn sizes(&self) -> Vec<GallerySize> {
        self.current()
            .iter()
            .flat_map(|v| {
                v.people
                    .sizes()
                    .into_iter()
                    .map(|(organisation, people)| GallerySize {
                        organisation,
                        model_version: v.model.version.clone(),
                        people,
                    })
            })
            .collect()
    }

    /// Applies every change up to the database's head, if any is missing.
    pub(crate) async fn ensure_current(&self) -> Result<(), StoreError> {
        let head = self.store.face_change_head().await?;
        self.ensure_current_at(head).await
    }

    /// Applies every change up to `head`, the database's head as just read,
    /// if any is missing.
    async fn ensure_current_at(&self, head: i64) -> Result<(), StoreError> {
        if head != self.applied.load(Ordering::Acquire) {
            self.catch_up().await?;
        }
        Ok(())
    }

    /// After a service changed a face: applies it (and whatever else is
    /// pending) before the service answers. Should that fail, the change is
    /// still in the store and no frame is searched before it is applied.
    pub(crate) async fn follow_own_change(&self) {
        if let Err(e) = self.ensure_current().await {
            tracing::error!(error = %e, "a face change is stored but not yet applied to the galleries; frames are refused until it is");
        }
    }

    /// After a service removed a person's face (withdrawal, removal,
    /// cancellation, erasure): applies it, then waits until every match of
    /// them this instance handed out before has been let go (told to the
    /// access system, or its handover ended or expired: see
    /// `Services::hold_for_handover`), so that when the service answers, no
    /// door is still being told of them. Applying never waits for matches:
    /// frames go on being decided meanwhile.
    pub(crate) async fn follow_own_removal(&self, org: &OrgId, person: &PersonId) {
        self.follow_own_change().await;
        for version in self.current().iter() {
            let galleries = version.people.clone();
            let (org, person) = (org.clone(), person.clone());
            spawn_blocking(move || galleries.wait_for_matches(&org, &person)).await;
        }
    }

    async fn catch_up(&self) -> Result<(), StoreError> {
        let _applying = self.applying.lock().await;
        let head = self.store.face_change_head().await?;
        if head < self.applied.load(Ordering::Acquire) {
            // The sequence went back (a database restored from a backup, a
            // lagging replica promoted): what was applied proves nothing.
            return self.reload(head).await;
        }
        while self.applied.load(Ordering::Acquire) < head {
            let applied = self.applied.load(Ordering::Acquire);
            let changes = self
                .store
                .face_changes_after(applied, CATCH_UP_BATCH)
                .await?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return self.reload(head).await;
            };
            if changes[0].seq != applied + 1 {
                // The sequence has no gaps: these were pruned before this
                // instance saw them.
                return self.reload(head).await;
            }
            // Each person (or organisation) once: applying reads what the
            // store holds now, which already includes any later change.
            let mut seen = HashSet::new();
            for change in changes.iter().rev() {
                if seen.insert((&change.org_id, &change.person_id)) {
                    self.apply(&change.org_id, change.person_id.as_ref())
                        .await?;
                }
            }
            self.applied.store(last, Ordering::Release);
            tracing::debug!(applied = last, "face changes applied");
        }
        Ok(())
    }

    /// Makes every version's gallery hold what the store holds for this
    /// person (or, for a deleted organisation, nothing of it).
    async fn apply(&self, org: &OrgId, person: Option<&PersonId>) -> Result<(), StoreError> {
        for version in self.current().iter() {
            let galleries = version.people.clone();
            let org = org.clone();
            let Some(person) = person.cloned() else {
                // Removal takes the gallery's write lock: off the async
                // threads.
                let dropped = org.clone();
                let people = spawn_blocking(move || galleries.remove_organisation(&org)).await;
                tracing::info!(org = %dropped, people, "organisation deleted: its gallery is dropped");
                continue;
            };
            let model = &version.model.version;
            let set = self.store.gallery_set(&org, &person, model).await?;
            if set.is_empty() {
                spawn_blocking(move || galleries.remove(&org, &person)).await;
            } else {
                enrol(&galleries, model, org, person, &set)?;
            }
        }
        Ok(())
    }

    /// Loads every gallery afresh and puts it in place of the old one.
    async fn reload(&self, head: i64) -> Result<(), StoreError> {
        tracing::warn!(
            applied = self.applied.load(Ordering::Acquire),
            head,
            "the face changes since this instance's last one are not in the database: reloading every gallery"
        );
        let mut fresh = Vec::new();
        for version in self.current().iter() {
            fresh.push(fill(&self.store, version.model.clone()).await?);
        }
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(fresh);
        self.applied.store(head, Ordering::Release);
        Ok(())
    }

    /// Confirms that every change up to `head` (the database's head, read
    /// when the frame arrived) is applied, or says why a frame must be
    /// refused.
    pub(crate) async fn confirm_current(&self, head: i64) -> Result<(), ServiceError> {
        match tokio::time::timeout(CURRENT_WITHIN, self.ensure_current_at(head)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "frame refused: the galleries cannot be confirmed current");
                return Err(ServiceError::GalleriesNotCurrent);
            }
            Err(_) => {
                tracing::warn!("frame refused: confirming the galleries current took too long");
                return Err(ServiceError::GalleriesNotCurrent);
            }
        }
        Ok(())
    }

    /// Searches `org`'s gallery of `version` for `probe` (the fused vector
    /// of a passage of `frames` frames); call [`Galleries::confirm_current`]
    /// first. A match keeps the service that removes its person from
    /// answering until it is dropped (see `follow_own_removal`). A version
    /// no longer held finds nobody.
    pub(crate) async fn identify(
        &self,
        org: &OrgId,
        version: &ModelVersion,
        probe: Zeroizing<Vec<f32>>,
        frames: usize,
        rule: DecisionRule,
    ) -> Result<Identification<PersonId>, ServiceError> {
        let Some(galleries) = self
            .current()
            .iter()
            .find(|v| &v.model.version == version)
            .map(|v| v.people.clone())
        else {
            return Ok(Identification::Unknown(UnknownReason::EmptyGallery));
        };
        let org = org.clone();
        let model = version.clone();
        let found = tokio::task::spawn_blocking(move || {
            galleries.identify(&org, model.as_str(), &probe, frames, &rule)
        })
        .await?;
        // The probe came from the engine of this very model, finite.
        found.map_err(|e| {
            tracing::error!(error = %e, "the matcher refused a probe");
            ServiceError::Internal
        })
    }

    /// Follows the changes other instances (and `limen admin`) make, for
    /// as long as the service runs: announcements on PostgreSQL, polling
    /// besides. Errors are logged; frames stay refused while the head
    /// cannot be read.
    pub(crate) async fn follow(self: Arc<Self>) {
        let mut healthy = true;
        loop {
            match self.store.listen_face_changes().await {
                Ok(Some(mut listener)) => {
                    // Listening before catching up: nothing falls between.
                    self.catch_up_logged(&mut healthy).await;
                    loop {
                        match tokio::time::timeout(POLL_POSTGRES, listener.changed()).await {
                            Ok(Ok(())) | Err(_) => self.catch_up_logged(&mut healthy).await,
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "lost the face change announcements; listening again");
                                break;
                            }
                        }
                    }
                }
                Ok(None) => loop {
                    tokio::time::sleep(POLL_SQLITE).await;
                    self.catch_up_logged(&mut healthy).await;
                },
                Err(e) => {
                    if healthy {
                        tracing::warn!(error = %e, "cannot listen for face changes; retrying");
                        healthy = false;
                    }
                }
            }
            tokio::time::sleep(RELISTEN_AFTER).await;
        }
    }

    async fn catch_up_logged(&self, healthy: &mut bool) {
        match self.ensure_current().await {
            Ok(()) if !*healthy => {
                tracing::info!("face changes followed again");
                *healthy = true;
            }
            Ok(()) => {}
            Err(e) if *healthy => {
                tracing::warn!(error = %e, "cannot follow face changes; frames are refused until it can");
                *healthy = false;
            }
            Err(_) => {}
        }
    }
}

/// What the galleries need to know of a model version: its stored tag,
/// its vectors' length and how its distances are decided.
#[derive(Clone)]
pub(crate) struct GalleryModel {
    pub version: ModelVersion,
    pub dimensions: usize,
    pub calibration: Calibration,
}

/// Every organisation's gallery of one model version.
#[derive(Clone)]
struct VersionGallery {
    model: GalleryModel,
    people: Arc<OrgGalleries>,
}

async fn fill(store: &Store, model: GalleryModel) -> Result<VersionGallery, StoreError> {
    let galleries = OrgGalleries::new(
        model.version.as_str(),
        model.dimensions,
        Scoring::HUBNESS,
        model.calibration.clone(),
    );
    // Every core: opening the sets while rows stream in, then measuring
    // every new vector's neighbourhood (most of the load).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    store
        .gallery_sets(&model.version, threads, |set| {
            enrol(
                &galleries,
                &model.version,
                set.org_id,
                set.person_id,
                &set.vectors,
            )
        })
        .await?;
    galleries.refresh_all(threads);
    Ok(VersionGallery {
        model,
        people: Arc::new(galleries),
    })
}

/// Puts a person's stored set in the gallery, in place of what it held.
fn enrol(
    galleries: &OrgGalleries,
    model: &ModelVersion,
    org: OrgId,
    person: PersonId,
    set: &[FaceVector],
) -> Result<(), StoreError> {
    let vectors: Vec<&[f32]> = set.iter().map(FaceVector::as_slice).collect();
    galleries
        .enrol(&org, person, model.as_str(), &vectors)
        .map_err(|e| {
            tracing::error!(error = %e, "a stored vector set was refused by the gallery");
            StoreError::Corrupt("vector set")
        })
}

/// Runs a gallery removal, or a wait for matches, off the async threads. A panic in the matcher
/// would be a bug; it is logged, not answered, as the store change is done.
async fn spawn_blocking<T: Default + Send + 'static>(
    removal: impl FnOnce() -> T + Send + 'static,
) -> T {
    tokio::task::spawn_blocking(removal)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "removing from a gallery failed");
            T::default()
        })
}
