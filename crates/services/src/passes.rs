//! Passes: the frames a device sends of one person's approach, decided
//! together. Each good frame's vector joins its pass; the pass is searched
//! as the fused vector of its frames (their mean, which is steadier than any
//! one frame), with the threshold calibrated for that many frames.
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

struct Pass {
    /// The vectors of its good frames, oldest first; empty once decided.
    frames: Vec<Descriptor>,
    last_frame: Instant,
    decided: bool,
}

/// The evidence a frame adds to its pass.
pub(crate) enum Evidence {
    /// The vector to search and how many frames it fuses.
    Fused { vector: Descriptor, frames: usize },
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

    /// Adds a good frame's `vector` to its pass and returns the pass's fused
    /// evidence. Without a pass (or with too many open), the frame stands
    /// alone.
    pub(crate) fn add(
        &self,
        key: Option<&PassKey>,
        vector: Descriptor,
        model: &FaceModel,
    ) -> Evidence {
        let alone = |vector| Evidence::Fused { vector, frames: 1 };
        let Some(key) = key else {
            return alone(vector);
        };
        let now = Instant::now();
        let mut open = self.lock();
        if !open.contains_key(key) && open.len() >= MAX_OPEN_PASSES {
            return alone(vector);
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
        pass.frames.push(vector);
        let frames: Vec<&Descriptor> = pass.frames.iter().collect();
        match model.fuse(&frames) {
            Some(vector) => Evidence::Fused {
                vector,
                frames: frames.len(),
            },
            // The engine made every vector of this model: unreachable, but
            // the newest frame alone is still a sound answer.
            None => alone(Descriptor::from_slice(frames[frames.len() - 1].as_slice())),
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
        self.lock().values().map(|p| p.frames.len()).sum()
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
            Evidence::Fused { vector, frames } => (vector.as_slice().to_vec(), frames),
            Evidence::AlreadyDecided => panic!("the pass is open"),
        }
    }

    #[test]
    fn a_pass_fuses_its_latest_frames_until_it_is_decided() {
        let passes = Passes::default();
        let model = FaceModel::DEFAULT;
        let door = key("approach-1");
        let (first, frames) = fused(passes.add(Some(&door), unit(0), &model));
        assert_eq!((first[0], frames), (1.0, 1));
        let (both, frames) = fused(passes.add(Some(&door), unit(1), &model));
        assert_eq!(frames, 2);
        // The unit-length mean of two orthogonal directions.
        assert!((both[0] - both[1]).abs() < 1e-6 && (both[0] - 0.5f32.sqrt()).abs() < 1e-6);
        for direction in 2..10 {
            let (_, frames) = fused(passes.add(Some(&door), unit(direction), &model));
            assert!(frames <= MAX_PASS_FRAMES);
        }
        let (latest, frames) = fused(passes.add(Some(&door), unit(10), &model));
        assert_eq!(frames, MAX_PASS_FRAMES);
        assert_eq!(latest[0], 0.0, "the oldest frames left the pass");
        assert_eq!(passes.held_vectors(), MAX_PASS_FRAMES);

        // Another device's pass of the same name is another pass.
        let other = PassKey {
            device: DeviceId::generate(),
            pass: door.pass.clone(),
        };
        assert_eq!(fused(passes.add(Some(&other), unit(3), &model)).1, 1);

        passes.decide(&door);
        assert_eq!(
            passes.held_vectors(),
            1,
            "the decided pass's vectors are wiped"
        );
        assert!(matches!(
            passes.add(Some(&door), unit(0), &model),
            Evidence::AlreadyDecided
        ));
        assert_eq!(passes.held_vectors(), 1);
    }

    #[test]
    fn a_quiet_pass_is_swept_with_its_vectors_and_its_id_starts_afresh() {
        let passes = Passes::with_window(Duration::from_millis(50));
        let model = FaceModel::DEFAULT;
        let (walk, other) = (key("walk"), key("other"));
        passes.add(Some(&walk), unit(0), &model);
        passes.add(Some(&walk), unit(1), &model);
        passes.add(Some(&other), unit(2), &model);
        std::thread::sleep(Duration::from_millis(80));
        // Not yet swept, the quiet pass's id starts a new pass.
        assert_eq!(fused(passes.add(Some(&walk), unit(3), &model)).1, 1);
        std::thread::sleep(Duration::from_millis(80));
        passes.sweep();
        assert_eq!(passes.held_vectors(), 0, "a quiet pass keeps no vector");
        assert!(passes.lock().is_empty());
    }

    #[test]
    fn a_frame_without_a_pass_stands_alone() {
        let passes = Passes::default();
        for _ in 0..3 {
            assert_eq!(fused(passes.add(None, unit(0), &FaceModel::DEFAULT)).1, 1);
        }
        assert_eq!(passes.held_vectors(), 0);
    }
}
