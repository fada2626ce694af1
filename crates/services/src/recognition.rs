//! A frame at an entrance: the engine finds the face, its vector joins the
//! device's pass (see `passes`), the organisation's gallery is searched with
//! the pass's fused vector once the gallery is known to be current, and the
//! caller is told whom it saw (if anyone). The frame and its vectors stay in
//! memory.

use limen_domain::{LivenessMode, ModelVersion, OrgId, PersonId, SecurityLevel};
use limen_face::{EntranceReading, FaceEngine, LIVE_FROM, read_entrance_frame};
use limen_matcher::{DecisionRule, Identification, Match};
use zeroize::Zeroizing;

use crate::Services;
use crate::engine_queue::EngineWork;
use crate::enrolment::Frame;
use crate::error::ServiceError;
use crate::passes::{Evidence, FusedVector, MAX_PASS_FRAMES, PassFrame, PassKey};

/// What a frame shows, as far as the organisation's gallery can tell.
pub enum Recognition {
    NoFace,
    /// The largest face fails the quality check.
    PoorQuality,
    /// Nobody close enough. `decided` once the pass holds as many frames as
    /// it may: the device should stop sending this pass.
    Unknown {
        frames: usize,
        decided: bool,
        live_score: Option<f32>,
    },
    Matched(Recognised),
    /// The entrance enforces liveness and the pass does not look live (or
    /// could not be judged): nobody was searched.
    SpoofSuspected {
        frames: usize,
        decided: bool,
        live_score: Option<f32>,
    },
    /// The frame's pass was decided already; nothing was searched.
    PassDecided,
}

/// An enrolled person seen at the entrance, on the evidence of `frames`
/// frames of the pass. While this is held, a withdrawal, removal or erasure
/// of that person waits: keep it until the access system has been told,
/// and drop it then (or, where the device tells the access panel, hand it
/// to [`Services::hold_for_handover`]).
pub struct Recognised {
    found: Match<PersonId>,
    pub frames: usize,
    /// The pass's mean live score, when the entrance judges liveness.
    pub live_score: Option<f32>,
}

impl Recognised {
    pub fn person(&self) -> &PersonId {
        self.found.person()
    }
}

impl Services {
    /// Decides a frame sent by a device at an entrance of `org` (at the
    /// organisation's security `level`, judging liveness as the entrance's
    /// `liveness` mode says), as part of the device's pass `pass` if it
    /// names one.
    ///
    /// During a model transition the frame is read by each version in use
    /// whose gallery holds someone of `org` (the face is found once), each
    /// version's vector is searched in its own gallery at its own
    /// threshold, and a match of the active version is taken before one of
    /// the retiring version.
    pub async fn recognise(
        &self,
        org: &OrgId,
        level: SecurityLevel,
        liveness: LivenessMode,
        pass: Option<PassKey>,
        frame: Frame,
    ) -> Result<Recognition, ServiceError> {
        crate::enrolment::check_frame_size(&frame)?;
        // One read for the versions in use and the galleries' head: every
        // change committed before the frame arrived is applied before its
        // face is searched.
        let (rollout, head) = self
            .store()
            .rollout_and_face_change_head()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "frame refused: the galleries cannot be confirmed current");
                ServiceError::GalleriesNotCurrent
            })?;
        let in_use = self.in_use_for(rollout).await?;
        let checker = match liveness {
            LivenessMode::Off => None,
            LivenessMode::Monitor | LivenessMode::Enforce => Some(self.library.liveness().await?),
        };
        let engines: Vec<_> = in_use
            .engines
            .iter()
            .enumerate()
            .filter(|(i, engine)| {
                *i == 0
                    || self
                        .galleries
                        .len(org, &ModelVersion::new(engine.model().id))
                        > 0
            })
            .map(|(_, engine)| engine.clone())
            .collect();
        let slot = self.engine_queue.admit(EngineWork::Entrance).await?;
        let read = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            // `frame` is moved in and dropped (wiped) here whatever
            // happens; the engine wipes the decoded pixels itself.
            let engines: Vec<&FaceEngine> = engines.iter().map(|e| e.as_ref()).collect();
            let read = read_entrance_frame(&engines, checker.as_deref(), &frame).map(|reading| {
                (
                    reading,
                    engines.iter().map(|e| e.model()).collect::<Vec<_>>(),
                )
            });
            drop(frame);
            read
        })
        .await??;
        let frame = match read {
            (EntranceReading::NoFace, _) => return Ok(Recognition::NoFace),
            (EntranceReading::PoorQuality(_), _) => return Ok(Recognition::PoorQuality),
            (
                EntranceReading::Face {
                    vectors,
                    live_score,
                },
                models,
            ) => PassFrame {
                vectors: models.into_iter().zip(vectors).collect(),
                live_score,
            },
        };
        // The vectors are wiped on drop.
        let Evidence::Fused {
            vectors: fused,
            live_score,
        } = self.passes.add(pass.as_ref(), frame)
        else {
            return Ok(Recognition::PassDecided);
        };
        if liveness == LivenessMode::Enforce && !live_score.is_some_and(|s| s >= LIVE_FROM) {
            let frames = fused.iter().map(|f| f.frames).max().unwrap_or(1);
            let decided = frames >= MAX_PASS_FRAMES;
            if let (true, Some(pass)) = (decided, &pass) {
                self.passes.decide(pass);
            }
            return Ok(Recognition::SpoofSuspected {
                frames,
                decided,
                live_score,
            });
        }
        self.galleries.confirm_current(head).await?;
        let mut frames = 0;
        let mut found = None;
        for FusedVector {
            model,
            vector,
            frames: fused_frames,
        } in fused
        {
            frames = frames.max(fused_frames);
            if found.is_some() {
                continue;
            }
            let probe = Zeroizing::new(vector.as_slice().to_vec());
            drop(vector);
            let version = ModelVersion::new(model.id);
            if let Identification::Matched(matched) = self
                .galleries
                .identify(org, &version, probe, fused_frames, DecisionRule::new(level))
                .await?
            {
                found = Some(Recognised {
                    found: matched,
                    frames: fused_frames,
                    live_score,
                });
            }
        }
        let decided = found.is_some() || frames >= MAX_PASS_FRAMES;
        if let (true, Some(pass)) = (decided, &pass) {
            self.passes.decide(pass);
        }
        Ok(match found {
            Some(recognised) => Recognition::Matched(recognised),
            None => Recognition::Unknown {
                frames,
                decided,
                live_score,
            },
        })
    }
}
