//! A frame at an entrance: the engine finds the face, the organisation's
//! gallery is searched once it is known to be current, and the caller is
//! told whom it saw (if anyone). The frame and its vector stay in memory.

use limen_domain::{OrgId, PersonId};
use limen_face::EntranceFrame;
use limen_matcher::{Identification, Match};
use zeroize::Zeroizing;

use crate::Services;
use crate::enrolment::Frame;
use crate::error::ServiceError;

/// What a frame shows, as far as the organisation's gallery can tell.
pub enum Recognition {
    NoFace,
    /// The largest face fails the quality check.
    PoorQuality,
    Unknown,
    Matched(Recognised),
}

/// An enrolled person seen at the entrance. While this is held, a
/// withdrawal, removal or erasure of that person waits: keep it until the
/// access system has been told, and drop it then.
pub struct Recognised(Match<PersonId>);

impl Recognised {
    pub fn person(&self) -> &PersonId {
        self.0.person()
    }
}

/// The engine's part of the verdict, before any search.
enum Probe {
    NoFace,
    PoorQuality,
    Face(Zeroizing<Vec<f32>>),
}

impl Services {
    pub async fn recognise(&self, org: &OrgId, frame: Frame) -> Result<Recognition, ServiceError> {
        let engine = self.engine.clone();
        let probe = tokio::task::spawn_blocking(move || {
            // `frame` is moved in and dropped (wiped) here whatever
            // happens; the engine wipes the decoded pixels itself.
            let read = engine.entrance_frame(&frame)?;
            drop(frame);
            // The face (with its descriptor) is wiped on drop.
            Ok::<_, limen_face::FaceError>(match read {
                EntranceFrame::NoFace => Probe::NoFace,
                EntranceFrame::PoorQuality(_) => Probe::PoorQuality,
                EntranceFrame::Face(face) => {
                    Probe::Face(Zeroizing::new(face.descriptor.as_slice().to_vec()))
                }
            })
        })
        .await??;
        let probe = match probe {
            Probe::NoFace => return Ok(Recognition::NoFace),
            Probe::PoorQuality => return Ok(Recognition::PoorQuality),
            Probe::Face(probe) => probe,
        };
        Ok(
            match self
                .galleries
                .identify(org, probe, 1, self.decision_rule)
                .await?
            {
                Identification::Unknown(_) => Recognition::Unknown,
                Identification::Matched(found) => Recognition::Matched(Recognised(found)),
            },
        )
    }
}
