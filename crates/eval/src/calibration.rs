//! Measuring a model version's [`Calibration`] on lfw-dev.
//!
//! Everything is measured through Limen's own matcher, with the product's
//! quality gates, on galleries drawn again and again from lfw-dev's people
//! (one enrolment image each unless said otherwise); non-mated probes are
//! all images of the people left out of the gallery. Label noise is set
//! apart.
//!
//! 1. **Thresholds.** For each gallery size and security level, the
//!    largest normalised distance that lets at most the level's FPIR of the
//!    pooled non-mated probes match somebody.
//! 2. **Beyond the largest gallery.** lfw-dev has too few people to measure
//!    galleries larger than its cohort. A cohort ten times smaller than the
//!    gallery stands in: the threshold at the 1% level is measured with a
//!    cohort of 50 people in galleries of 50 and of 500 people, and the
//!    difference is how much thresholds fall per tenfold growth.
//! 3. **Several vectors per person.** The same people enrolled with one
//!    vector and with v; the difference between the 1% points of the two
//!    galleries' non-mated distances is the penalty for v vectors.
//! 4. **Fused passages.** Non-mated passages fused from n images against
//!    single images of the same passages, 1% points, in galleries of 500.
//! 5. **Expected acceptance.** The identification protocol (default seed,
//!    gates on) with one and three enrolment images, at the thresholds just
//!    measured: what an admin may expect.
//!
//! The 1% points in 2–4 are used because they rest on a hundred times more
//! false matches than 0.01% points would; the corrections are applied at
//! every level.

use std::collections::HashSet;

use limen_face::{Descriptor, FaceModel};
use limen_matcher::{
    Calibration, FUSED_FRAME_CLASSES, Galleries, MAX_VECTORS_PER_PERSON, Scoring, SecurityLevel,
};

use crate::identification::{self, FaceTable, Setup};
use crate::metrics;
use crate::people::Person;
use crate::rng::SplitMix64;

/// What is measured, and how often.
#[derive(Debug, Clone)]
pub struct Plan {
    pub gallery_sizes: Vec<usize>,
    /// Galleries drawn per measurement.
    pub repetitions: usize,
    pub seed: u64,
    /// The identification split for the expected acceptance.
    pub protocol_seed: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            gallery_sizes: vec![5, 10, 20, 50, 100, 250, 500, 800],
            repetitions: 20,
            seed: 20261129,
            protocol_seed: 20261126,
        }
    }
}

/// A measured calibration, owning its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub gallery_people: Vec<f32>,
    pub thresholds: [Vec<f32>; 3],
    pub decrease_per_decade: f32,
    pub fused_frames_shift: [f32; FUSED_FRAME_CLASSES],
    pub vector_penalty: [f32; MAX_VECTORS_PER_PERSON],
    pub genuine_acceptance: [[f32; 2]; 3],
    /// Non-mated probes pooled behind each size's thresholds.
    pub probes_per_size: Vec<usize>,
}

/// The people with their usable images: enrolment vectors (passing the
/// enrolment check) and probe vectors (passing the entrance check).
struct Pool {
    enrolment: Vec<Vec<Descriptor>>,
    probes: Vec<Vec<Descriptor>>,
}

impl Pool {
    fn new(people: &[Person], faces: &FaceTable, set_apart: &HashSet<String>) -> Pool {
        let mut enrolment = Vec::with_capacity(people.len());
        let mut probes = Vec::with_capacity(people.len());
        for person in people {
            let mut e = Vec::new();
            let mut p = Vec::new();
            for path in person.image_paths() {
                if set_apart.contains(&path) {
                    continue;
                }
                let Some(face) = faces.get(&path) else {
                    continue;
                };
                let Some(vector) = &face.vector else { continue };
                if face.enrolment_refusal.is_none() {
                    e.push(vector.clone());
                }
                if face.entrance_refusal.is_none() {
                    p.push(vector.clone());
                }
            }
            enrolment.push(e);
            probes.push(p);
        }
        Pool { enrolment, probes }
    }

    /// People who can be enrolled with at least `vectors` vectors.
    fn enrollable(&self, vectors: usize) -> Vec<usize> {
        (0..self.enrolment.len())
            .filter(|&i| self.enrolment[i].len() >= vectors)
            .collect()
    }
}

/// Measures the calibration of `version` with `scoring`.
pub fn measure(
    people: &[Person],
    faces: &FaceTable,
    set_apart: &HashSet<String>,
    version: FaceModel,
    scoring: Scoring,
    plan: &Plan,
    progress: &mut dyn FnMut(&str),
) -> Measured {
    let pool = Pool::new(people, faces, set_apart);
    let mut rng = SplitMix64::new(plan.seed);
    let candidates = pool.enrollable(1);

    let mut thresholds: [Vec<f32>; 3] = Default::default();
    let mut probes_per_size = Vec::new();
    for &size in &plan.gallery_sizes {
        progress(&format!("thresholds: galleries of {size}"));
        let mut distances = Vec::new();
        for _ in 0..plan.repetitions {
            let (gallery, rest) = draw(&candidates, size, &mut rng);
            let galleries = enrol(&pool, &gallery, 1, version, scoring);
            distances.extend(non_mated(&galleries, &pool, &rest, 1, version));
        }
        probes_per_size.push(distances.len());
        for level in SecurityLevel::ALL {
            thresholds[level.position()].push(quantile(&distances, level.target_fpir()));
        }
    }

    progress("decrease beyond the largest gallery");
    let proxy = Scoring {
        cohort_people: 50,
        ..scoring
    };
    let at = |size: usize, rng: &mut SplitMix64| {
        let mut distances = Vec::new();
        for _ in 0..plan.repetitions {
            let (gallery, rest) = draw(&candidates, size, rng);
            let galleries = enrol(&pool, &gallery, 1, version, proxy);
            distances.extend(non_mated(&galleries, &pool, &rest, 1, version));
        }
        quantile(&distances, 0.01)
    };
    let decrease_per_decade = (at(50, &mut rng) - at(500, &mut rng)).max(0.0);

    progress("penalties for several vectors");
    let mut vector_penalty = [0.0f32; MAX_VECTORS_PER_PERSON];
    for v in 2..=MAX_VECTORS_PER_PERSON {
        let eligible = pool.enrollable(v);
        let size = 60.min(eligible.len().saturating_sub(1));
        if size < 10 {
            vector_penalty[v - 1] = vector_penalty[v - 2];
            continue;
        }
        let (mut single, mut several) = (Vec::new(), Vec::new());
        for _ in 0..plan.repetitions * 3 {
            let (gallery, _) = draw(&eligible, size, &mut rng);
            let chosen: HashSet<usize> = gallery.iter().copied().collect();
            let rest: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|p| !chosen.contains(p))
                .collect();
            single.extend(non_mated(
                &enrol(&pool, &gallery, 1, version, scoring),
                &pool,
                &rest,
                1,
                version,
            ));
            several.extend(non_mated(
                &enrol(&pool, &gallery, v, version, scoring),
                &pool,
                &rest,
                1,
                version,
            ));
        }
        let penalty = quantile(&single, 0.01) - quantile(&several, 0.01);
        vector_penalty[v - 1] = penalty.max(vector_penalty[v - 2]);
    }

    progress("shifts for fused passages");
    let mut fused_frames_shift = [0.0f32; FUSED_FRAME_CLASSES];
    for n in 2..=FUSED_FRAME_CLASSES {
        let (mut single, mut fused) = (Vec::new(), Vec::new());
        for _ in 0..plan.repetitions {
            let (gallery, rest) = draw(&candidates, 500.min(candidates.len() / 2), &mut rng);
            let galleries = enrol(&pool, &gallery, 1, version, scoring);
            let rest: Vec<usize> = rest
                .into_iter()
                .filter(|&p| pool.probes[p].len() >= n)
                .collect();
            single.extend(non_mated(&galleries, &pool, &rest, 1, version));
            fused.extend(non_mated(&galleries, &pool, &rest, n, version));
        }
        let shift = quantile(&single, 0.01) - quantile(&fused, 0.01);
        fused_frames_shift[n - 1] = shift.max(fused_frames_shift[n - 2]);
    }

    // A calibration made at run time for a one-off measurement: its tables
    // must be `'static` like the compiled-in ones, so they are leaked.
    let leaked: Calibration = Calibration {
        gallery_people: Box::leak(
            plan.gallery_sizes
                .iter()
                .map(|&s| s as f32)
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        ),
        thresholds: thresholds
            .clone()
            .map(|t| &*Box::leak(t.into_boxed_slice())),
        decrease_per_decade,
        fused_frames_shift,
        vector_penalty,
        genuine_acceptance: [[0.0; 2]; 3],
    };
    progress("expected acceptance");
    let mut genuine_acceptance = [[0.0f32; 2]; 3];
    let split = identification::split(people, plan.protocol_seed);
    for (column, k) in [1usize, 3].into_iter().enumerate() {
        let setup = Setup {
            enrol_images: k,
            scoring,
            pass_frames: 1,
            gates: true,
        };
        let trial = identification::run(people, faces, set_apart, &split, &setup, version, &leaked);
        for level in SecurityLevel::ALL {
            let threshold = leaked.threshold(level, trial.gallery_people, 1);
            let (_, fnir) = metrics::at_threshold(&trial, threshold);
            genuine_acceptance[level.position()][column] = (1.0 - fnir) as f32;
        }
    }

    Measured {
        gallery_people: plan.gallery_sizes.iter().map(|&s| s as f32).collect(),
        thresholds,
        decrease_per_decade,
        fused_frames_shift,
        vector_penalty,
        genuine_acceptance,
        probes_per_size,
    }
}

/// `size` people drawn from `candidates`, and the others.
fn draw(candidates: &[usize], size: usize, rng: &mut SplitMix64) -> (Vec<usize>, Vec<usize>) {
    let mut shuffled = candidates.to_vec();
    rng.shuffle(&mut shuffled);
    let rest = shuffled.split_off(size.min(shuffled.len()));
    (shuffled, rest)
}

fn enrol(
    pool: &Pool,
    gallery: &[usize],
    vectors: usize,
    version: FaceModel,
    scoring: Scoring,
) -> Galleries<(), usize> {
    let galleries = Galleries::new(
        version.id,
        version.dimensions,
        scoring,
        Calibration::UNCALIBRATED,
    );
    for &person in gallery {
        let rows: Vec<&[f32]> = pool.enrolment[person]
            .iter()
            .take(vectors)
            .map(Descriptor::as_slice)
            .collect();
        // Rows are finite vectors of this model: enrolment cannot fail.
        let _ = galleries.enrol(&(), person, version.id, &rows);
    }
    galleries
}

/// The nearest person's distance for each non-mated passage of `frames`
/// consecutive probe images of the people in `rest`.
fn non_mated(
    galleries: &Galleries<(), usize>,
    pool: &Pool,
    rest: &[usize],
    frames: usize,
    version: FaceModel,
) -> Vec<f32> {
    let mut out = Vec::new();
    for &person in rest {
        for pass in pool.probes[person].chunks(frames) {
            if pass.len() < frames {
                continue;
            }
            let views: Vec<&Descriptor> = pass.iter().collect();
            let Some(fused) = version.fuse(&views) else {
                continue;
            };
            if let Ok(Some(nearest)) = galleries.search(&(), version.id, fused.as_slice()) {
                out.push(nearest.distance);
            }
        }
    }
    out
}

/// The largest distance that at most `share` of `distances` fall at or
/// under (just under the first one too many).
fn quantile(distances: &[f32], share: f64) -> f32 {
    let mut sorted = distances.to_vec();
    sorted.sort_by(f32::total_cmp);
    let allowed = (share * sorted.len() as f64).floor() as usize;
    match sorted.get(allowed) {
        Some(&d) => f32::from_bits(d.to_bits().saturating_sub(1)),
        None => f32::INFINITY,
    }
}

impl Measured {
    /// The calibration as the Rust source of a `calibrations/` module.
    pub fn to_rust(&self, version: &str, command: &str) -> String {
        let list = |v: &[f32]| {
            v.iter()
                .map(|x| format!("{x:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pairs = self
            .genuine_acceptance
            .iter()
            .map(|[a, b]| format!("[{a:.4}, {b:.4}]"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "// Measured on lfw-dev for model version {version} by\n\
             //     {command}\n\
             // Non-mated probes behind each gallery size's thresholds: {probes}.\n\
             // Printed by the command; not edited by hand.\n\
             use crate::Calibration;\n\n\
             pub(super) const CALIBRATION: Calibration = Calibration {{\n    \
             gallery_people: &[{sizes}],\n    \
             thresholds: [\n        &[{t0}],\n        &[{t1}],\n        &[{t2}],\n    ],\n    \
             decrease_per_decade: {decrease:.4},\n    \
             fused_frames_shift: [{fused}],\n    \
             vector_penalty: [{penalty}],\n    \
             genuine_acceptance: [{pairs}],\n}};\n",
            probes = self
                .probes_per_size
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            sizes = list(&self.gallery_people),
            t0 = list(&self.thresholds[0]),
            t1 = list(&self.thresholds[1]),
            t2 = list(&self.thresholds[2]),
            decrease = self.decrease_per_decade,
            fused = list(&self.fused_frames_shift),
            penalty = list(&self.vector_penalty),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_let_through_at_most_the_share() {
        let d: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let q = quantile(&d, 0.01);
        assert!((9.0..10.0).contains(&q), "{q}");
        assert_eq!(d.iter().filter(|&&x| x <= q).count(), 10);
        assert_eq!(quantile(&d[..10], 0.5), f32::from_bits(5f32.to_bits() - 1));
    }
}
