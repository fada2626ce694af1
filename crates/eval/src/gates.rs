//! What each quality refusal buys: for every reason the enrolment or the
//! entrance check gives, how the refused faces would have fared had they
//! been used (measured on a run without gates, at a threshold).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::identification::{FaceTable, Trial};

/// Where a refusal happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Enrolment,
    Entrance,
}

/// One refusal reason's cost and benefit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonReport {
    pub place: Place,
    pub reason: String,
    /// Mated passages behind the figure: at the entrance, refused probes;
    /// at enrolment, passages of people whose enrolment photo is refused.
    pub mated_passages: usize,
    /// Share of those accepted as the right person had they been used.
    pub accepted_if_used: f64,
    /// Non-mated probes with this refusal (entrance only), and how many of
    /// them would have matched somebody.
    pub non_mated_passages: usize,
    pub false_matches_if_used: usize,
}

fn report(
    table: &mut BTreeMap<(Place, String), ReasonReport>,
    place: Place,
    reason: String,
) -> &mut ReasonReport {
    table
        .entry((place, reason.clone()))
        .or_insert(ReasonReport {
            place,
            reason,
            mated_passages: 0,
            accepted_if_used: 0.0,
            non_mated_passages: 0,
            false_matches_if_used: 0,
        })
}

/// Per refusal reason, from `open` (a run without gates) at `threshold`;
/// and the acceptance of passages no check refuses, for comparison.
pub fn analyse(open: &Trial, faces: &FaceTable, threshold: f32) -> (Vec<ReasonReport>, f64) {
    let accepted = |m: &Option<f32>| m.is_some_and(|d| d <= threshold);
    let reason = |path: &str, place: Place| -> Option<String> {
        let face = faces.get(path)?;
        match place {
            Place::Enrolment => face.enrolment_refusal.clone(),
            Place::Entrance => face.entrance_refusal.clone(),
        }
    };
    let mut table = BTreeMap::new();
    let (mut clean, mut clean_accepted) = (0usize, 0usize);
    for ((m, probe), enrolment) in open
        .mated
        .iter()
        .zip(&open.mated_probe)
        .zip(&open.mated_enrolment)
    {
        let refusals = [
            (Place::Entrance, reason(probe, Place::Entrance)),
            (Place::Enrolment, reason(enrolment, Place::Enrolment)),
        ];
        if refusals.iter().all(|(_, r)| r.is_none()) {
            clean += 1;
            clean_accepted += usize::from(accepted(m));
        }
        for (place, refusal) in refusals {
            if let Some(refusal) = refusal {
                let entry = report(&mut table, place, refusal);
                entry.mated_passages += 1;
                entry.accepted_if_used += f64::from(u8::from(accepted(m)));
            }
        }
    }
    for (n, probe) in open.non_mated.iter().zip(&open.non_mated_probe) {
        if let Some(refusal) = reason(probe, Place::Entrance) {
            let entry = report(&mut table, Place::Entrance, refusal);
            entry.non_mated_passages += 1;
            entry.false_matches_if_used += usize::from(accepted(n));
        }
    }
    let mut out: Vec<ReasonReport> = table.into_values().collect();
    for entry in &mut out {
        if entry.mated_passages > 0 {
            entry.accepted_if_used /= entry.mated_passages as f64;
        }
    }
    let baseline = if clean == 0 {
        0.0
    } else {
        clean_accepted as f64 / clean as f64
    };
    (out, baseline)
}
