//! Open-set 1:N identification, as an entrance sees it.
//!
//! People with at least two images are shuffled with a fixed seed; the first
//! half are *enrolled* (their first image joins the gallery, their other
//! images are mated probes), the second half are *absent* (all their images
//! are non-mated probes). People with one image join the gallery as
//! distractors. A probe's answer is its nearest gallery entry.
//!
//! - rank-1: share of mated probes whose nearest entry is the right person.
//! - FPIR(t): share of non-mated probes with a nearest entry within t.
//! - FNIR(t): share of mated probes *not* answered correctly within t.
//!
//! The report gives FNIR at the thresholds where FPIR is 1% and 0.1%. A face
//! not found is a miss for a mated probe (and never a false positive); an
//! enrolment image without a face leaves that person out of the gallery.

use std::collections::HashMap;

use serde::Serialize;

use crate::distance;
use crate::people::Person;
use crate::rng::SplitMix64;

#[derive(Debug, Clone, Serialize)]
pub struct OperatingPoint {
    pub fpir_target: f64,
    pub threshold: f32,
    pub fpir: f64,
    pub fnir: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentificationReport {
    pub gallery_size: usize,
    pub mated_probes: usize,
    pub non_mated_probes: usize,
    pub missing_faces: usize,
    pub rank1: f64,
    pub operating_points: Vec<OperatingPoint>,
}

/// Best match of a probe: gallery person index and distance.
fn nearest(probe: &[f32], gallery: &[(usize, &Vec<f32>)]) -> Option<(usize, f32)> {
    gallery
        .iter()
        .map(|(who, v)| (*who, distance(probe, v)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

pub fn evaluate(
    sets: &[Vec<Person>],
    embeddings: &HashMap<String, Vec<f32>>,
    seed: u64,
) -> IdentificationReport {
    let people: Vec<&Person> = sets.iter().flatten().collect();
    let mut multi: Vec<usize> = (0..people.len())
        .filter(|&i| people[i].images >= 2)
        .collect();
    SplitMix64::new(seed).shuffle(&mut multi);
    let (enrolled, absent) = multi.split_at(multi.len() / 2);
    let distractors = (0..people.len()).filter(|&i| people[i].images == 1);

    let mut missing = 0usize;
    let mut gallery = Vec::new();
    for who in enrolled.iter().copied().chain(distractors) {
        match embeddings.get(&people[who].image_paths()[0]) {
            Some(v) => gallery.push((who, v)),
            None => missing += 1,
        }
    }

    // Mated: Some(distance) when the nearest entry is the right person.
    let mut mated: Vec<Option<f32>> = Vec::new();
    for &who in enrolled {
        for path in people[who].image_paths().iter().skip(1) {
            let answer = embeddings.get(path).and_then(|v| nearest(v, &gallery));
            if embeddings.get(path).is_none() {
                missing += 1;
            }
            mated.push(answer.and_then(|(hit, d)| (hit == who).then_some(d)));
        }
    }
    let mut non_mated: Vec<Option<f32>> = Vec::new();
    for &who in absent {
        for path in people[who].image_paths() {
            if embeddings.get(&path).is_none() {
                missing += 1;
            }
            non_mated.push(
                embeddings
                    .get(&path)
                    .and_then(|v| nearest(v, &gallery))
                    .map(|(_, d)| d),
            );
        }
    }

    let rank1 = mated.iter().filter(|m| m.is_some()).count() as f64 / mated.len().max(1) as f64;
    let mut impostor: Vec<f32> = non_mated.iter().flatten().copied().collect();
    impostor.sort_by(f32::total_cmp);
    let operating_points = [0.01, 0.001]
        .iter()
        .map(|&target| {
            // The largest threshold that lets at most `target` of the
            // non-mated probes through.
            let allowed = (target * non_mated.len() as f64).floor() as usize;
            let threshold = match impostor.get(allowed) {
                Some(&d) => f32::from_bits(d.to_bits().saturating_sub(1)).max(0.0),
                None => f32::INFINITY,
            };
            let fp = impostor.iter().filter(|&&d| d <= threshold).count();
            let hits = mated
                .iter()
                .filter(|m| m.is_some_and(|d| d <= threshold))
                .count();
            OperatingPoint {
                fpir_target: target,
                threshold,
                fpir: fp as f64 / non_mated.len().max(1) as f64,
                fnir: 1.0 - hits as f64 / mated.len().max(1) as f64,
            }
        })
        .collect();
    IdentificationReport {
        gallery_size: gallery.len(),
        mated_probes: mated.len(),
        non_mated_probes: non_mated.len(),
        missing_faces: missing,
        rank1,
        operating_points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_embeddings_identify_everyone_and_reject_strangers() {
        let names = ["A", "B", "C", "D", "E", "F"];
        let sets = vec![
            names
                .iter()
                .map(|n| Person {
                    name: n.to_string(),
                    images: 3,
                })
                .collect::<Vec<_>>(),
        ];
        let mut emb = HashMap::new();
        for (k, n) in names.iter().enumerate() {
            for i in 1..=3 {
                let mut v = vec![0.0f32; 8];
                v[k] = 1.0;
                v[7] = 0.01 * i as f32;
                emb.insert(format!("{n}/{n}_{i:04}.jpg"), v);
            }
        }
        let r = evaluate(&sets, &emb, 3);
        assert_eq!(r.gallery_size, 3);
        assert_eq!((r.mated_probes, r.non_mated_probes), (6, 9));
        assert_eq!(r.rank1, 1.0);
        for p in &r.operating_points {
            assert_eq!(p.fpir, 0.0);
            assert_eq!(p.fnir, 0.0);
        }
    }

    #[test]
    fn a_missing_face_is_a_miss() {
        let sets = vec![vec![
            Person {
                name: "A".into(),
                images: 2,
            },
            Person {
                name: "B".into(),
                images: 2,
            },
        ]];
        // Only the first images have faces: whoever is enrolled has a mated
        // probe without a face, which must count as a miss.
        let mut emb = HashMap::new();
        emb.insert("A/A_0001.jpg".to_string(), vec![1.0, 0.0]);
        emb.insert("B/B_0001.jpg".to_string(), vec![0.0, 1.0]);
        let r = evaluate(&sets, &emb, 0);
        assert_eq!(
            (r.gallery_size, r.mated_probes, r.non_mated_probes),
            (1, 1, 2)
        );
        assert_eq!(r.missing_faces, 2);
        assert_eq!(r.rank1, 0.0);
        assert!(r.operating_points.iter().all(|p| p.fnir == 1.0));
    }
}
