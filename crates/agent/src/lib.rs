//! Limen's camera agent: the process at an entrance.
//!
//! It reads frames from a camera (or a recording), finds faces and checks
//! their quality locally, follows each face across frames so that one
//! passage is sent once, and sends the server only the region around the
//! face, re-encoded as JPEG in memory. It never keeps or writes a frame (P1)
//! and never logs images or tokens (P6).
//!
//! When the server cannot be reached, a crop is retried with doubling waits
//! a bounded number of times, and only while its frame is younger than the
//! maximum age (two seconds by default, see [`RetryPolicy`]); then it is
//! dropped, never queued. A camera is drained continuously while the agent
//! waits, keeping only the newest frame, so after an outage the agent goes
//! on with what the camera sees now rather than a backlog.

pub mod agent;
pub mod camera_url;
pub mod capture;
pub mod crop;
pub mod http_camera;
pub mod jpeg;
pub mod metrics;
pub mod mjpg;
pub mod multipart;
pub mod rtsp;
pub mod source;
pub mod submit;
pub mod tls;
pub mod tracker;
#[cfg(target_os = "linux")]
pub mod v4l2;

pub use agent::{Agent, AgentConfig, AgentError, AgentEvent, FramePosition, RunSummary, SeenFace};
pub use camera_url::{CameraScheme, CameraUrl, Credentials};
pub use capture::{Capture, Frame};
pub use crop::{CropError, crop_region, encode_face_crop};
pub use metrics::AgentMetrics;
pub use source::{FrameSource, Picture, SourceError, SourceSpec};
pub use submit::{
    Decision, DropReason, Handover, PassAnswer, RetryNotice, RetryPolicy, ServerAnswer, ServerUrl,
    SubmitError, SubmitOutcome, Submitter,
};
pub use tls::{CaCertError, TrustedRoots};
pub use tracker::{TrackId, Tracker};
