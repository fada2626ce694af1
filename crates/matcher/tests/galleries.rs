//! The matcher through its public surface: decisions, organisation
//! isolation, model versions and race-free removal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use limen_matcher::{
    DIMENSIONS, DecisionRule, Descriptor, Galleries, Identification, MatcherError, UnknownReason,
};

const MODEL: &str = "dlib_face_recognition_resnet_model_v1";

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
    let galleries = Galleries::new(MODEL);
    let mut vectors = UnitVectors(0x9e37_79b9_7f4a_7c15);
    let descriptors: Vec<Descriptor> = (0..count).map(|_| vectors.next()).collect();
    for (person, d) in descriptors.iter().enumerate() {
        galleries
            .upsert(&"acme", person as u32, MODEL, d)
            .expect("valid");
    }
    (galleries, descriptors)
}

#[test]
fn identifies_an_enrolled_person_from_a_nearby_probe() {
    let (galleries, descriptors) = enrolled(1000);
    let rule = DecisionRule::default();
    let probe = nudged(&descriptors[417], 0.3);
    let outcome = galleries
        .identify(&"acme", MODEL, &probe, &rule)
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
    let outcome = galleries.identify(&"acme", MODEL, &stranger, &DecisionRule::default());
    assert!(matches!(
        outcome,
        Ok(Identification::Unknown(UnknownReason::TooFar))
    ));
}

#[test]
fn two_similar_people_are_not_confused() {
    let galleries = Galleries::new(MODEL);
    let alice = UnitVectors(1).next();
    let alices_twin = nudged(&alice, 0.1);
    galleries
        .upsert(&"acme", 1u32, MODEL, &alice)
        .expect("valid");
    galleries
        .upsert(&"acme", 2u32, MODEL, &alices_twin)
        .expect("valid");
    // Between the two: 0.04 from Alice, 0.06 from her twin; a margin of 0.02.
    let probe = nudged(&alice, 0.04);
    let outcome = galleries.identify(&"acme", MODEL, &probe, &DecisionRule::default());
    assert!(matches!(
        outcome,
        Ok(Identification::Unknown(UnknownReason::Ambiguous))
    ));
    // Without a margin the nearer one would have been reported.
    let no_margin = DecisionRule {
        min_margin: 0.0,
        ..DecisionRule::default()
    };
    let outcome = galleries
        .identify(&"acme", MODEL, &probe, &no_margin)
        .expect("valid");
    assert_eq!(matched_person(outcome), Some(1));
}

#[test]
fn renewal_replaces_the_descriptor() {
    let (galleries, descriptors) = enrolled(10);
    let renewed = UnitVectors(7).next();
    galleries
        .upsert(&"acme", 3, MODEL, &renewed)
        .expect("valid");
    assert_eq!(galleries.len(&"acme"), 10);
    let rule = DecisionRule::default();
    let old = galleries
        .identify(&"acme", MODEL, &descriptors[3], &rule)
        .expect("valid");
    assert_eq!(matched_person(old), None);
    let new = galleries
        .identify(&"acme", MODEL, &renewed, &rule)
        .expect("valid");
    assert_eq!(matched_person(new), Some(3));
}

#[test]
fn an_organisation_only_ever_sees_its_own_gallery() {
    let galleries = Galleries::new(MODEL);
    let alice = UnitVectors(1).next();
    let bob = UnitVectors(2).next();
    galleries
        .upsert(&"acme", 1u32, MODEL, &alice)
        .expect("valid");
    galleries
        .upsert(&"globex", 2u32, MODEL, &bob)
        .expect("valid");
    let rule = DecisionRule::default();

    let at_globex = galleries
        .identify(&"globex", MODEL, &alice, &rule)
        .expect("valid");
    assert!(matches!(
        at_globex,
        Identification::Unknown(UnknownReason::TooFar)
    ));
    let at_initech = galleries
        .identify(&"initech", MODEL, &alice, &rule)
        .expect("valid");
    assert!(matches!(
        at_initech,
        Identification::Unknown(UnknownReason::EmptyGallery)
    ));
    let at_acme = galleries
        .identify(&"acme", MODEL, &alice, &rule)
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
fn refuses_other_models_and_non_finite_descriptors() {
    let galleries: Galleries<&str, u32> = Galleries::new(MODEL);
    let v = UnitVectors(1).next();
    assert_eq!(
        galleries.upsert(&"acme", 1, "another-model", &v),
        Err(MatcherError::ModelMismatch {
            expected: MODEL.into(),
            given: "another-model".into()
        })
    );
    let mut nan = v;
    nan[5] = f32::NAN;
    assert_eq!(
        galleries.upsert(&"acme", 1, MODEL, &nan),
        Err(MatcherError::NonFiniteDescriptor)
    );
    assert_eq!(
        galleries.search(&"acme", MODEL, &nan),
        Err(MatcherError::NonFiniteDescriptor)
    );
    assert_eq!(galleries.len(&"acme"), 0);
    assert!(matches!(
        galleries.identify(&"acme", "another-model", &v, &DecisionRule::default()),
        Err(MatcherError::ModelMismatch { .. })
    ));
}

#[test]
fn debug_output_carries_no_descriptor() {
    let galleries = Galleries::new(MODEL);
    let mut v = [0.0f32; DIMENSIONS];
    v[0] = 0.123_456_7;
    // Owned, non-`Copy` ids work as well as numbers.
    galleries
        .upsert(&"acme", "p1".to_owned(), MODEL, &v)
        .expect("valid");
    let outcome = galleries.identify(&"acme", MODEL, &v, &DecisionRule::default());
    let printed = format!("{galleries:?} {outcome:?}");
    assert!(!printed.contains("0.1234"), "{printed}");
    assert!(printed.contains("person: \"p1\""), "{printed}");
}

#[test]
fn a_removed_person_never_matches_again() {
    let (galleries, descriptors) = enrolled(100);
    let rule = DecisionRule::default();
    assert!(galleries.remove(&"acme", &50));
    assert!(!galleries.remove(&"acme", &50));
    let outcome = galleries
        .identify(&"acme", MODEL, &descriptors[50], &rule)
        .expect("valid");
    assert_eq!(matched_person(outcome), None);
    // The person moved into the hole is still found.
    let outcome = galleries
        .identify(&"acme", MODEL, &descriptors[99], &rule)
        .expect("valid");
    assert_eq!(matched_person(outcome), Some(99));
}

/// An async request handler keeps its match across the call to the access
/// system, possibly resuming on another thread.
#[test]
fn a_match_can_move_between_threads() {
    fn assert_send<T: Send>(_: &T) {}
    let (galleries, descriptors) = enrolled(3);
    let outcome = galleries.identify(&"acme", MODEL, &descriptors[1], &DecisionRule::default());
    let Ok(Identification::Matched(m)) = outcome else {
        panic!("expected a match");
    };
    assert_send(&m);
    let person = thread::spawn(move || *m.person()).join().expect("thread");
    assert_eq!(person, 1);
    assert!(galleries.remove(&"acme", &1));
}

/// Removal waits for a match handed out before it: the access system may
/// still be being told about that match.
#[test]
fn removal_waits_for_a_match_in_flight() {
    let (galleries, descriptors) = enrolled(10);
    let galleries = Arc::new(galleries);
    let outcome = galleries.identify(&"acme", MODEL, &descriptors[4], &DecisionRule::default());
    let Ok(Identification::Matched(in_flight)) = outcome else {
        panic!("expected a match");
    };
    let reported = Arc::new(AtomicBool::new(false));
    let remover = {
        let (galleries, reported) = (Arc::clone(&galleries), Arc::clone(&reported));
        thread::spawn(move || {
            assert!(galleries.remove(&"acme", &4));
            // Removal returned: the in-flight match must have finished.
            assert!(
                reported.load(Ordering::SeqCst),
                "removal returned before the match was done"
            );
        })
    };
    // Give the remover a chance to (wrongly) finish early; correctness does
    // not depend on this pause, only the test's power to catch a bug does.
    thread::sleep(Duration::from_millis(100));
    reported.store(true, Ordering::SeqCst);
    drop(in_flight);
    remover.join().expect("remover thread");
    let again = galleries.identify(&"acme", MODEL, &descriptors[4], &DecisionRule::default());
    assert_eq!(matched_person(again.expect("valid")), None);
}

/// Many searches race with the withdrawal of the person they look for: once
/// `remove` has returned, no search may be holding or obtain a match of them.
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
                        let outcome =
                            galleries.identify(&"acme", MODEL, &probe, &DecisionRule::default());
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
                    let after =
                        galleries.identify(&"acme", MODEL, &probe, &DecisionRule::default());
                    assert!(!matches!(after, Ok(Identification::Matched(_))));
                })
            })
            .collect();
        while matches_seen.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
            thread::yield_now();
        }
        assert!(galleries.remove(&"acme", &1234));
        withdrawn.store(true, Ordering::SeqCst);
        for searcher in searchers {
            searcher.join().expect("searcher thread");
        }
    }
}
