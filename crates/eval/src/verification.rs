//! Verification: is this pair the same person?
//!
//! For each people set, 300 genuine pairs (two images of one person) and 300
//! impostor pairs (images of two people), drawn with a fixed seed. Each set
//! in turn is the test set: the distance threshold is the one with the best
//! accuracy on the pairs of the *other* sets, and the accuracy is measured on
//! the test set. A pair with a missing face is a wrong answer.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::distance;
use crate::people::Person;
use crate::rng::SplitMix64;

/// A pair of relative image paths and whether they show the same person.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub same: bool,
}

/// Draws `per_kind` genuine and `per_kind` impostor pairs from one set.
pub fn draw_pairs(set: &[Person], per_kind: usize, seed: u64) -> Vec<Pair> {
    let mut rng = SplitMix64::new(seed);
    let mut genuine: Vec<Pair> = set
        .iter()
        .filter(|p| p.images >= 2)
        .flat_map(|p| {
            let paths = p.image_paths();
            let mut pairs = Vec::new();
            for i in 0..paths.len() {
                for j in i + 1..paths.len() {
                    pairs.push(Pair {
                        a: paths[i].clone(),
                        b: paths[j].clone(),
                        same: true,
                    });
                }
            }
            pairs
        })
        .collect();
    rng.shuffle(&mut genuine);
    genuine.truncate(per_kind);

    let mut impostor = Vec::with_capacity(per_kind);
    let mut seen = HashSet::new();
    // Bounded: a set too small to give enough distinct pairs gives fewer.
    for _ in 0..per_kind * 100 {
        if impostor.len() == per_kind || set.len() < 2 {
            break;
        }
        let (i, j) = (rng.below(set.len()), rng.below(set.len()));
        if i == j {
            continue;
        }
        let a = set[i].image_paths()[rng.below(set[i].images)].clone();
        let b = set[j].image_paths()[rng.below(set[j].images)].clone();
        let key = if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        if seen.insert(key) {
            impostor.push(Pair { a, b, same: false });
        }
    }
    genuine.extend(impostor);
    genuine
}

/// The distance of each pair, `None` where a face is missing.
fn distances(pairs: &[Pair], embeddings: &HashMap<String, Vec<f32>>) -> Vec<(Option<f32>, bool)> {
    pairs
        .iter()
        .map(|p| {
            let d = match (embeddings.get(&p.a), embeddings.get(&p.b)) {
                (Some(a), Some(b)) => Some(distance(a, b)),
                _ => None,
            };
            (d, p.same)
        })
        .collect()
}

fn accuracy(scored: &[(Option<f32>, bool)], threshold: f32) -> f64 {
    if scored.is_empty() {
        return 0.0;
    }
    let correct = scored
        .iter()
        .filter(|(d, same)| d.is_some_and(|d| (d <= threshold) == *same))
        .count();
    correct as f64 / scored.len() as f64
}

/// The threshold with the best accuracy on `scored` (ties: the smallest).
fn best_threshold(scored: &[(Option<f32>, bool)]) -> f32 {
    let mut ds: Vec<f32> = scored.iter().filter_map(|(d, _)| *d).collect();
    ds.sort_by(f32::total_cmp);
    let mut best = (f64::MIN, 0.6f32);
    for w in ds.windows(2) {
        let t = (w[0] + w[1]) / 2.0;
        let acc = accuracy(scored, t);
        if acc > best.0 {
            best = (acc, t);
        }
    }
    best.1
}

/// One test set's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Fold {
    pub set: usize,
    pub pairs: usize,
    pub missing_faces: usize,
    pub threshold: f32,
    pub accuracy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerificationReport {
    pub folds: Vec<Fold>,
    pub mean_accuracy: f64,
    /// Accuracy over all pairs at dlib's customary threshold of 0.6.
    pub accuracy_at_0_6: f64,
}

/// Leave-one-set-out verification over `sets`.
pub fn evaluate(
    sets: &[Vec<Person>],
    embeddings: &HashMap<String, Vec<f32>>,
    per_kind: usize,
    seed: u64,
) -> VerificationReport {
    let scored: Vec<Vec<(Option<f32>, bool)>> = sets
        .iter()
        .enumerate()
        .map(|(i, set)| distances(&draw_pairs(set, per_kind, seed ^ i as u64), embeddings))
        .collect();
    let folds: Vec<Fold> = (0..scored.len())
        .map(|test| {
            let train: Vec<_> = scored
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != test || scored.len() == 1)
                .flat_map(|(_, s)| s.iter().copied())
                .collect();
            let threshold = best_threshold(&train);
            Fold {
                set: test + 1,
                pairs: scored[test].len(),
                missing_faces: scored[test].iter().filter(|(d, _)| d.is_none()).count(),
                threshold,
                accuracy: accuracy(&scored[test], threshold),
            }
        })
        .collect();
    let all: Vec<_> = scored.iter().flatten().copied().collect();
    VerificationReport {
        mean_accuracy: folds.iter().map(|f| f.accuracy).sum::<f64>() / folds.len().max(1) as f64,
        accuracy_at_0_6: accuracy(&all, 0.6),
        folds,
    }
}

/// A 1:1 rule (same person below a distance) over every pair of lfw-dev
/// images with a face: every impostor pair, every genuine pair.
#[derive(Debug, Clone, Serialize)]
pub struct OneToOne {
    pub threshold: f32,
    pub impostor_pairs: usize,
    pub genuine_pairs: usize,
    /// Share of impostor pairs closer than the threshold.
    pub false_match_rate: f64,
    /// Share of genuine pairs at or beyond it.
    pub false_non_match_rate: f64,
}

/// Every pair's distance, split into genuine and impostor, each sorted;
/// images in `set_apart` (label noise) are left out.
pub fn all_pairs(
    people: &[Person],
    embeddings: &HashMap<String, Vec<f32>>,
    set_apart: &HashSet<String>,
) -> (Vec<f32>, Vec<f32>) {
    let faces: Vec<(usize, &Vec<f32>)> = people
        .iter()
        .enumerate()
        .flat_map(|(who, p)| p.image_paths().into_iter().map(move |path| (who, path)))
        .filter(|(_, path)| !set_apart.contains(path))
        .filter_map(|(who, path)| Some((who, embeddings.get(&path)?)))
        .collect();
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for (i, (a_who, a)) in faces.iter().enumerate() {
        for (b_who, b) in &faces[i + 1..] {
            let d = distance(a, b);
            if a_who == b_who {
                genuine.push(d);
            } else {
                impostor.push(d);
            }
        }
    }
    genuine.sort_by(f32::total_cmp);
    impostor.sort_by(f32::total_cmp);
    (genuine, impostor)
}

/// The rule "same person below `threshold`" on sorted pair distances.
pub fn one_to_one(genuine: &[f32], impostor: &[f32], threshold: f32) -> OneToOne {
    let below = |sorted: &[f32]| sorted.partition_point(|&d| d < threshold);
    OneToOne {
        threshold,
        impostor_pairs: impostor.len(),
        genuine_pairs: genuine.len(),
        false_match_rate: below(impostor) as f64 / impostor.len().max(1) as f64,
        false_non_match_rate: (genuine.len() - below(genuine)) as f64 / genuine.len().max(1) as f64,
    }
}

/// The largest threshold whose false-match rate on the sorted impostor
/// distances does not exceed `rate`.
pub fn threshold_at_false_match_rate(impostor: &[f32], rate: f64) -> f32 {
    let allowed = (rate * impostor.len() as f64).floor() as usize;
    impostor.get(allowed).copied().unwrap_or(f32::INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, images: usize) -> Person {
        Person {
            name: name.into(),
            images,
        }
    }

    #[test]
    fn pairs_are_seeded_and_of_both_kinds() {
        let set = vec![
            person("A", 3),
            person("B", 2),
            person("C", 1),
            person("D", 4),
        ];
        let p1 = draw_pairs(&set, 5, 42);
        assert_eq!(p1, draw_pairs(&set, 5, 42));
        assert_eq!(p1.iter().filter(|p| p.same).count(), 5);
        assert_eq!(p1.iter().filter(|p| !p.same).count(), 5);
        for p in &p1 {
            let same_name = p.a.split('/').next() == p.b.split('/').next();
            assert_eq!(same_name, p.same, "{p:?}");
        }
    }

    #[test]
    fn separable_embeddings_score_perfectly_and_missing_faces_count_as_errors() {
        let sets = vec![
            vec![person("A", 2), person("B", 2)],
            vec![person("C", 2), person("D", 2)],
        ];
        let mut emb = HashMap::new();
        for (k, name) in ["A", "B", "C", "D"].iter().enumerate() {
            for i in 1..=2 {
                let mut v = vec![0.0f32; 4];
                v[k] = 1.0 + 0.01 * i as f32;
                emb.insert(format!("{name}/{name}_{i:04}.jpg"), v);
            }
        }
        let r = evaluate(&sets, &emb, 10, 1);
        assert_eq!(r.mean_accuracy, 1.0);
        emb.remove("A/A_0001.jpg");
        let r = evaluate(&sets, &emb, 10, 1);
        assert!(r.folds[0].accuracy < 1.0);
        assert!(r.folds[0].missing_faces > 0);
    }

    #[test]
    fn the_one_to_one_rule_counts_pairs_on_each_side_of_its_threshold() {
        let people = vec![person("A", 2), person("B", 1), person("C", 1)];
        let at = |x: f32| vec![x, 0.0];
        let embeddings: HashMap<String, Vec<f32>> = [
            ("A/A_0001.jpg", at(0.0)),
            ("A/A_0002.jpg", at(0.5)),
            ("B/B_0001.jpg", at(1.0)),
            ("C/C_0001.jpg", at(3.0)),
        ]
        .into_iter()
        .map(|(p, v)| (p.to_owned(), v))
        .collect();
        let (genuine, impostor) = all_pairs(&people, &embeddings, &HashSet::new());
        assert_eq!(genuine, [0.5]);
        assert_eq!(impostor, [0.5, 1.0, 2.0, 2.5, 3.0]);
        let rule = one_to_one(&genuine, &impostor, 1.0);
        assert_eq!((rule.impostor_pairs, rule.genuine_pairs), (5, 1));
        assert_eq!(rule.false_match_rate, 0.2);
        assert_eq!(rule.false_non_match_rate, 0.0);
        // One impostor pair in five may match: the threshold is the second.
        assert_eq!(threshold_at_false_match_rate(&impostor, 0.2), 1.0);
        assert_eq!(one_to_one(&genuine, &impostor, 1.0).false_match_rate, 0.2);
        let apart: HashSet<String> = ["B/B_0001.jpg".to_owned()].into();
        let (_, impostor) = all_pairs(&people, &embeddings, &apart);
        assert_eq!(impostor, [2.5, 3.0]);
    }
}
