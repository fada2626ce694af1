//! The compressed search finds what the exact search finds, on real
//! descriptors: every lfw-dev image's, as the default model version
//! (`omz-reid-0095`) describes it (`fixtures/README.md`). Galleries of
//! lfw-dev's size, normalised and calibrated as the door's are; every probe
//! must get the same nearest person, distance and second distance, hence
//! the same decision at every level.

use std::collections::BTreeMap;

use limen_matcher::{
    CANDIDATES, DecisionRule, Galleries, Identification, Scoring, SecurityLevel, calibration_for,
};

const MODEL: &str = "omz-reid-0095";
const DIMENSIONS: usize = 256;
const FIXTURE: &[u8] = include_bytes!("fixtures/lfw-dev-omz-reid-0095.bin");

/// Each lfw-dev person's descriptors, in the order of their images.
fn lfw_dev() -> Vec<Vec<Vec<f32>>> {
    let mut people: BTreeMap<u16, Vec<Vec<f32>>> = BTreeMap::new();
    for record in FIXTURE.chunks_exact(2 + 2 * DIMENSIONS) {
        let person = u16::from_le_bytes([record[0], record[1]]);
        let descriptor = record[2..]
            .chunks_exact(2)
            .map(|half| f32_from_f16(u16::from_le_bytes([half[0], half[1]])))
            .collect();
        people.entry(person).or_default().push(descriptor);
    }
    people.into_values().collect()
}

/// IEEE half precision to single (the fixture holds no infinity or NaN).
fn f32_from_f16(bits: u16) -> f32 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f32::from(bits & 0x3ff);
    sign * if exponent == 0 {
        mantissa * 2f32.powi(-24)
    } else {
        (1024.0 + mantissa) * 2f32.powi(exponent - 25)
    }
}

/// Enrols `enrolled` people with up to `vectors` of their images each, and
/// returns every probe: their other images, and every image of the rest.
fn gallery(
    people: &[Vec<Vec<f32>>],
    enrolled: impl Fn(usize) -> bool,
    vectors: usize,
) -> (Galleries<(), usize>, Vec<&[f32]>) {
    let calibration = calibration_for(MODEL).expect("the default model's").clone();
    let galleries = Galleries::new(MODEL, DIMENSIONS, Scoring::HUBNESS, calibration);
    let mut probes = Vec::new();
    for (person, images) in people.iter().enumerate() {
        let kept = if enrolled(person) { vectors } else { 0 };
        let (enrolment, rest) = images.split_at(kept.min(images.len()));
        if !enrolment.is_empty() {
            let enrolment: Vec<&[f32]> = enrolment.iter().map(Vec::as_slice).collect();
            galleries
                .enrol(&(), person, MODEL, &enrolment)
                .expect("valid");
        }
        probes.extend(rest.iter().map(Vec::as_slice));
    }
    (galleries, probes)
}

fn assert_same_as_exact(galleries: &Galleries<(), usize>, probes: &[&[f32]]) {
    for (i, probe) in probes.iter().enumerate() {
        let compressed = galleries
            .search_compressed(&(), MODEL, probe)
            .expect("valid");
        let exact = galleries.search_exact(&(), MODEL, probe).expect("valid");
        assert_eq!(compressed, exact, "probe {i}");
        for level in SecurityLevel::ALL {
            let decided = galleries
                .identify(&(), MODEL, probe, 1, &DecisionRule::new(level))
                .expect("valid");
            let exact = exact.as_ref().expect("a person");
            let calibration = galleries.calibration();
            let threshold = calibration.threshold(level, exact.gallery_people, 1);
            let expected = DecisionRule::new(level).reject(
                threshold,
                exact.distance,
                exact.second_distance.unwrap_or(f32::INFINITY),
            );
            match decided {
                Identification::Matched(m) => {
                    assert_eq!(expected, None, "probe {i}");
                    assert_eq!(*m.person(), exact.person, "probe {i}");
                }
                Identification::Unknown(reason) => assert_eq!(Some(reason), expected),
            }
        }
    }
}

#[test]
fn every_lfw_dev_person_enrolled_once_everyone_else_probes() {
    let people = lfw_dev();
    assert_eq!(people.len(), 1151);
    let (galleries, probes) = gallery(&people, |_| true, 1);
    assert_eq!(galleries.len(&()), 1151);
    assert!(galleries.len(&()) > CANDIDATES, "the compressed pass runs");
    assert_eq!(probes.len(), 2724 - 1151);
    assert_same_as_exact(&galleries, &probes);
}

#[test]
fn half_of_lfw_dev_enrolled_with_three_images_the_other_half_strangers() {
    let people = lfw_dev();
    let (galleries, probes) = gallery(&people, |person| person % 2 == 0, 3);
    assert_eq!(galleries.len(&()), 576);
    assert!(probes.len() > 1000);
    assert_same_as_exact(&galleries, &probes);
}
