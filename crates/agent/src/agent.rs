//! What the agent does with each frame: follow the faces, pick the person
//! at the door, and send their face crop once per passage.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use limen_face::{FaceFinder, FoundFace, LivenessChecker, Rect, RgbImage};
use thiserror::Error;

use crate::capture::Capture;
use crate::crop::encode_face_crop;
use crate::metrics::{AgentMetrics, LocalRejection, ServerError};
use crate::source::SourceError;
use crate::submit::{
    Decision, DropReason, RetryNotice, ServerAnswer, SubmitError, SubmitOutcome, Submitter,
};
use crate::tracker::{TrackId, Tracker};

/// Timing of tracking and sending.
#[derive(Debug, Clone, Copy)]
pub struct AgentConfig {
    /// After a send, how long the same person's track stays quiet.
    pub cooldown: Duration,
    /// How long a face may go unseen before its track ends; someone who
    /// reappears later is a new passage.
    pub track_timeout: Duration,
    /// The time between two frames of a recording (`dir:`, `file:`), which
    /// has no clock of its own.
    pub recorded_frame_interval: Duration,
    /// While faces are tracked, only the regions around them are scanned,
    /// except on every this-many-th frame, which is scanned whole so that
    /// someone new is found too. Frames with nobody tracked are always
    /// scanned whole.
    pub whole_frame_every: u32,
    /// With nothing sent for this long, the agent tells the server it is
    /// still there (a heartbeat), so that a camera nobody passes is not
    /// shown as down.
    pub heartbeat_every: Duration,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            cooldown: Duration::from_secs(5),
            track_timeout: Duration::from_millis(1500),
            recorded_frame_interval: Duration::from_millis(100),
            whole_frame_every: 5,
            heartbeat_every: Duration::from_secs(30),
        }
    }
}

/// A face the detector found, and whether it passed the quality check.
#[derive(Debug, Clone, Copy)]
pub struct SeenFace {
    pub rect: Rect,
    pub passed: bool,
}

/// Where a frame sits: its position in the source, its time on the
/// source's timeline, and when it was read (for its age).
#[derive(Debug, Clone, Copy)]
pub struct FramePosition {
    pub index: u64,
    pub at: Duration,
    pub read_at: Instant,
}

/// What the agent reports on its status output. Nothing here carries an
/// image, a vector or the device token (P6).
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// A frame could not be used; the agent goes on.
    FrameSkipped {
        reason: String,
    },
    /// A face crop is on its way to the server.
    Sending {
        frame: u64,
        track: TrackId,
        bytes: usize,
    },
    Retrying(RetryNotice),
    Dropped {
        frame: u64,
        reason: DropReason,
    },
    /// The server's decision. On `matched`, the caller hands `acs_id` to the
    /// access-panel connector.
    Answered {
        frame: u64,
        answer: ServerAnswer,
    },
    /// A heartbeat did not reach the server; the next is tried later.
    HeartbeatFailed {
        reason: String,
    },
}

impl fmt::Display for AgentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentEvent::FrameSkipped { reason } => write!(f, "{reason}"),
            AgentEvent::Sending {
                frame,
                track,
                bytes,
            } => write!(
                f,
                "frame {frame}: sending the face of track {track} ({bytes} bytes)"
            ),
            AgentEvent::Retrying(notice) => write!(f, "{notice}"),
            AgentEvent::Dropped { frame, reason } => write!(f, "frame {frame}: {reason}"),
            AgentEvent::HeartbeatFailed { reason } => {
                write!(f, "the heartbeat did not reach the server ({reason})")
            }
            // The access-system id stays off the status output.
            AgentEvent::Answered { frame, answer } => {
                write!(f, "frame {frame}: {}", answer.decision)?;
                if let Some(pass) = answer.pass.as_ref().filter(|p| p.frames > 1) {
                    write!(f, " ({} frames of the pass)", pass.frames)?;
                }
                write!(f, " (server took {} ms)", answer.latency_ms)
            }
        }
    }
}

/// Why the agent stopped before its source ended.
#[derive(Debug, Error)]
pub enum AgentError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

/// Counts for the closing status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Whole frames read (frames the source already found damaged are not
    /// counted; frames that would not decode are).
    pub frames: u64,
    /// Face crops the server answered.
    pub answered: u64,
    /// Face crops given up without an answer.
    pub dropped: u64,
}

pub struct Agent {
    tracker: Tracker,
    /// Random per run: a track's pass id is this and the track's number,
    /// so a restarted agent never continues an old pass.
    run: u64,
    submitter: Submitter,
    recorded_frame_interval: Duration,
    whole_frame_every: u32,
    /// Where the operator asked for it, the local liveness check: a face
    /// judged a photo or a screen is not sent, as a face of poor quality
    /// is not. The server decides either way.
    liveness: Option<Arc<LivenessChecker>>,
    heartbeat_every: Duration,
    /// When the server last heard from this agent (a frame or a heartbeat).
    last_contact: Option<Instant>,
    metrics: Arc<AgentMetrics>,
}

impl Agent {
    pub fn new(submitter: Submitter, config: AgentConfig) -> Agent {
        Agent {
            tracker: Tracker::new(config.cooldown, config.track_timeout),
            run: {
                use std::hash::{BuildHasher, Hasher};
                // The standard library's randomly keyed hasher: uniqueness
                // is all a pass id needs, not secrecy.
                std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish()
            },
            submitter,
            recorded_frame_interval: config.recorded_frame_interval,
            whole_frame_every: config.whole_frame_every.max(1),
            liveness: None,
            heartbeat_every: config.heartbeat_every,
            last_contact: None,
            metrics: Arc::new(AgentMetrics::default()),
        }
    }

    /// The counters of this agent, for a metrics listener.
    pub fn metrics(&self) -> Arc<AgentMetrics> {
        self.metrics.clone()
    }

    /// Checks liveness locally too: faces judged not live are not sent.
    pub fn with_liveness(mut self, checker: Arc<LivenessChecker>) -> Agent {
        self.liveness = Some(checker);
        self
    }

    /// Tracks the faces of one frame and, when the largest face that passed
    /// the quality check starts a passage (or its cooldown is over), sends
    /// its crop as a frame of the track's pass. While the server answers
    /// `unknown` for a pass it has not decided, the next good frame of the
    /// same approach is sent too, and the server fuses them. Only a refused
    /// device token is an error.
    pub fn handle_frame(
        &mut self,
        image: &RgbImage,
        faces: &[SeenFace],
        position: FramePosition,
        on_event: &mut dyn FnMut(&AgentEvent),
    ) -> Result<(), SubmitError> {
        let rects: Vec<Rect> = faces.iter().map(|f| f.rect).collect();
        let tracks = self.tracker.update(&rects, position.at);
        // The largest face is the person closest to the camera: the one
        // passing now. Others are followed but wait for their turn.
        let Some((face, &track)) = faces
            .iter()
            .zip(&tracks)
            .filter(|(f, _)| f.passed)
            .max_by_key(|(f, _)| f.rect.area())
        else {
            return Ok(());
        };
        if !self.tracker.claim(track, position.at) {
            return Ok(());
        }
        let crop = match encode_face_crop(image, face.rect) {
            Ok(crop) => crop,
            Err(e) => {
                self.tracker.release(track);
                on_event(&AgentEvent::FrameSkipped {
                    reason: format!("frame {}: {e}", position.index),
                });
                return Ok(());
            }
        };
        let pass = format!("{:016x}-{track}", self.run);
        on_event(&AgentEvent::Sending {
            frame: position.index,
            track,
            bytes: crop.len(),
        });
        let outcome =
            self.submitter
                .submit(&crop, Some(&pass), position.read_at, &mut |notice| {
                    on_event(&AgentEvent::Retrying(notice.clone()))
                })?;
        drop(crop);
        self.last_contact = Some(Instant::now());
        match outcome {
            SubmitOutcome::Answered(answer) => {
                // The server saw no usable face in the crop, or the pass
                // is still open (unknown, or not yet live enough): a later
                // frame of the same passage may do better.
                let undecided = matches!(
                    answer.decision,
                    Decision::Unknown | Decision::SpoofSuspected
                ) && answer.pass.as_ref().is_some_and(|p| !p.decided);
                if undecided || matches!(answer.decision, Decision::NoFace | Decision::PoorQuality)
                {
                    self.tracker.release(track);
                }
                on_event(&AgentEvent::Answered {
                    frame: position.index,
                    answer,
                });
            }
            SubmitOutcome::Dropped(reason) => {
                self.tracker.release(track);
                on_event(&AgentEvent::Dropped {
                    frame: position.index,
                    reason,
                });
            }
        }
        Ok(())
    }

    /// The faces of one frame: around the tracked faces only, or in the
    /// whole frame when nobody is tracked or a whole scan is due.
    fn find_faces(
        &self,
        finder: &FaceFinder,
        image: &RgbImage,
        position: FramePosition,
    ) -> Vec<FoundFace> {
        let tracked = self.tracker.last_seen(position.at);
        if tracked.is_empty()
            || position
                .index
                .is_multiple_of(u64::from(self.whole_frame_every))
        {
            return finder.find(image);
        }
        let mut found: Vec<FoundFace> = Vec::new();
        for rect in tracked {
            for face in finder.find_near(image, rect) {
                // Neighbouring tracks' regions overlap: one face, once.
                if found.iter().all(|f| f.rect.iou(&face.rect) < 0.5) {
                    found.push(face);
                }
            }
        }
        found
    }

    /// Reads frames until the source ends: decodes each in memory, finds
    /// and checks faces with the engine, and hands the result to
    /// [`Agent::handle_frame`]. Each frame is dropped (zeroised) before the
    /// next is read.
    pub fn run(
        &mut self,
        capture: &mut Capture,
        finder: &FaceFinder,
        on_event: &mut dyn FnMut(&AgentEvent),
    ) -> Result<RunSummary, AgentError> {
        let run = self.read_frames(capture, finder, on_event);
        self.metrics.camera_ended();
        run
    }

    /// A heartbeat when nothing reached the server for `heartbeat_every`.
    fn heartbeat_if_due(
        &mut self,
        on_event: &mut dyn FnMut(&AgentEvent),
    ) -> Result<(), SubmitError> {
        if self
            .last_contact
            .is_some_and(|at| at.elapsed() < self.heartbeat_every)
        {
            return Ok(());
        }
        // A failed heartbeat waits a whole interval too: the server is
        // not hammered while it is away.
        self.last_contact = Some(Instant::now());
        if let Err(reason) = self.submitter.heartbeat()? {
            on_event(&AgentEvent::HeartbeatFailed { reason });
        }
        Ok(())
    }

    fn read_frames(
        &mut self,
        capture: &mut Capture,
        finder: &FaceFinder,
        on_event: &mut dyn FnMut(&AgentEvent),
    ) -> Result<RunSummary, AgentError> {
        let started = Instant::now();
        let mut summary = RunSummary::default();
        let metrics = self.metrics.clone();
        let mut report = |event: &AgentEvent| {
            match event {
                AgentEvent::Sending { .. } => metrics.sent(),
                AgentEvent::Answered { answer, .. } => {
                    summary.answered += 1;
                    metrics.answered(answer.decision);
                }
                AgentEvent::Dropped { reason, .. } => {
                    summary.dropped += 1;
                    metrics.server_error(ServerError::of_drop(reason));
                }
                AgentEvent::Retrying(_) => metrics.server_error(ServerError::AttemptFailed),
                AgentEvent::HeartbeatFailed { .. } => {
                    metrics.server_error(ServerError::HeartbeatFailed)
                }
                AgentEvent::FrameSkipped { .. } => {}
            }
            on_event(event);
        };
        let mut index = 0u64;
        while let Some(next) = capture.next_frame() {
            let frame = match next {
                Ok(frame) => frame,
                Err(e) if e.is_skippable() => {
                    metrics.rejected(LocalRejection::Unreadable);
                    report(&AgentEvent::FrameSkipped {
                        reason: e.to_string(),
                    });
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            metrics.frame_read();
            let position = FramePosition {
                index,
                at: if capture.is_live() {
                    frame.captured_at.duration_since(started)
                } else {
                    self.recorded_frame_interval
                        .saturating_mul(index.try_into().unwrap_or(u32::MAX))
                },
                read_at: frame.captured_at,
            };
            index += 1;
            let image = match frame.picture.into_image() {
                Ok(image) => image,
                Err(e) => {
                    metrics.rejected(LocalRejection::Unreadable);
                    report(&AgentEvent::FrameSkipped {
                        reason: format!("frame {}: {e}", position.index),
                    });
                    continue;
                }
            };
            let mut faces: Vec<SeenFace> = self
                .find_faces(finder, &image, position)
                .into_iter()
                .map(|f| SeenFace {
                    rect: f.rect,
                    passed: f.quality.passed,
                })
                .collect();
            let good_quality = faces.iter().any(|f| f.passed);
            if let Some(checker) = &self.liveness {
                for face in faces.iter_mut().filter(|f| f.passed) {
                    if !checker.judges_live(&image, face.rect) {
                        face.passed = false;
                        report(&AgentEvent::FrameSkipped {
                            reason: format!(
                                "frame {}: a face looks like a photo or a screen (local liveness check)",
                                position.index
                            ),
                        });
                    }
                }
            }
            if faces.is_empty() {
                metrics.rejected(LocalRejection::NoFace);
            } else if !good_quality {
                metrics.rejected(LocalRejection::PoorQuality);
            } else if !faces.iter().any(|f| f.passed) {
                metrics.rejected(LocalRejection::NotLive);
            }
            self.handle_frame(&image, &faces, position, &mut report)?;
            self.heartbeat_if_due(&mut report)?;
        }
        summary.frames = index;
        Ok(summary)
    }
}
