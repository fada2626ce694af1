//! Loading many people at once (start-up) leaves every new vector's
//! neighbourhood to be measured together, across the cores: the gallery
//! must then rank exactly as one whose neighbourhoods were measured a
//! person at a time.

use limen_matcher::{Calibration, Galleries, Scoring};

const MODEL: &str = "dlib_face_recognition_resnet_model_v1";
const DIMENSIONS: usize = 128;
/// More than a full cohort.
const PEOPLE: u32 = 3000;

/// Deterministic pseudo-random unit vectors (xorshift64*).
fn unit_vectors(seed: u64, count: usize) -> Vec<Vec<f32>> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            let v: Vec<f32> = (0..DIMENSIONS)
                .map(|_| {
                    state ^= state >> 12;
                    state ^= state << 25;
                    state ^= state >> 27;
                    let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
                    (bits >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            let norm = v.iter().map(|c| c * c).sum::<f32>().sqrt();
            v.iter().map(|c| c / norm).collect()
        })
        .collect()
}

fn gallery() -> Galleries<(), u32> {
    Galleries::new(
        MODEL,
        DIMENSIONS,
        Scoring::HUBNESS,
        Calibration::UNCALIBRATED,
    )
}

#[test]
fn neighbourhoods_measured_together_rank_as_measured_one_by_one() {
    let vectors = unit_vectors(0x9e37_79b9_7f4a_7c15, PEOPLE as usize);
    let together = gallery();
    let one_by_one = gallery();
    for (person, vector) in (0..PEOPLE).zip(&vectors) {
        together
            .enrol(&(), person, MODEL, &[vector])
            .expect("valid");
        one_by_one
            .enrol(&(), person, MODEL, &[vector])
            .expect("valid");
        // A search measures this person's neighbourhood now, alone.
        one_by_one.search(&(), MODEL, vector).expect("valid");
    }
    together.refresh_all(4);
    // Probes near enrolled people, whose distances carry their offsets.
    for (i, probe) in unit_vectors(7, 40).iter().enumerate() {
        let near: Vec<f32> = vectors[i * 73]
            .iter()
            .zip(probe)
            .map(|(v, p)| v + 0.05 * p)
            .collect();
        for probe in [probe, &near] {
            assert_eq!(
                together.search_exact(&(), MODEL, probe).expect("valid"),
                one_by_one.search_exact(&(), MODEL, probe).expect("valid"),
            );
        }
    }
}
