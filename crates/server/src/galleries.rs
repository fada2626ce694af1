//! The in-memory galleries the entrances search, kept in step with the
//! store: loaded at start, changed by enrolment, renewal, withdrawal,
//! removal and erasure before the request that changed the store answers.

use std::sync::Arc;

use limen_matcher::{Calibration, Galleries, Scoring, calibration_for};
use limen_store::{OrgId, PersonId, Store, StoreError};
use tokio::sync::{Mutex, MutexGuard};

pub type OrgGalleries = Galleries<OrgId, PersonId>;

pub struct LiveGalleries {
    galleries: Arc<OrgGalleries>,
    /// Held across a store change and the matching gallery change, so an
    /// enrolment and a withdrawal of the same person cannot interleave (a
    /// withdrawal's removal landing between an enrolment's write and its
    /// insertion would leave a withdrawn person searchable).
    changes: Mutex<()>,
}

impl LiveGalleries {
    /// Every consenting person's vector of `model_version`, decrypted.
    pub async fn load(
        store: &Store,
        model_version: &str,
        dimensions: usize,
    ) -> Result<LiveGalleries, StoreError> {
        let calibration = calibration_for(model_version)
            .cloned()
            .unwrap_or(Calibration::UNCALIBRATED);
        let galleries = OrgGalleries::new(model_version, dimensions, Scoring::HUBNESS, calibration);
        for vector in store.gallery_vectors(model_version).await? {
            galleries
                .enrol(
                    &vector.org_id,
                    vector.person_id,
                    model_version,
                    &[&vector.values[..]],
                )
                .map_err(|_| StoreError::Corrupt("vector values"))?;
        }
        Ok(LiveGalleries {
            galleries: Arc::new(galleries),
            changes: Mutex::new(()),
        })
    }

    pub fn galleries(&self) -> &Arc<OrgGalleries> {
        &self.galleries
    }

    /// Taken around a store change that must be mirrored in a gallery.
    pub async fn lock(&self) -> MutexGuard<'_, ()> {
        self.changes.lock().await
    }

    /// Enrols or renews; `values` came from the engine of the active model.
    pub fn upsert(&self, org: &OrgId, person: &PersonId, values: &[f32]) -> bool {
        let model = self.galleries.model_version().to_owned();
        self.galleries
            .enrol(org, person.clone(), &model, &[values])
            .is_ok()
    }

    /// Takes the person out, waiting (off the async threads) until no
    /// match of them from an earlier search is still being reported.
    pub async fn remove(&self, org: &OrgId, person: &PersonId) {
        let galleries = self.galleries.clone();
        let (org, person) = (org.clone(), person.clone());
        // A panic in the matcher would be a bug; the join error is logged
        // rather than answered, since the caller's store change may be done.
        if let Err(e) = tokio::task::spawn_blocking(move || galleries.remove(&org, &person)).await {
            tracing::error!(error = %e, "removing a person from the gallery failed");
        }
    }
}
