//! Enrolment: frames from the webcam become a person's vectors. The face
//! engine works on them in memory; the frames are wiped as soon as it is
//! done, and only the vectors are kept, encrypted, by the store.

use limen_domain::{FaceVector, ModelVersion, Person};
use limen_face::QualityThresholds;
use zeroize::Zeroizing;

use crate::engine_queue::EngineWork;
use crate::error::ServiceError;
use crate::{Services, audit};

/// An uploaded image, wiped from memory when dropped.
pub type Frame = Zeroizing<Vec<u8>>;

/// The largest frame the engine is given: a 4K UHD camera's (3840×2160).
/// Webcams and door cameras send less; a larger frame would only cost
/// seconds of CPU and hundreds of megabytes to decode and scan.
pub const MAX_FRAME_PIXELS: u64 = 3840 * 2160;

/// Refuses a frame larger than [`MAX_FRAME_PIXELS`] by what its header
/// declares, before a pixel is decoded. Bytes that are no image pass on to
/// the engine, which says what is wrong with them.
pub(crate) fn check_frame_size(frame: &[u8]) -> Result<(), ServiceError> {
    match limen_face::dimensions(frame) {
        Ok((width, height)) if u64::from(width) * u64::from(height) > MAX_FRAME_PIXELS => {
            Err(ServiceError::FrameTooLarge { width, height })
        }
        _ => Ok(()),
    }
}

/// What an enrolment stored, and which frames it left out.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub model_version: ModelVersion,
    pub vectors: usize,
    pub set_aside: Vec<SetAsideFrame>,
}

/// A frame of the sitting that gave no vector.
#[derive(Debug, Clone)]
pub struct SetAsideFrame {
    /// 1-based, in the order sent.
    pub frame: usize,
    pub problem: FrameProblem,
}

/// The webcam page's live reading of one frame.
#[derive(Debug, Clone)]
pub struct FrameCheck {
    /// What is wrong with it for enrolment; empty when it is good.
    pub problems: Vec<FrameProblem>,
    /// How far the one face is turned (degrees, signed by side), so that
    /// the page can ask for the views the set still lacks.
    pub yaw_deg: Option<f64>,
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

    /// Makes the person's vectors from the frames of one sitting (one per
    /// usable frame that agrees with the others) and replaces their set
    /// with them (enrolment and renewal alike).
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
        for frame in &frames {
            check_frame_size(frame)?;
        }
        let engine = self.in_use().await?.active().clone();
        let model_version = ModelVersion::new(engine.model().id);
        let slot = self.engine_queue.admit(EngineWork::Enrolment).await?;
        let enrolment = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let views: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
            engine.enrol(&views)
            // `frames` is dropped here, wiping the image bytes.
        })
        .await??;
        let vectors = enrolment
            .faces
            .iter()
            .map(|face| FaceVector::from_slice(face.vector.as_slice()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                tracing::error!(error = %e, "the engine made an unusable vector");
                ServiceError::Internal
            })?;
        let entry = audit::by_employee(
            person,
            "vector.enrolled",
            &format!("model {model_version}, {} vectors", vectors.len()),
        );
        self.store()
            .replace_vectors(&entry, person, &model_version, &vectors)
            .await?;
        self.galleries.follow_own_change().await;
        Ok(Enrolled {
            model_version,
            vectors: vectors.len(),
            set_aside: enrolment
                .set_aside
                .iter()
                .map(|aside| SetAsideFrame {
                    frame: aside.frame,
                    problem: FrameProblem {
                        code: aside.problem.code(),
                        advice: aside.problem.to_string(),
                    },
                })
                .collect(),
        })
    }

    /// Live guidance for the webcam page: what is wrong with this frame,
    /// if anything, and how the face is turned.
    pub async fn check_frame(&self, frame: Frame) -> Result<FrameCheck, ServiceError> {
        check_frame_size(&frame)?;
        let engine = self.in_use().await?.active().clone();
        let slot = self.engine_queue.admit(EngineWork::Enrolment).await?;
        // Faces and their quality only: no vector is made for a check.
        let faces = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let image = limen_face::decode(&frame)?;
            Ok::<_, limen_face::FaceError>(engine.finder().find(&image))
        })
        .await??;
        Ok(match faces.as_slice() {
            [] => FrameCheck {
                problems: vec![FrameProblem {
                    code: "no_face",
                    advice: "no face found: look straight at the camera".into(),
                }],
                yaw_deg: None,
            },
            [face] => {
                // Judged as enrolment will judge it.
                let report = QualityThresholds::enrolment().judge(&face.quality.measurements);
                FrameCheck {
                    problems: report
                        .issues
                        .iter()
                        .map(|issue| FrameProblem {
                            code: issue.code(),
                            advice: issue.to_string(),
                        })
                        .collect(),
                    yaw_deg: Some(report.measurements.yaw_deg),
                }
            }
            _ => FrameCheck {
                problems: vec![FrameProblem {
                    code: "several_faces",
                    advice: "one face only: make sure nobody else is in the picture".into(),
                }],
                yaw_deg: None,
            },
        })
    }

    /// Deletes the person's vectors (consent stays; they may enrol again)
    /// and takes them out of every gallery.
    pub async fn remove_vectors(&self, person: &Person) -> Result<bool, ServiceError> {
        let entry = audit::by_employee(person, "vector.deleted", "");
        let deleted = self.store().delete_vectors(&entry, person).await?;
        self.galleries.follow_own_change().await;
        Ok(deleted)
    }
}
