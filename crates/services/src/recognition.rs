//! A frame at an entrance: the engine finds the face, the organisation's
//! gallery is searched once it is known to be current, and the caller is
//! told whom it saw (if anyone). The frame and its vector stay in memory.

use limen_domain::{OrgId, PersonId};
use limen_matcher::{Identification, Match};

use crate::Services;
use crate::enrolment::Frame;
use crate::error::ServiceError;
use crate::galleries::{BoxedDescriptor, descriptor};

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
    Face(BoxedDescriptor),
}

impl Services {
    pub async fn recognise(&self, org: &OrgId, frame: Frame) -> Result<Recognition, ServiceError> {
        let engine = self.engine.clone();
        let probe = tokio::task::spawn_blocking(move || {
            // `frame` is moved in and dropped (wiped) here whatever
            // happens; the engine wipes the decoded pixels itself.
            let faces = engine.analyze(&frame)?;
            drop(frame);
            // `faces` (with their descriptors) are wiped on drop.
            Ok::<_, limen_face::FaceError>(match faces.iter().max_by_key(|f| f.rect.area()) {
                None => Probe::NoFace,
                Some(face) if !face.quality.passed => Probe::PoorQuality,
                Some(face) => {
                    descriptor(face.descriptor.as_slice()).map_or(Probe::NoFace, Probe::Face)
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
                .identify(org, probe, self.decision_rule)
                .await?
            {
                Identification::Unknown(_) => Recognition::Unknown,
                Identification::Matched(found) => Recognition::Matched(Recognised(found)),
            },
        )
    }
}
