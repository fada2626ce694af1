//! How distances become decisions: the normalisation a gallery applies to
//! its distances, the security levels an organisation chooses from, and the
//! calibrated thresholds that make each level hold its promise.
//!
//! ## Normalisation (hubness)
//! Faces are not spread evenly in a descriptor space: some people sit in
//! crowded regions, where strangers come close by chance (with dlib's model,
//! East Asian faces most of all: lfw-dev's closest stranger pairs are nearly
//! all there). A fixed threshold lets strangers in through exactly those
//! people. Each enrolled vector therefore carries its *neighbourhood*: the
//! mean distance to its [`Scoring::hub_neighbours`] nearest other people of
//! the gallery's cohort. A probe's distance to that vector is lowered by
//! `hub_weight × (neighbourhood − the gallery's mean neighbourhood)`: a
//! vector in a crowded region must be approached more closely to match. On
//! lfw-dev this more than halves the people refused at a 0.1% false-positive
//! identification rate (`limen eval lfw`, BENCHMARKS.md).
//!
//! ## Security levels
//! The false-positive identification rate (FPIR) is the share of people who
//! are not enrolled but are matched to somebody. An organisation chooses a
//! target FPIR; the threshold that meets it depends on the size of its
//! gallery and on how many frames of a passage are fused, and is read from
//! the model version's [`Calibration`].

use limen_domain::SecurityLevel;

use crate::MAX_VECTORS_PER_PERSON;

/// How a gallery normalises distances (part of a model version).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scoring {
    /// A vector's neighbourhood is its mean distance to this many nearest
    /// other people.
    pub hub_neighbours: usize,
    /// How much of a neighbourhood's difference from the gallery mean is
    /// taken off the distance; 0 turns normalisation off.
    pub hub_weight: f32,
    /// Neighbourhoods are measured against at most this many people (the
    /// first enrolled), which bounds the cost of keeping them up to date.
    pub cohort_people: usize,
}

impl Scoring {
    /// Limen's normalisation (chosen on lfw-dev; neighbourhoods of 5 to 20
    /// people and weights of 0.75 to 1 gave the same accuracy within noise).
    pub const HUBNESS: Scoring = Scoring {
        hub_neighbours: 10,
        hub_weight: 1.0,
        cohort_people: 1024,
    };

    /// Plain distances, for measuring what normalisation brings.
    pub const PLAIN: Scoring = Scoring {
        hub_neighbours: 10,
        hub_weight: 0.0,
        cohort_people: 1024,
    };
}

/// Passages fused from this many frames or more share one threshold.
pub const FUSED_FRAME_CLASSES: usize = 3;

/// What `limen eval calibrate` measured on lfw-dev for one model version
/// and scoring: thresholds, and the corrections that let one threshold
/// serve people with several vectors and passages of several frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Gallery sizes (people) at which the thresholds were measured, ascending.
    pub gallery_people: &'static [f32],
    /// `thresholds[level][size]`: the normalised distance under which a
    /// single frame is a match, in a gallery where everyone has one vector.
    pub thresholds: [&'static [f32]; 3],
    /// Past the largest measured gallery, thresholds fall by this much for
    /// each tenfold growth.
    pub decrease_per_decade: f32,
    /// `fused_frames_shift[n − 1]` comes off the threshold for a passage
    /// fused from n frames: an average of frames is steadier, for strangers
    /// too, so it must come closer to count as a match.
    pub fused_frames_shift: [f32; FUSED_FRAME_CLASSES],
    /// `vector_penalty[v − 1]` is added to the distance of a person holding
    /// v vectors: each vector is one more chance for a stranger to come
    /// close, and the penalty takes those chances back.
    pub vector_penalty: [f32; MAX_VECTORS_PER_PERSON],
    /// Share of an enrolled person's single-frame passages accepted at each
    /// level with one and with three enrolment vectors, as measured on
    /// lfw-dev: what an admin may expect.
    pub genuine_acceptance: [[f32; 2]; 3],
}

impl Calibration {
    /// No thresholds and no corrections: for measuring, never for deciding
    /// (nothing is a match).
    pub const UNCALIBRATED: Calibration = Calibration {
        gallery_people: &[],
        thresholds: [&[], &[], &[]],
        decrease_per_decade: 0.0,
        fused_frames_shift: [0.0; FUSED_FRAME_CLASSES],
        vector_penalty: [0.0; MAX_VECTORS_PER_PERSON],
        genuine_acceptance: [[0.0; 2]; 3],
    };

    /// The threshold for `level`, a gallery of `people` and a passage fused
    /// from `frames` frames. Interpolated in log(people) between measured
    /// sizes; held at the smallest below; lowered beyond the largest.
    pub fn threshold(&self, level: SecurityLevel, people: usize, frames: usize) -> f32 {
        let row = self.thresholds[level.position()];
        let sizes = self.gallery_people;
        let (Some(&first), Some(&last)) = (sizes.first(), sizes.last()) else {
            return f32::NEG_INFINITY;
        };
        if row.len() != sizes.len() {
            return f32::NEG_INFINITY;
        }
        let shift = self.fused_frames_shift[frames.clamp(1, FUSED_FRAME_CLASSES) - 1];
        let n = people.max(1) as f32;
        let base = if n <= first {
            row[0]
        } else if n >= last {
            row[row.len() - 1] - self.decrease_per_decade * (n / last).log10()
        } else {
            let upper = sizes
                .iter()
                .position(|&s| s >= n)
                .unwrap_or(sizes.len() - 1);
            let lower = upper - 1;
            let t = (n.ln() - sizes[lower].ln()) / (sizes[upper].ln() - sizes[lower].ln());
            row[lower] + t * (row[upper] - row[lower])
        };
        base - shift
    }

    /// The penalty added to the distance of a person with `vectors` vectors.
    pub fn penalty(&self, vectors: usize) -> f32 {
        self.vector_penalty[vectors.clamp(1, MAX_VECTORS_PER_PERSON) - 1]
    }

    /// Expected share of an enrolled person's single-frame passages
    /// accepted at `level` with `vectors` enrolment vectors (1 or 3 measured;
    /// 2 lies between).
    pub fn expected_genuine_acceptance(&self, level: SecurityLevel, vectors: usize) -> f32 {
        let [one, three] = self.genuine_acceptance[level.position()];
        match vectors {
            0 | 1 => one,
            2 => (one + three) / 2.0,
            _ => three,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: Calibration = Calibration {
        gallery_people: &[100.0, 1000.0],
        thresholds: [&[0.4, 0.3], &[0.3, 0.2], &[0.2, 0.1]],
        decrease_per_decade: 0.05,
        fused_frames_shift: [0.0, 0.01, 0.02],
        vector_penalty: [0.0, 0.005, 0.01, 0.01, 0.01],
        genuine_acceptance: [[0.8, 0.9], [0.7, 0.85], [0.6, 0.8]],
    };

    #[test]
    fn thresholds_interpolate_in_log_gallery_size() {
        let high = SecurityLevel::High;
        assert_eq!(TABLE.threshold(high, 10, 1), 0.3);
        assert_eq!(TABLE.threshold(high, 100, 1), 0.3);
        let middle = TABLE.threshold(high, 316, 1);
        assert!((middle - 0.25).abs() < 1e-3, "{middle}");
        assert!((TABLE.threshold(high, 10_000, 1) - 0.15).abs() < 1e-6);
        assert_eq!(TABLE.threshold(high, 1000, 2), 0.19);
        assert_eq!(TABLE.threshold(high, 1000, 9), 0.18);
        assert_eq!(TABLE.threshold(high, 1000, 0), 0.2);
        assert_eq!(TABLE.penalty(3), 0.01);
        assert_eq!(TABLE.penalty(0), 0.0);
    }

    #[test]
    fn stricter_levels_have_lower_thresholds() {
        for people in [1, 50, 500, 5000, 5_000_000] {
            let t: Vec<f32> = SecurityLevel::ALL
                .iter()
                .map(|&l| TABLE.threshold(l, people, 1))
                .collect();
            assert!(t[0] > t[1] && t[1] > t[2], "{t:?}");
        }
    }

    #[test]
    fn without_a_calibration_nothing_is_close_enough() {
        let t = Calibration::UNCALIBRATED.threshold(SecurityLevel::Standard, 10, 1);
        assert_eq!(t, f32::NEG_INFINITY);
    }
}
