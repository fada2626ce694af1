//! Rates from an identification trial: rank-1, false-negative and
//! false-positive identification rates (FNIR, FPIR) at a threshold, the
//! threshold that meets a target FPIR, and the detection error trade-off
//! (DET) curve.

use serde::Serialize;

use crate::identification::Trial;

/// FNIR where FPIR meets a target, with the threshold that does it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OperatingPoint {
    pub fpir_target: f64,
    pub threshold: f32,
    pub fpir: f64,
    pub fnir: f64,
    /// Non-mated passages behind the FPIR: below `1 / this`, the target
    /// cannot be measured.
    pub non_mated: usize,
}

/// Share of mated passages answered with the right person.
pub fn rank1(trial: &Trial) -> f64 {
    share(
        trial.mated.iter().filter(|m| m.is_some()).count(),
        trial.mated.len(),
    )
}

/// (FPIR, FNIR) when a match needs a distance of at most `threshold`.
pub fn at_threshold(trial: &Trial, threshold: f32) -> (f64, f64) {
    let false_matches = trial
        .non_mated
        .iter()
        .filter(|n| n.is_some_and(|d| d <= threshold))
        .count();
    let hits = trial
        .mated
        .iter()
        .filter(|m| m.is_some_and(|d| d <= threshold))
        .count();
    (
        share(false_matches, trial.non_mated.len()),
        1.0 - share(hits, trial.mated.len()),
    )
}

/// The largest threshold that lets at most `target` of the non-mated
/// passages through, and what it gives.
pub fn operating_point(trial: &Trial, target: f64) -> OperatingPoint {
    let mut impostor: Vec<f32> = trial.non_mated.iter().flatten().copied().collect();
    impostor.sort_by(f32::total_cmp);
    let allowed = (target * trial.non_mated.len() as f64).floor() as usize;
    let threshold = match impostor.get(allowed) {
        // Just below the first distance that would be one too many.
        Some(&d) => f32::from_bits(d.to_bits().saturating_sub(1)).max(0.0),
        None => f32::INFINITY,
    };
    let (fpir, fnir) = at_threshold(trial, threshold);
    OperatingPoint {
        fpir_target: target,
        threshold,
        fpir,
        fnir,
        non_mated: trial.non_mated.len(),
    }
}

/// The DET curve: (FPIR, FNIR) at every distinct non-mated distance, from
/// strict to lenient, for FPIR from 1 / non-mated up to 1.
pub fn det_curve(trial: &Trial) -> Vec<(f64, f64)> {
    let mut impostor: Vec<f32> = trial.non_mated.iter().flatten().copied().collect();
    impostor.sort_by(f32::total_cmp);
    let mut genuine: Vec<f32> = trial.mated.iter().flatten().copied().collect();
    genuine.sort_by(f32::total_cmp);
    let (n, m) = (trial.non_mated.len().max(1), trial.mated.len().max(1));
    let mut points = Vec::with_capacity(impostor.len());
    let mut hits = 0;
    for (i, &t) in impostor.iter().enumerate() {
        while hits < genuine.len() && genuine[hits] <= t {
            hits += 1;
        }
        points.push(((i + 1) as f64 / n as f64, 1.0 - hits as f64 / m as f64));
    }
    points
}

fn share(count: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        count as f64 / of as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial() -> Trial {
        Trial {
            // Ten mated: eight right at 0.1..0.8, two wrong or missing.
            mated: (1..=8)
                .map(|i| Some(i as f32 / 10.0))
                .chain([None, None])
                .collect(),
            // A hundred non-mated at 0.50, 0.51, ... 1.49.
            non_mated: (0..100).map(|i| Some(0.5 + i as f32 / 100.0)).collect(),
            gallery_people: 10,
            ..Trial::default()
        }
    }

    #[test]
    fn operating_points_meet_their_target() {
        let t = trial();
        assert_eq!(rank1(&t), 0.8);
        let p = operating_point(&t, 0.01);
        assert_eq!(p.fpir, 0.01);
        assert!(p.threshold < 0.51 && p.threshold >= 0.50);
        // Mated at 0.1..0.5 pass: five of ten.
        assert!((p.fnir - 0.5).abs() < 1e-12);
        let strict = operating_point(&t, 0.001);
        assert_eq!(strict.fpir, 0.0);
        assert!((strict.fnir - 0.6).abs() < 1e-12);
        let (fpir, fnir) = at_threshold(&t, 2.0);
        assert_eq!(fpir, 1.0);
        assert!((fnir - 0.2).abs() < 1e-12);
    }

    #[test]
    fn the_det_curve_runs_from_strict_to_lenient() {
        let curve = det_curve(&trial());
        assert_eq!(curve.len(), 100);
        assert_eq!(curve[0], (0.01, 0.5));
        assert!(
            curve
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 >= w[1].1)
        );
        assert!((curve[99].1 - 0.2).abs() < 1e-12);
    }
}
