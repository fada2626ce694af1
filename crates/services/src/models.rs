//! The model versions in use, following the rollout the store holds.
//!
//! The rollout (see `limen_domain::ModelRollout`) is changed by the
//! operator (`limen admin model activate`) on any instance or none; each
//! instance reads it before every frame and enrolment (one row by primary
//! key) and, when it changed, loads the engines and galleries of the
//! versions now in use. The end of a transition, when its old vectors are
//! deleted, is kept by a task of every instance (see [`keep_rollout`]);
//! the store makes sure it happens once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use limen_domain::{
    Actor, AuditAction, AuditDetail, Language, ModelRollout, ModelVersion, OrgId, Person, PersonId,
    UnixTime, now,
};
use limen_face::{FaceEngine, FaceModel, LivenessChecker, ModelSource};
use limen_matcher::calibration_for;
use limen_store::{AuditRecord, RenewalProgress, Store};

use crate::audit;
use crate::error::ServiceError;
use crate::galleries::{Galleries, GalleryModel};
use crate::{Retention, Services};

/// How often each instance checks whether a transition is over (and
/// whether a consent to an older statement lapsed).
const TRANSITION_CHECK: Duration = Duration::from_secs(5);

/// The model versions this build can run, loaded from one source (a
/// directory, or the files built in) when first needed and kept.
pub struct ModelLibrary {
    models: ModelSource,
    default: FaceModel,
    loaded: Mutex<HashMap<&'static str, Arc<FaceEngine>>>,
    liveness: tokio::sync::OnceCell<Arc<LivenessChecker>>,
}

impl ModelLibrary {
    /// The versions whose files are in `models`; a new database starts
    /// with `default`.
    pub fn new(models: impl Into<ModelSource>, default: FaceModel) -> ModelLibrary {
        ModelLibrary {
            models: models.into(),
            default,
            loaded: Mutex::new(HashMap::new()),
            liveness: tokio::sync::OnceCell::new(),
        }
    }

    /// A library whose default version's engine is loaded already.
    pub fn with_engine(models: impl Into<ModelSource>, engine: Arc<FaceEngine>) -> ModelLibrary {
        let library = ModelLibrary::new(models, engine.model());
        library.lock().insert(engine.model().id, engine);
        library
    }

    pub fn default_version(&self) -> FaceModel {
        self.default
    }

    /// The engine of `version`, loaded (and its files checked) the first
    /// time it is asked for.
    pub(crate) async fn engine(
        &self,
        version: &ModelVersion,
    ) -> Result<Arc<FaceEngine>, ServiceError> {
        let model = FaceModel::by_id(version.as_str())
            .ok_or_else(|| ServiceError::UnknownModel(version.to_string()))?;
        if let Some(engine) = self.lock().get(model.id) {
            return Ok(engine.clone());
        }
        let models = self.models.clone();
        let engine = tokio::task::spawn_blocking(move || FaceEngine::load(models, model))
            .await?
            .map_err(|e| ServiceError::ModelUnavailable(e.to_string()))?;
        let engine = Arc::new(engine);
        Ok(self.lock().entry(model.id).or_insert(engine).clone())
    }

    /// The anti-spoofing networks, loaded (and their files checked) the
    /// first time an entrance asks.
    pub(crate) async fn liveness(&self) -> Result<Arc<LivenessChecker>, ServiceError> {
        self.liveness
            .get_or_try_init(|| async {
                let models = self.models.clone();
                let checker = tokio::task::spawn_blocking(move || LivenessChecker::load(models))
                    .await?
                    .map_err(|e| ServiceError::ModelUnavailable(e.to_string()))?;
                Ok(Arc::new(checker))
            })
            .await
            .cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Arc<FaceEngine>>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The versions in use and their engines, the active one first.
pub(crate) struct InUse {
    pub rollout: ModelRollout,
    pub engines: Vec<Arc<FaceEngine>>,
}

impl InUse {
    pub fn active(&self) -> &Arc<FaceEngine> {
        // `ModelRollout::in_use` always starts with the active version.
        &self.engines[0]
    }
}

/// What the galleries of `engine`'s version need.
pub(crate) fn gallery_model(engine: &FaceEngine) -> Result<GalleryModel, ServiceError> {
    let model = engine.model();
    let calibration =
        calibration_for(model.id).ok_or_else(|| ServiceError::Uncalibrated(model.id.to_owned()))?;
    Ok(GalleryModel {
        version: ModelVersion::new(model.id),
        dimensions: model.dimensions,
        calibration: calibration.clone(),
    })
}

/// The engines of every version `rollout` uses.
pub(crate) async fn engines_for(
    library: &ModelLibrary,
    rollout: &ModelRollout,
) -> Result<Vec<Arc<FaceEngine>>, ServiceError> {
    let mut engines = Vec::new();
    for version in rollout.in_use() {
        engines.push(library.engine(version).await?);
    }
    Ok(engines)
}

/// An organisation's view of the rollout.
#[derive(Debug, Clone)]
pub struct RolloutView {
    pub rollout: ModelRollout,
    pub progress: RenewalProgress,
}

/// A renewal request to send: the person, the notice (0 for the first
/// request, then reminders) and when their old vectors stop working.
#[derive(Debug, Clone)]
pub struct RenewalRequest {
    pub person: Person,
    /// The language the person reads e-mail in.
    pub language: Language,
    pub notice: u32,
    pub ends_at: UnixTime,
}

impl Services {
    /// The versions in use now. When the rollout in the store differs from
    /// the one this instance follows, the engines and galleries of the new
    /// versions are loaded first.
    pub(crate) async fn in_use(&self) -> Result<Arc<InUse>, ServiceError> {
        let rollout = self.store().model_rollout().await?;
        self.in_use_for(rollout).await
    }

    /// As [`Services::in_use`], for the rollout just read from the store
    /// (`None` if it has none, which no started instance leaves).
    pub(crate) async fn in_use_for(
        &self,
        rollout: Option<ModelRollout>,
    ) -> Result<Arc<InUse>, ServiceError> {
        let rollout = rollout.ok_or(ServiceError::Internal)?;
        let cached = self.cached_in_use();
        if cached.rollout == rollout {
            return Ok(cached);
        }
        let _changing = self.changing_versions.lock().await;
        let cached = self.cached_in_use();
        if cached.rollout == rollout {
            return Ok(cached);
        }
        let engines = engines_for(&self.library, &rollout).await?;
        let models = engines
            .iter()
            .map(|e| gallery_model(e))
            .collect::<Result<Vec<_>, _>>()?;
        self.galleries.use_versions(models).await?;
        tracing::info!(
            active = %rollout.active,
            retiring = ?rollout.transition.as_ref().map(|t| t.retiring.as_str()),
            "model versions in use changed"
        );
        let fresh = Arc::new(InUse { rollout, engines });
        *self
            .in_use
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh.clone();
        Ok(fresh)
    }

    pub(crate) fn cached_in_use(&self) -> Arc<InUse> {
        self.in_use
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The rollout and where `org`'s people stand in it.
    pub async fn rollout_view(&self, org: &OrgId) -> Result<RolloutView, ServiceError> {
        let rollout = self.in_use().await?.rollout.clone();
        let progress = self.store().renewal_progress(org, &rollout).await?;
        Ok(RolloutView { rollout, progress })
    }

    /// Sends every renewal request now due, each once across instances:
    /// a request is claimed before `send` is called and given back when
    /// `send` fails, to be tried again on the next round. Returns how many
    /// were sent.
    pub async fn send_renewal_requests<F, Fut, E>(&self, send: F) -> Result<usize, ServiceError>
    where
        F: Fn(RenewalRequest) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let rollout = self.in_use().await?.rollout.clone();
        let Some(transition) = &rollout.transition else {
            return Ok(0);
        };
        // Its holders move in place (see `migration`): nobody renews.
        if crate::migration::derives_in_place(&rollout.active, &transition.retiring) {
            return Ok(0);
        }
        let at = now();
        let mut sent = 0;
        for due in self.store().due_renewals(&rollout, at).await? {
            let person = due.person;
            if !self
                .store()
                .claim_renewal_notice(&person.id, &rollout.active, due.notice, at)
                .await?
            {
                continue;
            }
            let request = RenewalRequest {
                language: self.mail_language(&person).await?,
                person: person.clone(),
                notice: due.notice,
                ends_at: transition.ends_at,
            };
            match send(request).await {
                Ok(()) => {
                    sent += 1;
                    let entry = audit::entry(
                        person.org_id.as_str(),
                        &Actor::Operator,
                        AuditAction::RenewalRequested,
                        person.id.as_str(),
                        AuditDetail::RenewalRequested {
                            model: rollout.active.clone(),
                            notice: due.notice,
                            until: transition.ends_at,
                        },
                    );
                    // The e-mail is out; an entry that cannot follow it is
                    // an error for the operator, not a reason to send again.
                    if let Err(e) = self.store().audit(&entry).await {
                        tracing::error!(error = %e, "a renewal request was sent but not recorded");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "renewal request not sent; it will be tried again");
                    self.store()
                        .release_renewal_notice(&person.id, &rollout.active, due.notice)
                        .await?;
                }
            }
        }
        Ok(sent)
    }
}

/// Ends the transition when it is over, on whichever instance gets there
/// first, and keeps the privacy statements' consents (see `reconsent`),
/// for as long as the service runs.
pub(crate) async fn keep_rollout(store: Store, galleries: Arc<Galleries>, retention: Retention) {
    let mut tick = tokio::time::interval(TRANSITION_CHECK);
    let mut statements = HashMap::new();
    loop {
        tick.tick().await;
        crate::reconsent::keep_statements(&store, &galleries, &retention, &mut statements).await;
        // A plain read first: ending takes the write lock, which SQLite's
        // other writers would otherwise wait for every few seconds.
        match store.model_rollout().await {
            Ok(Some(rollout)) if rollout.transition_over(now()) => {}
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the model rollout; trying again");
                continue;
            }
        }
        match store
            .end_model_transition(retired_entry, now(), false)
            .await
        {
            Ok(Some(ended)) => {
                galleries.follow_own_change().await;
                tracing::info!(
                    retired = %ended.retired,
                    people = ended.people.len(),
                    "model transition ended: the old vectors are deleted"
                );
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot end the model transition; trying again"),
        }
    }
}

/// The entry recording that a transition's end deleted a person's vectors,
/// in their organisation's trail.
pub(crate) fn retired_entry(org: &OrgId, person: &PersonId, retired: &ModelVersion) -> AuditRecord {
    audit::entry(
        org.as_str(),
        &Actor::Operator,
        AuditAction::VectorRetired,
        person.as_str(),
        AuditDetail::Retired {
            model: retired.clone(),
        },
    )
}
