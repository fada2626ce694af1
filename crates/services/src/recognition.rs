//! A frame at an entrance: the engine finds the face, its vector joins the
//! device's pass (see `passes`), the organisation's gallery is searched with
//! the pass's fused vector once the gallery is known to be current, and the
//! caller is told whom it saw (if anyone). The frame and its vectors stay in
//! memory.

use limen_domain::{OrgId, PersonId, SecurityLevel};
use limen_face::EntranceFrame;
use limen_matcher::{DecisionRule, Identification, Match};
use zeroize::Zeroizing;

use crate::Services;
use crate::engine_queue::EngineWork;
use crate::enrolment::Frame;
use crate::error::ServiceError;
use crate::passes::{Evidence, MAX_PASS_FRAMES, PassKey};

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
    },
    Matched(Recognised),
    /// The frame's pass was decided already; nothing was searched.
    PassDecided,
}

/// An enrolled person seen at the entrance, on the evidence of `frames`
/// frames of the pass. While this is held, a withdrawal, removal or erasure
/// of that person waits: keep it until the access system has been told,
/// and drop it then.
pub struct Recognised {
    found: Match<PersonId>,
    pub frames: usize,
}

impl Recognised {
    pub fn person(&self) -> &PersonId {
        self.found.person()
    }
}

impl Services {
    /// Decides a frame sent by a device at an entrance of `org` (at the
    /// organisation's security `level`), as part of the device's pass
    /// `pass` if it names one.
    pub async fn recognise(
        &self,
        org: &OrgId,
        level: SecurityLevel,
        pass: Option<PassKey>,
        frame: Frame,
    ) -> Result<Recognition, ServiceError> {
        crate::enrolment::check_frame_size(&frame)?;
        let slot = self.engine_queue.admit(EngineWork::Entrance).await?;
        let engine = self.engine.clone();
        let read = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            // `frame` is moved in and dropped (wiped) here whatever
            // happens; the engine wipes the decoded pixels itself.
            let read = engine.entrance_frame(&frame);
            drop(frame);
            read
        })
        .await??;
        let face = match read {
            EntranceFrame::NoFace => return Ok(Recognition::NoFace),
            EntranceFrame::PoorQuality(_) => return Ok(Recognition::PoorQuality),
            EntranceFrame::Face(face) => face,
        };
        // The face (with its descriptor) is wiped on drop.
        let Evidence::Fused { vector, frames } =
            self.passes
                .add(pass.as_ref(), face.descriptor, &self.engine.model())
        else {
            return Ok(Recognition::PassDecided);
        };
        let probe = Zeroizing::new(vector.as_slice().to_vec());
        drop(vector);
        let found = self
            .galleries
            .identify(org, probe, frames, DecisionRule::new(level))
            .await?;
        let decided = matches!(found, Identification::Matched(_)) || frames >= MAX_PASS_FRAMES;
        if let (true, Some(pass)) = (decided, &pass) {
            self.passes.decide(pass);
        }
        Ok(match found {
            Identification::Unknown(_) => Recognition::Unknown { frames, decided },
            Identification::Matched(found) => Recognition::Matched(Recognised { found, frames }),
        })
    }
}
