//! The matcher through its public surface: decisions, several vectors per
//! person, neighbourhood normalisation kept in step, organisation
//! isolation, model versions and race-free removal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use limen_matcher::{
    Calibration, DecisionRule, Galleries, Identification, MatcherError, Scoring, SecurityLevel,
    UnknownReason,
};

const MODEL: &str = "dlib_face_recognition_resnet_model_v1";
const DIMENSIONS: usize = 128;
type Descriptor = [f32; DIMENSIONS];

/// Thresholds that make these tests' arithmetic easy: 0.41 at the default
/// level whatever the gallery size, stricter for fused passages.
const TABLE: Calibration = Calibration {
    gallery_people: &[10.0],
    thresholds: [&[0.46], &[0.41], &[0.36]],
    decrease_per_decade: 0.0,
    fused_frames_shift: [0.0, 0.01, 0.02],
    vector_penalty: [0.0; 5],
    genuine_acceptance: [[0.0; 2]; 3],
};

fn rule() -> DecisionRule {
    DecisionRule::new(SecurityLevel::High)
}

/// Plain distances, so a probe's distance is exactly what the test made it.
fn plain() -> Galleries<&'static str, u32> {
    Galleries::new(MODEL, DIMENSIONS, Scoring::PLAIN, TABLE)
}

/// Deterministic pseudo-random unit vectors (xorshift64*).
struct UnitVectors(u64);

impl UnitVectors {
    fn next(&mut self) -> Descriptor {
        let mut v = [0.0f32; DIMENSIONS];
        for c in &mut v {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
            *c = (bits >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        let norm = v.iter().map(|c| c * c).sum::<f32>().sqrt();
        v.map(|c| c / norm)
    }
}

/// `base` moved by `distance` along one axis-ish direction.
fn nudged(base: &Descriptor, distance: f32) -> Descriptor {
    let mut v = *base;
    v[0] += distance;
    v
}

fn matched_person(outcome: Identification<u32>) -> Option<u32> {
    match outcome {
        Identification::Matched(m) => Some(*m.person()),
        Identification::Unknown(_) => None,
    }
}

fn enrolled(count: u32) -> (Galleries<&'static str, u32>, Vec<Descriptor>) {
    let galleries = plain();
    let mut vectors = UnitVectors(0x9e37_79b9_7f4a_7c15);
    let descriptors: Vec<Descriptor> = (0..count).map(|_| vectors.next()).collect();
    for (person, d) in descriptors.iter().enumerate() {
        galleries
            .enrol(&"acme", person as u32, MODEL, &[&d[..]])
            .expect("valid");
    }
    (galleries, descriptors)
}

#[test]
fn identifies_an_enrolled_person_from_a_nearby_probe() {
    let (galleries, descriptors) = enrolled(1000);
    let probe = nudged(&descriptors[417], 0.3);
    let outcome = galleries
        .identify(&"acme", MODEL, &probe, 1, &rule())
        .expect("valid");
    let Identification::Matched(m) = outcome else {
        panic!("expected a match, got {outcome:?}");
    };
    assert_eq!(*m.person(), 417);
    assert!((m.distance() - 0.3).abs() < 1e-4);

    let nearest = galleries
        .search(&"acme", MODEL, &probe)
        .expect("valid")
        .expect("non-empty");
    assert_eq!(nearest.person, 417);
    // Random unit vectors in 128 dimensions are about sqrt(2) apart.
    assert!(nearest.second_distance.expect("many enrolled") > 1.0);
}

#[test]
fn a_stranger_is_unknown() {
    let (galleries, _) = enrolled(1000);
    let stranger = UnitVectors(42).next();
    let outcome = galleries.identify(&"acme", MODEL, &stranger, 1, &rule());
    assert!(matches!(
        outcome,
        Ok(Identification::Unknown(UnknownReason::TooFar))
    ));
}

#[test]
fn two_similar_people_are_not_confused() {
    let galleries = plain();
    let alice = UnitVectors(1).next();
    let alices_twin = nudged(&alice, 0.1);
    galleries
        .enrol(&"acme", 1u32, MODEL, &[&alice[..]])
        .expect("valid");
    galleries
        .enrol(&"acme", 2u32, MODEL, &[&alices_twin[..]])
        .expect("valid");
    // Between the two: 0.045 from Alice, 0.055 from her twin; within the
    // margin of 0.02.
    let probe = nudged(&alice, 0.045);
    let outcome = galleries.identify(&"acme", MODEL, &probe, 1, &rule());
    assert!(matches!(
        outcome,
        Ok(Identification::Unknown(UnknownReason::Ambiguous))
    ));
    // Without a margin the nearer one would have been reported.
    let no_margin = DecisionRule {
        min_margin: 0.0,
        ..rule()
    };
    let outcome = galleries
        .identify(&"acme", MODEL, &probe, 1, &no_margin)
        .expect("valid");
    assert_eq!(matched_person(outcome), Some(1));
}

#[test]
fn renewal_replaces_the_descriptor() {
    let (galleries, descriptors) = enrolled(10);
    let renewed = UnitVectors(7).next();
    galleries
        .enrol(&"acme", 3, MODEL, &[&renewed[..]])
        .expect("valid");
    assert_eq!(galleries.len(&"acme"), 10);
    let old = galleries
        .identify(&"acme", MODEL, &descriptors[3], 1, &rule())
        .expect("valid");
    assert_eq!(matched_person(old), None);
    let new = galleries
        .identify(&"acme", MODEL, &renewed, 1, &rule())
        .expect("valid");
    assert_eq!(matched_person(new), Some(3));
}

#[test]
fn an_organisation_only_ever_sees_its_own_gallery() {
    let galleries = plain();
    let alice = UnitVectors(1).next();
    let bob = UnitVectors(2).next();
    galleries
        .enrol(&"acme", 1u32, MODEL, &[&alice[..]])
        .expect("valid");
    galleries
        .enrol(&"globex", 2u32, MODEL, &[&bob[..]])
        .expect("valid");

    let at_globex = galleries
        .identify(&"globex", MODEL, &alice, 1, &rule())
        .expect("valid");
    assert!(matches!(
        at_globex,
        Identification::Unknown(UnknownReason::TooFar)
    ));
    let at_initech = galleries
        .identify(&"initech", MODEL, &alice, 1, &rule())
        .expect("valid");
    assert!(matches!(
        at_initech,
        Identification::Unknown(UnknownReason::EmptyGallery)
    ));
    let at_acme = galleries
        .identify(&"acme", MODEL, &alice, 1, &rule())
        .expect("valid");
    assert_eq!(matched_person(at_acme), Some(1));

    assert_eq!(galleries.remove_organisation(&"acme"), 1);
    assert_eq!(galleries.len(&"acme"), 0);
    assert_eq!(galleries.len(&"globex"), 1);
    // Removing a person id under the wrong organisation touches nothing.
    assert!(!galleries.remove(&"acme", &2));
    assert_eq!(galleries.len(&"globex"), 1);
}

#[test]
fn refuses_vectors_of_another_length() {
    let galleries = plain();
    assert_eq!(
        galleries.enrol(&"acme", 1, MODEL, &[&[0.5f32; 256][..]]),
        Err(MatcherError::Dimensions {
            expected: 128,
            given: 256
        })
    );
    assert!(matches!(
        galleries.search(&"acme", MODEL, &[0.5; 12]),
        Err(MatcherError::Dimensions { .. })
    ));
    // Another gallery holds another model's longer vectors.
    let wide: Galleries<&str, u32> = Galleries::new("wide", 256, Scoring::HUBNESS, TABLE);
    let a = [0.0625f32; 256];
    wide.enrol(&"acme", 7, "wide", &[&a[..]])
        .expect("its own length");
    let nearest = wide
        .search(&"acme", "wide", &a)
        .expect("valid")
        .expect("one");
    assert_eq!((nearest.person, nearest.distance), (7, 0.0));
}

#[test]
fn refuses_other_models_and_non_finite_descriptors() {
    let galleries: Galleries<&str, u32> = plain();
    let v = UnitVectors(1).next();
    assert_eq!(
        galleries.enrol(&"acme", 1, "another-model", &[&v[..]]),
        Err(MatcherError::ModelMismatch {
            expected: MODEL.into(),
            given: "another-model".into()
        })
    );
    let mut nan = v;
    nan[5] = f32::NAN;
    assert_eq!(
        galleries.enrol(&"acme", 1, MODEL, &[&nan[..]]),
        Err(MatcherError::NonFiniteDescriptor)
    );
    assert_eq!(
        galleries.search(&"acme", MODEL, &nan),
        Err(MatcherError::NonFiniteDescriptor)
    );
    assert_eq!(galleries.len(&"acme"), 0);
    assert!(matches!(
        galleries.identify(&"acme", "another-model", &v, 1, &rule()),
        Err(MatcherError::ModelMismatch { .. })
    ));
}

#[test]
fn debug_output_carries_no_descriptor() {
    let galleries = Galleries::new(MODEL, DIMENSIONS, Scoring::PLAIN, TABLE);
    let mut v = [0.0f32; DIMENSIONS];
    v[0] = 0.123_456_7;
    // Owned, non-`Copy` ids work as well as numbers.
    galleries
        .enrol(&"acme", "p1".to_owned(), MODEL, &[&v[..]])
        .expect("valid");
    let outcome = galleries.identify(&"acme", MODEL, &v, 1, &rule());
    let printed = format!("{galleries:?} {outcome:?}");
    assert!(!printed.contains("0.1234"), "{printed}");
    assert!(printed.contains("person: \"p1\""), "{printed}");
}

#[test]
fn a_removed_person_never_matches_again() {
    let (galleries, descriptors) = enrolled(100);
    assert!(galleries.remove(&"acme", &50));
    assert!(!galleries.remove(&"acme", &50));
    let outcome = galleries
        .identify(&"acme", MODEL, &descriptors[50], 1, &rule())
        .expect("valid");
    assert_eq!(matched_person(outcome), None);
    // The person moved into the hole is still found.
    let outcome = galleries
        .identify(&"acme", MODEL, &descriptors[99], 1, &rule())
        .expect("valid");
    assert_eq!(matched_person(outcome), Some(99));
}

/// An async request handler keeps its match across the call to the access
/// system, possibly resuming on another thread.
#[test]
fn a_match_can_move_between_threads() {
    fn assert_send<T: Send>(_: &T) {}
    let (galleries, descriptors) = enrolled(3);
    let outcome = galleries.identify(&"acme", MODEL, &descriptors[1], 1, &rule());
    let Ok(Identification::Matched(m)) = outcome else {
        panic!("expected a match");
    };
    assert_send(&m);
    let person = thread::spawn(move || *m.person()).join().expect("thread");
    assert_eq!(person, 1);
    assert!(galleries.remove(&"acme", &1));
}

/// Removal takes the person out at once; waiting for their matches waits
/// for a match handed out before it: the access system may still be being
/// told about that match.
#[test]
fn waiting_for_matches_waits_for_a_match_in_flight() {
    let (galleries, descriptors) = enrolled(10);
    let galleries = Arc::new(galleries);
    let outcome = galleries.identify(&"acme", MODEL, &descriptors[4], 1, &rule());
    let Ok(Identification::Matched(in_flight)) = outcome else {
        panic!("expected a match");
    };
    let reported = Arc::new(AtomicBool::new(false));
    let remover = {
        let (galleries, reported) = (Arc::clone(&galleries), Arc::clone(&reported));
        thread::spawn(move || {
            assert!(galleries.remove(&"acme", &4));
            galleries.wait_for_matches(&"acme", &4);
            // The wait returned: the in-flight match must have finished.
            assert!(
                reported.load(Ordering::SeqCst),
                "the wait returned before the match was done"
            );
        })
    };
    // Give the remover a chance to (wrongly) finish early; correctness does
    // not depend on this pause, only the test's power to catch a bug does.
    thread::sleep(Duration::from_millis(100));
    // Removed already: no search finds the person while the match is held.
    let meanwhile = galleries.identify(&"acme", MODEL, &descriptors[4], 1, &rule());
    assert_eq!(matched_person(meanwhile.expect("valid")), None);
    reported.store(true, Ordering::SeqCst);
    drop(in_flight);
    remover.join().expect("remover thread");
    // Nobody else held a match: waiting returns at once.
    galleries.wait_for_matches(&"acme", &4);
    galleries.wait_for_matches(&"acme", &5);
}

/// Many searches race with the withdrawal of the person they look for: once
/// `remove` and `wait_for_matches` have returned, no search may be holding or
/// obtain a match of them.
#[test]
fn no_match_survives_a_concurrent_withdrawal() {
    for round in 0..20u32 {
        let (galleries, descriptors) = enrolled(2000);
        let galleries = Arc::new(galleries);
        let probe = descriptors[1234];
        let withdrawn = Arc::new(AtomicBool::new(false));
        let matches_seen = Arc::new(AtomicUsize::new(0));
        let deadline = Instant::now() + Duration::from_secs(5);
        let searchers: Vec<_> = (0..3)
            .map(|_| {
                let (galleries, withdrawn, matches_seen) = (
                    Arc::clone(&galleries),
                    Arc::clone(&withdrawn),
                    Arc::clone(&matches_seen),
                );
                thread::spawn(move || {
                    while !withdrawn.load(Ordering::SeqCst) && Instant::now() < deadline {
                        let outcome = galleries.identify(&"acme", MODEL, &probe, 1, &rule());
                        if let Ok(Identification::Matched(m)) = outcome {
                            matches_seen.fetch_add(1, Ordering::SeqCst);
                            // "Tell the access system" while holding the match.
                            thread::yield_now();
                            assert!(
                                !withdrawn.load(Ordering::SeqCst),
                                "round {round}: person {} reported after the withdrawal returned",
                                m.person()
                            );
                        }
                    }
                    // After the withdrawal, searching finds nobody.
                    let after = galleries.identify(&"acme", MODEL, &probe, 1, &rule());
                    assert!(!matches!(after, Ok(Identification::Matched(_))));
                })
            })
            .collect();
        while matches_seen.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
            thread::yield_now();
        }
        assert!(galleries.remove(&"acme", &1234));
        galleries.wait_for_matches(&"acme", &1234);
        withdrawn.store(true, Ordering::SeqCst);
        for searcher in searchers {
            searcher.join().expect("searcher thread");
        }
    }
}

#[test]
fn a_person_matches_by_their_nearest_vector() {
    let galleries = plain();
    let mut vectors = UnitVectors(11);
    let (front, side, other) = (vectors.next(), vectors.next(), vectors.next());
    galleries
        .enrol(&"acme", 1, MODEL, &[&front[..], &side[..]])
        .expect("two vectors");
    galleries
        .enrol(&"acme", 2, MODEL, &[&other[..]])
        .expect("one vector");
    assert_eq!(galleries.len(&"acme"), 2);
    let probe = nudged(&side, 0.2);
    let nearest = galleries
        .search(&"acme", MODEL, &probe)
        .expect("valid")
        .expect("non-empty");
    assert_eq!(nearest.person, 1);
    assert!((nearest.distance - 0.2).abs() < 1e-4);
    // The second-nearest is another person, not person 1's other vector.
    let to_other = probe
        .iter()
        .zip(&other)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f32>()
        .sqrt();
    assert!((nearest.second_distance.expect("two people") - to_other).abs() < 1e-4);

    // Re-enrolment replaces the whole set.
    galleries
        .enrol(&"acme", 1, MODEL, &[&front[..]])
        .expect("one vector");
    let nearest = galleries
        .search(&"acme", MODEL, &probe)
        .expect("valid")
        .expect("non-empty");
    assert!(nearest.distance > 1.0, "the side vector is gone");

    assert_eq!(
        galleries.enrol(&"acme", 3, MODEL, &[]),
        Err(MatcherError::VectorCount(0))
    );
    assert_eq!(
        galleries.enrol(&"acme", 3, MODEL, &[&front[..]; 6]),
        Err(MatcherError::VectorCount(6))
    );
}

/// A cluster of look-alikes and people spread far apart.
fn crowd_and_loners(scoring: Scoring) -> (Galleries<&'static str, u32>, Descriptor, Descriptor) {
    let galleries = Galleries::new(MODEL, DIMENSIONS, scoring, TABLE);
    let mut vectors = UnitVectors(5);
    let centre = vectors.next();
    for person in 0..20u32 {
        let mut member = centre;
        for (i, c) in member.iter_mut().enumerate() {
            *c += 0.03 * ((person as f32 + 1.0) * (i as f32 + 1.0)).sin();
        }
        galleries
            .enrol(&"acme", person, MODEL, &[&member[..]])
            .expect("valid");
    }
    let loner = vectors.next();
    galleries
        .enrol(&"acme", 100, MODEL, &[&loner[..]])
        .expect("valid");
    for person in 101..120u32 {
        galleries
            .enrol(&"acme", person, MODEL, &[&vectors.next()[..]])
            .expect("valid");
    }
    let mut crowded = centre;
    for (i, c) in crowded.iter_mut().enumerate() {
        *c += 0.03 * (i as f32 + 1.0).sin();
    }
    (galleries, crowded, loner)
}

#[test]
fn a_vector_in_a_crowd_must_be_approached_more_closely() {
    let (hub, crowded, loner) = crowd_and_loners(Scoring::HUBNESS);
    let (flat, _, _) = crowd_and_loners(Scoring::PLAIN);
    let distance = |galleries: &Galleries<&str, u32>, probe: &Descriptor| {
        galleries
            .search(&"acme", MODEL, probe)
            .expect("valid")
            .expect("non-empty")
            .distance
    };
    let (near_crowd, near_loner) = (nudged(&crowded, 0.25), nudged(&loner, 0.25));
    // Plain distances are the same for both probes...
    assert!((distance(&flat, &near_crowd) - distance(&flat, &near_loner)).abs() < 0.02);
    // ...normalised, the one in the crowd counts as farther.
    assert!(
        distance(&hub, &near_crowd) > distance(&hub, &near_loner) + 0.2,
        "crowd {} loner {}",
        distance(&hub, &near_crowd),
        distance(&hub, &near_loner)
    );
}

fn rows(set: &[Descriptor]) -> Vec<&[f32]> {
    set.iter().map(|v| &v[..]).collect()
}

fn searched(galleries: &Galleries<&str, u32>, probes: &[Descriptor]) -> Vec<(u32, f32)> {
    probes
        .iter()
        .map(|p| {
            let n = galleries
                .search(&"acme", MODEL, p)
                .expect("valid")
                .expect("non-empty");
            (n.person, n.distance)
        })
        .collect()
}

fn assert_same_search(a: &[(u32, f32)], b: &[(u32, f32)]) {
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.0, y.0);
        assert!((x.1 - y.1).abs() < 1e-5, "{x:?} vs {y:?}");
    }
}

/// Neighbourhoods updated change by change give exactly what a gallery
/// built afresh from the same people gives.
#[test]
fn neighbourhoods_kept_in_step_match_a_fresh_gallery() {
    let scoring = Scoring {
        cohort_people: 1000,
        ..Scoring::HUBNESS
    };
    let live = Galleries::new(MODEL, DIMENSIONS, scoring, TABLE);
    let mut vectors = UnitVectors(99);
    let mut current: Vec<(u32, Vec<Descriptor>)> = Vec::new();
    for person in 0..60u32 {
        let set: Vec<Descriptor> = (0..1 + person as usize % 3)
            .map(|_| vectors.next())
            .collect();
        live.enrol(&"acme", person, MODEL, &rows(&set))
            .expect("valid");
        current.push((person, set));
    }
    for person in (0..60u32).step_by(7) {
        assert!(live.remove(&"acme", &person));
        current.retain(|(p, _)| *p != person);
    }
    for person in (3..60u32).step_by(11) {
        if let Some(entry) = current.iter_mut().find(|(p, _)| *p == person) {
            entry.1 = vec![vectors.next(), vectors.next()];
            live.enrol(&"acme", person, MODEL, &rows(&entry.1))
                .expect("valid");
        }
    }
    let fresh = Galleries::new(MODEL, DIMENSIONS, scoring, TABLE);
    for (person, set) in &current {
        fresh
            .enrol(&"acme", *person, MODEL, &rows(set))
            .expect("valid");
    }
    let probes: Vec<Descriptor> = (0..30)
        .map(|_| vectors.next())
        .chain(current.iter().map(|(_, s)| nudged(&s[0], 0.1)))
        .collect();
    assert_same_search(&searched(&live, &probes), &searched(&fresh, &probes));
}

/// With a full cohort, the person waiting longest takes a leaver's place.
#[test]
fn a_full_cohort_takes_in_the_longest_waiting_person() {
    let scoring = Scoring {
        cohort_people: 3,
        ..Scoring::HUBNESS
    };
    let live = Galleries::new(MODEL, DIMENSIONS, scoring, TABLE);
    let mut vectors = UnitVectors(3);
    let people: Vec<Descriptor> = (0..6).map(|_| vectors.next()).collect();
    for (person, v) in people.iter().enumerate() {
        live.enrol(&"acme", person as u32, MODEL, &[&v[..]])
            .expect("valid");
    }
    assert!(live.remove(&"acme", &0));
    // Cohort now 1, 2 and 3 (the first to wait), as if 0 had never come.
    let fresh = Galleries::new(MODEL, DIMENSIONS, scoring, TABLE);
    for (person, v) in people.iter().enumerate().skip(1) {
        fresh
            .enrol(&"acme", person as u32, MODEL, &[&v[..]])
            .expect("valid");
    }
    let probes: Vec<Descriptor> = (0..20)
        .map(|_| vectors.next())
        .chain(people.iter().skip(1).map(|v| nudged(v, 0.05)))
        .collect();
    assert_same_search(&searched(&live, &probes), &searched(&fresh, &probes));
}
