//! What the agent counts for its operator's monitoring, in Prometheus's
//! text format (`limen agent --metrics-bind`). Labels are stable codes
//! only: no ACS id, no frame, no token (P6).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use limen_metrics::{Counters, counter, gauge};

use crate::submit::{Decision, DropReason};

/// A camera that gave no frame for this long is down: a live camera gives
/// several a second, a recording one per frame interval.
pub const CAMERA_SILENCE: Duration = Duration::from_secs(10);

/// Why a frame read from the camera was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalRejection {
    /// The source gave a damaged frame, or it would not decode.
    Unreadable,
    /// Nobody in the picture.
    NoFace,
    /// Faces, none good enough to be recognised.
    PoorQuality,
    /// The local liveness check judged the faces a photo or a screen.
    NotLive,
}

impl LocalRejection {
    pub fn code(self) -> &'static str {
        match self {
            LocalRejection::Unreadable => "unreadable",
            LocalRejection::NoFace => "no_face",
            LocalRejection::PoorQuality => "poor_quality",
            LocalRejection::NotLive => "not_live",
        }
    }
}

/// What went wrong talking to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerError {
    /// An attempt to send a frame failed and is retried (unreachable, 429,
    /// 502 to 504).
    AttemptFailed,
    /// A frame was given up: every attempt failed, or it grew too old.
    FrameDropped,
    /// The server refused a frame or answered something unreadable.
    Refused,
    /// A heartbeat did not reach the server.
    HeartbeatFailed,
}

impl ServerError {
    fn code(self) -> &'static str {
        match self {
            ServerError::AttemptFailed => "attempt_failed",
            ServerError::FrameDropped => "frame_dropped",
            ServerError::Refused => "refused",
            ServerError::HeartbeatFailed => "heartbeat_failed",
        }
    }

    pub fn of_drop(reason: &DropReason) -> ServerError {
        match reason {
            DropReason::Refused(_) => ServerError::Refused,
            DropReason::TooOld(_) | DropReason::RetriesExhausted => ServerError::FrameDropped,
        }
    }
}

/// The agent's counters, shared with the metrics listener.
#[derive(Default)]
pub struct AgentMetrics {
    frames_read: AtomicU64,
    rejected: Counters<1>,
    sent: AtomicU64,
    answers: Counters<1>,
    server_errors: Counters<1>,
    last_frame: Mutex<Option<Instant>>,
    camera_ended: AtomicBool,
}

impl AgentMetrics {
    pub fn frame_read(&self) {
        self.frames_read.fetch_add(1, Ordering::Relaxed);
        *self.last_frame.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    pub fn rejected(&self, why: LocalRejection) {
        self.rejected.add([why.code().to_owned()]);
    }

    pub fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub fn answered(&self, decision: Decision) {
        self.answers.add([decision.to_string()]);
    }

    pub fn server_error(&self, error: ServerError) {
        self.server_errors.add([error.code().to_owned()]);
    }

    /// The source ended or failed: the camera is down from now on.
    pub fn camera_ended(&self) {
        self.camera_ended.store(true, Ordering::Relaxed);
    }

    /// Whether the camera gave a frame within [`CAMERA_SILENCE`].
    pub fn camera_up(&self) -> bool {
        !self.camera_ended.load(Ordering::Relaxed)
            && self
                .last_frame
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some_and(|at| at.elapsed() <= CAMERA_SILENCE)
    }

    /// Everything, in Prometheus's text exposition format.
    pub fn exposition(&self) -> String {
        let mut out = String::new();
        counter(
            &mut out,
            "limen_agent_frames_read_total",
            "Frames read from the camera or recording.",
            self.frames_read.load(Ordering::Relaxed),
        );
        self.rejected.write(
            &mut out,
            "limen_agent_frames_rejected_total",
            "Frames not sent, by the local reason: unreadable, no_face, poor_quality, not_live.",
            ["reason"],
        );
        counter(
            &mut out,
            "limen_agent_faces_sent_total",
            "Face crops sent to the server.",
            self.sent.load(Ordering::Relaxed),
        );
        self.answers.write(
            &mut out,
            "limen_agent_answers_total",
            "The server's decisions on the face crops sent.",
            ["decision"],
        );
        self.server_errors.write(
            &mut out,
            "limen_agent_server_errors_total",
            "Failures talking to the server, by kind.",
            ["kind"],
        );
        gauge(
            &mut out,
            "limen_agent_camera_up",
            "1 while the camera gives frames (one within the last 10 seconds), else 0.",
            u64::from(self.camera_up()),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_camera_is_down_before_its_first_frame_and_after_its_end() {
        let metrics = AgentMetrics::default();
        assert!(!metrics.camera_up());
        metrics.frame_read();
        assert!(metrics.camera_up());
        assert!(metrics.exposition().contains("\nlimen_agent_camera_up 1\n"));
        metrics.camera_ended();
        assert!(!metrics.camera_up());
    }
}
