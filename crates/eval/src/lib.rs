//! Accuracy protocols over face descriptors (and the liveness check's
//! synthetic attacks), independent of how the
//! descriptors were made: the same pairs and probes score Limen's engine and
//! the reference implementation alike.
//!
//! - [`people`]: LFW's `people.txt` (people sets, names, image counts).
//! - [`verification`]: genuine and impostor pairs per set, seeded, with the
//!   threshold chosen on the other sets (leave one set out).
//! - [`identification`]: open-set 1:N search through Limen's matcher, with
//!   several enrolment images, fused passages and the product's quality
//!   gates; [`metrics`] turns it into rank-1, FNIR at fixed FPIR and a DET
//!   curve ([`det`] draws it).
//! - [`calibration`]: measures a model version's thresholds.
//! - [`label_noise`]: lfw-dev's known label errors, set apart.
//!
//! - [`attacks`]: synthetic presentation attacks (a photo on a phone
//!   screen or on paper, held up to a camera) for the liveness check, and
//!   [`liveness`]: the share of faces judged live at each threshold.
//!
//! A face that was not found counts as an error wherever it is needed.

pub mod agreement;
pub mod attacks;
pub mod calibration;
pub mod det;
pub mod gates;
pub mod identification;
pub mod label_noise;
pub mod liveness;
pub mod metrics;
pub mod people;
pub mod rng;
pub mod verification;

/// Euclidean distance between two descriptors.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}
