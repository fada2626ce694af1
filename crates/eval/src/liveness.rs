//! Liveness scores summarised for a report: how many faces a threshold on
//! the live score would refuse (bona fide presentations) or let through
//! (attacks).

use serde::Serialize;

/// Scores of one kind of presentation.
#[derive(Debug, Serialize)]
pub struct ScoreSummary {
    /// Presentations whose face was found and checked.
    pub checked: usize,
    /// 5th, 25th, 50th, 75th and 95th percentile of the live score.
    pub percentiles: [f32; 5],
    /// For each threshold, the share of checked faces scoring at or above
    /// it (judged live).
    pub judged_live: Vec<ThresholdRate>,
    /// The share upstream's own rule (live class most probable) judges live.
    pub judged_live_by_upstream_rule: f64,
}

#[derive(Debug, Serialize)]
pub struct ThresholdRate {
    pub threshold: f32,
    pub rate: f64,
}

/// `scores`: live score and upstream's verdict per checked face.
pub fn summarise(scores: &[(f32, bool)], thresholds: &[f32]) -> ScoreSummary {
    let mut sorted: Vec<f32> = scores.iter().map(|s| s.0).collect();
    sorted.sort_by(f32::total_cmp);
    let n = sorted.len();
    let percentile = |p: usize| {
        if n == 0 {
            f32::NAN
        } else {
            sorted[(p * (n - 1) + 50) / 100]
        }
    };
    let share = |count: usize| if n == 0 { 0.0 } else { count as f64 / n as f64 };
    ScoreSummary {
        checked: n,
        percentiles: [5, 25, 50, 75, 95].map(percentile),
        judged_live: thresholds
            .iter()
            .map(|&threshold| ThresholdRate {
                threshold,
                rate: share(sorted.iter().filter(|&&s| s >= threshold).count()),
            })
            .collect(),
        judged_live_by_upstream_rule: share(scores.iter().filter(|s| s.1).count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_count_scores_at_or_above_each_threshold() {
        let scores: Vec<(f32, bool)> = (0..100).map(|i| (i as f32 / 100.0, i >= 50)).collect();
        let s = summarise(&scores, &[0.5, 0.9]);
        assert_eq!(s.checked, 100);
        assert_eq!(s.judged_live[0].rate, 0.5);
        assert_eq!(s.judged_live[1].rate, 0.1);
        assert_eq!(s.judged_live_by_upstream_rule, 0.5);
        assert_eq!(s.percentiles[2], 0.5);
        assert_eq!(summarise(&[], &[0.5]).judged_live[0].rate, 0.0);
    }
}
