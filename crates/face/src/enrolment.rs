//! Enrolment: the frames of one sitting become a small set of vectors.
//!
//! Each frame is decoded, its main face found and judged against the
//! enrolment quality profile, and described. A frame that cannot be used is
//! set aside with its reason rather than failing the sitting, so one blurred
//! frame among good ones costs nothing. The frames kept must show one
//! person: a frame that disagrees with the majority is set aside, and a
//! sitting without a majority is refused (someone else stepped in).
//!
//! Each kept frame gives one vector (several poses make a person easier to
//! recognise than their mean would: `limen eval lfw`, BENCHMARKS.md).

use std::fmt;

use thiserror::Error;

use crate::engine::{Face, FaceEngine};
use crate::liveness::LivenessChecker;
use crate::quality::{QualityIssue, QualityThresholds};
use crate::{DecodeError, Descriptor};

/// At most this many frames make one enrolment, and a person holds at most
/// this many vectors.
pub const MAX_ENROLMENT_FRAMES: usize = 5;

/// A second face at least this large, relative to the largest face's eye
/// distance, makes it unclear who is enrolling. Smaller faces are people in
/// the background, which the quality check would refuse as too small anyway.
const RIVAL_FACE_RATIO: f64 = 0.8;

/// One face kept for enrolment.
#[derive(Debug)]
pub struct EnrolledFace {
    /// Which frame it came from, counting from 1.
    pub frame: usize,
    pub vector: Descriptor,
    /// The estimated head turn, for guidance towards varied poses.
    pub yaw_deg: f64,
}

/// A frame that gave no vector, and why.
#[derive(Debug)]
pub struct SetAside {
    /// Counting from 1.
    pub frame: usize,
    pub problem: FrameProblem,
}

/// Why one enrolment frame was not used. Messages are safe to show the
/// person enrolling.
#[derive(Debug, Error)]
pub enum FrameProblem {
    #[error("{0}")]
    Decode(DecodeError),
    #[error("no face found")]
    NoFace,
    #[error("more than one face; only the person enrolling may be in view")]
    SeveralFaces,
    #[error("{}", join_issues(.0))]
    PoorQuality(Vec<QualityIssue>),
    #[error("this frame does not show the same face as the others")]
    Disagrees,
    /// Only where the caller asks for liveness.
    #[error(
        "this looks like a photo or a screen held up to the camera: enrol with your own face in front of the camera, in even light"
    )]
    NotLive,
}

impl FrameProblem {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FrameProblem::Decode(_) => "undecodable",
            FrameProblem::NoFace => "no_face",
            FrameProblem::SeveralFaces => "several_faces",
            FrameProblem::PoorQuality(_) => "poor_quality",
            FrameProblem::Disagrees => "disagrees",
            FrameProblem::NotLive => "not_live",
        }
    }
}

fn join_issues(issues: &[QualityIssue]) -> String {
    issues
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The result of one sitting: the vectors to keep, and the frames left out.
#[derive(Debug)]
pub struct Enrolment {
    /// Between 1 and [`MAX_ENROLMENT_FRAMES`] faces, in frame order.
    pub faces: Vec<EnrolledFace>,
    pub set_aside: Vec<SetAside>,
}

/// Why a sitting gave no enrolment. Messages are safe to show the person.
#[derive(Debug, Error)]
pub enum EnrolmentError {
    #[error("send between 1 and {MAX_ENROLMENT_FRAMES} frames (got {0})")]
    FrameCount(usize),
    #[error("no frame could be used: {}", Problems(.0))]
    NoUsableFrame(Vec<SetAside>),
    #[error("the frames do not show the same face; please try again")]
    FramesDisagree,
}

impl EnrolmentError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EnrolmentError::FrameCount(_) => "frame_count",
            EnrolmentError::NoUsableFrame(_) => "no_usable_frame",
            EnrolmentError::FramesDisagree => "frames_disagree",
        }
    }

    /// The frames left out, and why.
    pub fn set_aside(&self) -> &[SetAside] {
        match self {
            EnrolmentError::NoUsableFrame(set_aside) => set_aside,
            EnrolmentError::FrameCount(_) | EnrolmentError::FramesDisagree => &[],
        }
    }
}

struct Problems<'a>(&'a [SetAside]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, aside) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "frame {}: {}", aside.frame, aside.problem)?;
        }
        Ok(())
    }
}

/// The face of a frame's `faces` (as [`FaceEngine::faces`] finds them) that
/// may be enrolled: the largest, if no other face rivals it and it passes
/// the enrolment profile.
pub fn enrolment_face(mut faces: Vec<Face>) -> Result<Face, FrameProblem> {
    faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
    let mut faces = faces.into_iter();
    let main = faces.next().ok_or(FrameProblem::NoFace)?;
    let main_eyes = main.quality.measurements.inter_eye_px;
    if faces.any(|other| {
        other.quality.passed
            && other.quality.measurements.inter_eye_px >= RIVAL_FACE_RATIO * main_eyes
    }) {
        return Err(FrameProblem::SeveralFaces);
    }
    let verdict = QualityThresholds::enrolment().judge(&main.quality.measurements);
    if !verdict.passed {
        return Err(FrameProblem::PoorQuality(verdict.issues));
    }
    Ok(main)
}

impl FaceEngine {
    /// The vectors of one enrolment sitting of 1 to
    /// [`MAX_ENROLMENT_FRAMES`] encoded frames, with each frame's face
    /// judged for liveness too when `liveness` is given. Decoded pixels are
    /// zeroised before this returns.
    pub fn enrol(
        &self,
        frames: &[&[u8]],
        liveness: Option<&LivenessChecker>,
    ) -> Result<Enrolment, EnrolmentError> {
        if frames.is_empty() || frames.len() > MAX_ENROLMENT_FRAMES {
            return Err(EnrolmentError::FrameCount(frames.len()));
        }
        let mut faces = Vec::with_capacity(frames.len());
        let mut set_aside = Vec::new();
        for (i, bytes) in frames.iter().enumerate() {
            let frame = i + 1;
            match self.enrolment_face(bytes, liveness) {
                Ok(face) => faces.push(EnrolledFace {
                    frame,
                    yaw_deg: face.quality.measurements.yaw_deg,
                    vector: face.descriptor,
                }),
                Err(problem) => set_aside.push(SetAside { frame, problem }),
            }
        }
        if faces.is_empty() {
            return Err(EnrolmentError::NoUsableFrame(set_aside));
        }
        let agreeing = self.majority(&faces)?;
        let mut kept = Vec::with_capacity(agreeing.len());
        for (face, agrees) in faces.into_iter().zip(agreeing) {
            if agrees {
                kept.push(face);
            } else {
                set_aside.push(SetAside {
                    frame: face.frame,
                    problem: FrameProblem::Disagrees,
                });
            }
        }
        set_aside.sort_by_key(|a| a.frame);
        Ok(Enrolment {
            faces: kept,
            set_aside,
        })
    }

    /// The main face of one frame, if it may be enrolled.
    fn enrolment_face(
        &self,
        bytes: &[u8],
        liveness: Option<&LivenessChecker>,
    ) -> Result<Face, FrameProblem> {
        let image = crate::decode(bytes).map_err(FrameProblem::Decode)?;
        let face = enrolment_face(self.faces(&image))?;
        if liveness.is_some_and(|checker| !checker.judges_live(&image, face.rect)) {
            return Err(FrameProblem::NotLive);
        }
        Ok(face)
    }

    /// Which faces agree with the face that agrees with the most others
    /// (by the version's 1:1 rule). Refuses a sitting where those are not
    /// more than half of the faces, or where two faces disagree.
    fn majority(&self, faces: &[EnrolledFace]) -> Result<Vec<bool>, EnrolmentError> {
        let limit = self.model().same_person_distance;
        let agree =
            |a: &EnrolledFace, b: &EnrolledFace| a.vector.euclidean_distance(&b.vector) <= limit;
        let centre = (0..faces.len())
            .max_by_key(|&i| {
                let votes = faces.iter().filter(|f| agree(&faces[i], f)).count();
                // The first frame wins a tie.
                (votes, std::cmp::Reverse(i))
            })
            .unwrap_or(0);
        let agreeing: Vec<bool> = faces.iter().map(|f| agree(&faces[centre], f)).collect();
        let count = agreeing.iter().filter(|&&a| a).count();
        if 2 * count <= faces.len() && faces.len() > 1 {
            return Err(EnrolmentError::FramesDisagree);
        }
        Ok(agreeing)
    }
}
