//! Enrolment: frames from the webcam become a person's vectors. The face
//! engine works on them in memory; the frames are wiped as soon as it is
//! done, and only the vectors are kept, encrypted, by the store.

use std::sync::Arc;

use limen_domain::{AuditAction, AuditDetail, FaceVector, LivenessMode, ModelVersion, Person};
use limen_face::{EnrolmentError, LivenessChecker, QualityThresholds};
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
    /// What the person should change, one stable code each (a poor
    /// frame's quality issues, else the problem's own code), worded in
    /// the person's language where they read it.
    pub advice: Vec<&'static str>,
}

impl FrameProblem {
    fn of(problem: &limen_face::FrameProblem) -> FrameProblem {
        let advice = match problem {
            limen_face::FrameProblem::PoorQuality(issues) => {
                issues.iter().map(|issue| issue.code()).collect()
            }
            other => vec![other.code()],
        };
        FrameProblem {
            code: problem.code(),
            advice,
        }
    }

    fn single(code: &'static str) -> FrameProblem {
        FrameProblem {
            code,
            advice: vec![code],
        }
    }
}

/// Why a sitting was refused, for the pages to word.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Not between 1 and this many frames.
    FrameCount { max: usize },
    /// No frame gave a vector, each for the problem listed.
    NoUsableFrame(Vec<FrameProblem>),
    /// The frames kept show different people.
    FramesDisagree,
    /// A frame is no image.
    Undecodable,
}

impl ServiceError {
    /// Why the frames of a sitting or a check were refused, if they were.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            ServiceError::Enrolment(EnrolmentError::FrameCount(_)) => Some(Refusal::FrameCount {
                max: limen_face::MAX_ENROLMENT_FRAMES,
            }),
            ServiceError::Enrolment(EnrolmentError::NoUsableFrame(set_aside)) => {
                Some(Refusal::NoUsableFrame(
                    set_aside
                        .iter()
                        .map(|aside| FrameProblem::of(&aside.problem))
                        .collect(),
                ))
            }
            ServiceError::Enrolment(EnrolmentError::FramesDisagree) => {
                Some(Refusal::FramesDisagree)
            }
            ServiceError::Frame(_) => Some(Refusal::Undecodable),
            _ => None,
        }
    }
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
        let checker = self.enrolment_liveness(person).await?;
        let slot = self.engine_queue.admit(EngineWork::Enrolment).await?;
        let enrolment = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let views: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
            engine.enrol(&views, checker.as_deref())
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
            AuditAction::VectorEnrolled,
            AuditDetail::Enrolled {
                model: model_version.clone(),
                vectors: u32::try_from(vectors.len()).unwrap_or(u32::MAX),
            },
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
                    problem: FrameProblem::of(&aside.problem),
                })
                .collect(),
        })
    }

    /// The liveness check enrolment applies for `person`: where their
    /// organisation enforces liveness at an entrance, a face enrolled from
    /// a photo or a screen would be refused at that door anyway, so
    /// enrolment refuses such frames too, with advice. Elsewhere (the
    /// default, `monitor`), none: press-style photographs are judged not
    /// live often enough (BENCHMARKS.md, "Liveness") that refusing them
    /// would turn real people away for nothing the door checks.
    async fn enrolment_liveness(
        &self,
        person: &Person,
    ) -> Result<Option<Arc<LivenessChecker>>, ServiceError> {
        let enforced = self
            .store()
            .entrances(&person.org_id)
            .await?
            .iter()
            .any(|entrance| entrance.liveness == LivenessMode::Enforce);
        Ok(if enforced {
            Some(self.library.liveness().await?)
        } else {
            None
        })
    }

    /// Live guidance for the webcam page: what is wrong with this frame,
    /// if anything, and how the face is turned.
    pub async fn check_frame(
        &self,
        person: &Person,
        frame: Frame,
    ) -> Result<FrameCheck, ServiceError> {
        check_frame_size(&frame)?;
        let engine = self.in_use().await?.active().clone();
        let checker = self.enrolment_liveness(person).await?;
        let slot = self.engine_queue.admit(EngineWork::Enrolment).await?;
        // Faces, their quality and liveness only: no vector is made for a
        // check.
        let (faces, live) = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let image = limen_face::decode(&frame)?;
            let faces = engine.finder().find(&image);
            let live = match (faces.as_slice(), checker.as_deref()) {
                ([face], Some(checker)) => checker.judges_live(&image, face.rect),
                _ => true,
            };
            Ok::<_, limen_face::FaceError>((faces, live))
        })
        .await??;
        Ok(match faces.as_slice() {
            [] => FrameCheck {
                problems: vec![FrameProblem::of(&limen_face::FrameProblem::NoFace)],
                yaw_deg: None,
            },
            [face] => {
                // Judged as enrolment will judge it.
                let report = QualityThresholds::enrolment().judge(&face.quality.measurements);
                let not_live = (!live).then_some(limen_face::FrameProblem::NotLive);
                FrameCheck {
                    problems: report
                        .issues
                        .iter()
                        .map(|issue| FrameProblem::single(issue.code()))
                        .chain(not_live.as_ref().map(FrameProblem::of))
                        .collect(),
                    yaw_deg: Some(report.measurements.yaw_deg),
                }
            }
            _ => FrameCheck {
                problems: vec![FrameProblem::of(&limen_face::FrameProblem::SeveralFaces)],
                yaw_deg: None,
            },
        })
    }

    /// Deletes the person's vectors (consent stays; they may enrol again)
    /// and takes them out of every gallery.
    pub async fn remove_vectors(&self, person: &Person) -> Result<bool, ServiceError> {
        let entry = audit::by_employee(person, AuditAction::VectorDeleted, AuditDetail::None);
        let deleted = self.store().delete_vectors(&entry, person).await?;
        self.galleries
            .follow_own_removal(&person.org_id, &person.id)
            .await;
        Ok(deleted)
    }
}
