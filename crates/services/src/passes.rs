//! Passes: the frames a device sends of one person's approach, decided
//! together. Each good frame's vector joins its pass; the pass is searched
//! as the fused vector of its frames (their mean, which is steadier than any
//! one frame), with the threshold calibrated for that many frames. During a
//! model transition a frame brings one vector per version in use, and each
//! version's vectors are fused on their own.
//!
//! A pass's vectors live only here, in memory, for the seconds the approach
//! lasts: they are wiped when the pass is decided, by the sweep that follows
//! a pass quiet for [`PASS_WINDOW`] (the services run it every second), or
//! when this instance stops (P2: nothing of a frame is stored). A pass is decided once: its match is reported to the access
//! system once, and later frames under its id are refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use limen_domain::{DeviceId, PassId};
use limen_face::{Descriptor, FaceModel};

/// The most frames one pass fuses; a pass still unknown after this many is
/// decided `unknown`.
pub const MAX_PASS_FRAMES: usize = 5;
/// A pass with no frame for this long is over, decided or not.
pub const PASS_WINDOW: Duration = Duration::from_secs(10);
/// Open passes held at once across all devices; past it, a frame is
/// decided on its own (no pass is tracked for it).
const MAX_OPEN_PASSES: usize = 10_000;

/// One device's pass.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PassKey {
    pub device: DeviceId,
    pub pass: PassId,
}

/// A good frame as a pass holds it: its vectors, one per model version in
/// use, and how live it looked (if judged).
pub(crate) struct PassFrame {
    pub vectors: Vec<(FaceModel, Descriptor)>,
    pub live_score: Option<f32>,
}

struct Pass {
    /// Its good frames, oldest first; empty once decided.
    frames: Vec<PassFrame>,
    last_frame: Instant,
    decided: bool,
}

/// One version's fused vector of a pass.
pub(crate) struct FusedVector {
    pub model: FaceModel,
    pub vector: Descriptor,
    /// How many frames it fuses.
    pub frames: usize,
}

/// The evidence a frame adds to its pass.
pub(crate) enum Evidence {
    /// The vectors to search, one per version the frame was read with, and
    /// the mean live score of the pass's frames that were judged.
    Fused {
        vectors: Vec<FusedVector>,
        live_score: Option<f32>,
    },
    /// The pass was decided already: nothing is searched.
    AlreadyDecided,
}

pub(crate) struct Passes {
    open: Mutex<HashMap<PassKey, Pass>>,
    /// How long a pass lasts without a frame ([`PASS_WINDOW`]).
    window: Duration,
}

impl Default for Passes {
    fn default() -> Self {
        Passes::with_window(PASS_WINDOW)
    }
}

impl Passes {
    fn with_window(window: Duration) -> Passes {
        Passes {
            open: Mutex::new(HashMap::new()),
            window,
        }
    }

    /// Ends every pass quiet for longer than the window, wiping its vectors.
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        self.lock()
            .retain(|_, pass| now.duration_since(pass.last_frame) <= self.window);
    }

    /// Adds a good frame's vectors to its pass and returns the pass's fused
    /// evidence. Without a pass (or with too many open), the frame stands
    /// alone.
    pub(crate) fn add(&self, key: Option<&PassKey>, frame: PassFrame) -> Evidence {
        let alone = |frame: PassFrame| Evidence::Fused {
            vectors: frame
                .vectors
                .into_iter()
                .map(|(model, vector)| FusedVector {
                    model,
                    vector,
                    frames: 1,
                })
                .collect(),
            live_score: frame.live_score,
        };
        let Some(key) = key else {
            return alone(frame);
        };
        let now = Instant::now();
        let mut open = self.lock();
        if !open.contains_key(key) && open.len() >= MAX_OPEN_PASSES {
            return alone(frame);
        }
        let fresh = || Pass {
            frames: Vec::new(),
            last_frame: now,
            decided: false,
        };
        let pass = open.entry(key.clone()).or_insert_with(fresh);
        if now.duration_since(pass.last_frame) > self.window {
            // Over, though not yet swept: the same id starts a new pass.
            *pass = fresh();
        }
        pass.last_frame = now;
        if pass.decided {
            return Evidence::AlreadyDecided;
        }
        if pass.frames.len() == MAX_PASS_FRAMES {
            pass.frames.remove(0);
        }
        let models: Vec<FaceModel> = frame.vectors.iter().map(|(model, _)| *model).collect();
        pass.frames.push(frame);
        let judged: Vec<f32> = pass.frames.iter().filter_map(|f| f.live_score).collect();
        let live_score =
            (!judged.is_empty()).then(|| judged.iter().sum::<f32>() / judged.len() as f32);
        let fused = models
            .into_iter()
            .filter_map(|model| {
                let vectors: Vec<&Descriptor> = pass
                    .frames
                    .iter()
                    .filter_map(|f| f.vectors.iter().find(|(m, _)| *m == model).map(|(_, v)| v))
                    .collect();
                // The engine made every vector of this model: `fuse`
                // refuses none of them.
                let frames = vectors.len();
                model.fuse(&vectors).map(|vector| FusedVector {
                    model,
                    vector,
                    frames,
                })
            })
            .collect();
        Evidence::Fused {
            vectors: fused,
            live_score,
        }
    }

    /// Marks the pass decided and wipes its vectors; frames under its id
    /// are refused until it has been quiet for [`PASS_WINDOW`].
    pub(crate) fn decide(&self, key: &PassKey) {
        if let Some(pass) = self.lock().get_mut(key) {
            pass.decided = true;
            pass.frames.clear();
        }
    }

    /// Vectors held, in any pass.
    #[cfg(test)]
    fn held_vectors(&self) -> usize {
        self.lock()
            .values()
            .flat_map(|p| &p.frames)
            .map(|f| f.vectors.len())
            .sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PassKey, Pass>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pass: &str) -> PassKey {
        PassKey {
            device: DeviceId::generate(),
            pass: PassId::parse(pass).expect("valid"),
        }
    }

    fn unit(direction: usize) -> Descriptor {
        let mut values = vec![0.0; FaceModel::DEFAULT.dimensions];
        values[direction] = 1.0;
        Descriptor::from_vec(values)
    }

    fn fused(evidence: Evidence) -> (Vec<f32>, usize) {
        match evidence {
            Evidence::Fused { vectors, .. } => {
                assert_eq!(vectors.len(), 1, "one version in use");
                (vectors[0].vector.as_slice().to_vec(), vectors[0].frames)
            }
            Evidence::AlreadyDecided => panic!("the pass is open"),
        }
    }

    fn frame(direction: usize) -> PassFrame {
        PassFrame {
            vectors: vec![(FaceModel::DEFAULT, unit(direction))],
            live_score: None,
        }
    }

    #[test]
    fn a_pass_is_as_live_as_the_mean_of_its_judged_frames() {
        let passes = Passes::default();
        let door = key("live");
        let scored = |direction, live_score| PassFrame {
            live_score,
            ..frame(direction)
        };
        let live = |evidence: Evidence| match evidence {
            Evidence::Fused { live_score, .. } => live_score,
            Evidence::AlreadyDecided => panic!("the pass is open"),
        };
        assert_eq!(live(passes.add(Some(&door), scored(0, None))), None);
        assert_eq!(
            live(passes.add(Some(&door), scored(1, Some(0.2)))),
            Some(0.2)
        );
        assert_eq!(
            live(passes.add(Some(&door), scored(2, Some(0.8)))),
            Some(0.5)
        );
        assert_eq!(live(passes.add(None, scored(3, Some(0.9)))), Some(0.9));
    }

    #[test]
    fn each_version_in_use_is_fused_on_its_own() {
        let passes = Passes::default();
        let door = key("transition");
        let old = FaceModel::DLIB_RESNET_V1_MIRRORED;
        let new = FaceModel::OMZ_REID_0095;
        let vector = |model: FaceModel, direction: usize| {
            let mut values = vec![0.0; model.dimensions];
            values[direction] = 1.0;
            Descriptor::from_vec(values)
        };
        passes.add(
            Some(&door),
            PassFrame {
                vectors: vec![(new, vector(new, 0))],
                live_score: None,
            },
        );
        let Evidence::Fused { vectors: both, .. } = passes.add(
            Some(&door),
            PassFrame {
                vectors: vec![(new, vector(new, 1)), (old, vector(old, 2))],
                live_score: None,
            },
        ) else {
            panic!("the pass is open");
        };
        let summary: Vec<(&str, usize, usize)> = both
            .iter()
            .map(|f| (f.model.id, f.vector.len(), f.frames))
            .collect();
        assert_eq!(
            summary,
            [(new.id, new.dimensions, 2), (old.id, old.dimensions, 1)]
        );
        assert_eq!(passes.held_vectors(), 3);
    }

    #[test]
    fn a_pass_fuses_its_latest_frames_until_it_is_decided() {
        let passes = Passes::default();
        let door = key("approach-1");
        let (first, frames) = fused(passes.add(Some(&door), frame(0)));
        assert_eq!((first[0], frames), (1.0, 1));
        let (both, frames) = fused(passes.add(Some(&door), frame(1)));
        assert_eq!(frames, 2);
        // The unit-length mean of two orthogonal directions.
        assert!((both[0] - both[1]).abs() < 1e-6 && (both[0] - 0.5f32.sqrt()).abs() < 1e-6);
        for direction in 2..10 {
            let (_, frames) = fused(passes.add(Some(&door), frame(direction)));
            assert!(frames <= MAX_PASS_FRAMES);
        }
        let (latest, frames) = fused(passes.add(Some(&door), frame(10)));
        assert_eq!(frames, MAX_PASS_FRAMES);
        assert_eq!(latest[0], 0.0, "the oldest frames left the pass");
        assert_eq!(passes.held_vectors(), MAX_PASS_FRAMES);

        // Another device's pass of the same name is another pass.
        let other = PassKey {
            device: DeviceId::generate(),
            pass: door.pass.clone(),
        };
        assert_eq!(fused(passes.add(Some(&other), frame(3))).1, 1);

        passes.decide(&door);
        assert_eq!(
            passes.held_vectors(),
            1,
            "the decided pass's vectors are wiped"
        );
        assert!(matches!(
            passes.add(Some(&door), frame(0)),
            Evidence::AlreadyDecided
        ));
        assert_eq!(passes.held_vectors(), 1);
    }

    #[test]
    fn a_quiet_pass_is_swept_with_its_vectors_and_its_id_starts_afresh() {
        let passes = Passes::with_window(Duration::from_millis(50));
        let (walk, other) = (key("walk"), key("other"));
        passes.add(Some(&walk), frame(0));
        passes.add(Some(&walk), frame(1));
        passes.add(Some(&other), frame(2));
        std::thread::sleep(Duration::from_millis(80));
        // Not yet swept, the quiet pass's id starts a new pass.
        assert_eq!(fused(passes.add(Some(&walk), frame(3))).1, 1);
        std::thread::sleep(Duration::from_millis(80));
        passes.sweep();
        assert_eq!(passes.held_vectors(), 0, "a quiet pass keeps no vector");
        assert!(passes.lock().is_empty());
    }

    #[test]
    fn a_frame_without_a_pass_stands_alone() {
        let passes = Passes::default();
        for _ in 0..3 {
            assert_eq!(fused(passes.add(None, frame(0))).1, 1);
        }
        assert_eq!(passes.held_vectors(), 0);
    }
}
