//! Enrolment: frames from the webcam become a person's vectors. The face
//! engine works on them in memory; the frames are wiped as soon as it is
//! done, and only the vectors are kept, encrypted, by the store.

use limen_domain::{FaceVector, ModelVersion, Person};
use zeroize::Zeroizing;

use crate::Services;
use crate::error::ServiceError;

/// An uploaded image, wiped from memory when dropped.
pub type Frame = Zeroizing<Vec<u8>>;

/// What an enrolment stored.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub model_version: ModelVersion,
    pub vectors: usize,
}

/// What is wrong with one frame for enrolment, as the webcam page guides.
#[derive(Debug, Clone)]
pub struct FrameProblem {
    /// A stable code, for programs.
    pub code: &'static str,
    /// Advice, for people.
    pub advice: String,
}

impl Services {
    pub async fn has_active_consent(&self, person: &Person) -> Result<bool, ServiceError> {
        Ok(self
            .store()
            .consents(person)
            .await?
            .iter()
            .any(|c| c.is_active()))
    }

    /// Makes the person's vectors from the frames of one sitting and
    /// replaces their set with them (enrolment and renewal alike).
    pub async fn enrol(
        &self,
        person: &Person,
        frames: Vec<Frame>,
    ) -> Result<Enrolled, ServiceError> {
        // Refuse before any face is looked at; the store checks again when
        // it writes, inside the same transaction as the write (P3).
        if !self.has_active_consent(person).await? {
            return Err(ServiceError::NoConsent);
        }
        let engine = self.engine.clone();
        let descriptor = tokio::task::spawn_blocking(move || {
            let views: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
            engine.enrolment_descriptor(&views)
            // `frames` is dropped here, wiping the image bytes.
        })
        .await??;
        let vector = FaceVector::from_slice(descriptor.as_slice()).map_err(|e| {
            tracing::error!(error = %e, "the engine made an unusable vector");
            ServiceError::Internal
        })?;
        let model_version = self.galleries.model().clone();
        self.store()
            .replace_vectors(person, &model_version, &[vector])
            .await?;
        self.galleries.follow_own_change().await;
        self.audit_employee(person, "vector.enrolled", &format!("model {model_version}"))
            .await;
        Ok(Enrolled {
            model_version,
            vectors: 1,
        })
    }

    /// Live guidance for the webcam page: what is wrong with this frame,
    /// if anything.
    pub async fn check_frame(&self, frame: Frame) -> Result<Vec<FrameProblem>, ServiceError> {
        let engine = self.engine.clone();
        let faces = tokio::task::spawn_blocking(move || engine.analyze(&frame)).await??;
        Ok(match faces.as_slice() {
            [] => vec![FrameProblem {
                code: "no_face",
                advice: "no face found: look straight at the camera".into(),
            }],
            [face] => face
                .quality
                .issues
                .iter()
                .map(|issue| FrameProblem {
                    code: issue.code(),
                    advice: issue.to_string(),
                })
                .collect(),
            _ => vec![FrameProblem {
                code: "several_faces",
                advice: "one face only: make sure nobody else is in the picture".into(),
            }],
        })
    }

    /// Deletes the person's vectors (consent stays; they may enrol again)
    /// and takes them out of every gallery.
    pub async fn remove_vectors(&self, person: &Person) -> Result<bool, ServiceError> {
        let deleted = self.store().delete_vectors(person).await?;
        self.galleries.follow_own_change().await;
        if deleted {
            self.audit_employee(person, "vector.deleted", "").await;
        }
        Ok(deleted)
    }
}
