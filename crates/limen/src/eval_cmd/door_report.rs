//! What `limen eval door` reports: the door's decisions beside the
//! prediction from the same faces, as JSON or as the tables BENCHMARKS.md
//! quotes.

use std::collections::BTreeMap;

use serde::Serialize;

/// How probes of one kind were answered.
#[derive(Serialize, Default)]
pub(super) struct Decisions {
    pub(super) probes: usize,
    pub(super) right_person: usize,
    pub(super) someone_else: usize,
    pub(super) unknown: usize,
    pub(super) poor_quality: usize,
    pub(super) no_face: usize,
}

/// Registrations of one kind and why the API refused to enrol.
#[derive(Serialize, Default)]
pub(super) struct Enrolments {
    pub(super) people: usize,
    pub(super) enrolled: usize,
    pub(super) refused: usize,
    pub(super) refusals: BTreeMap<String, usize>,
}

#[derive(Serialize)]
pub(super) struct DoorSide {
    pub(super) gallery_people: usize,
    pub(super) enrolled_people: Enrolments,
    pub(super) distractors: Enrolments,
    pub(super) mated: Decisions,
    pub(super) non_mated: Decisions,
    pub(super) fnir: f64,
    pub(super) fpir: f64,
}

#[derive(Serialize)]
pub(super) struct Prediction {
    pub(super) gallery_people: usize,
    pub(super) not_enrolled: usize,
    pub(super) refused_probes: usize,
    pub(super) threshold: f32,
    pub(super) mated: usize,
    pub(super) right_person: usize,
    pub(super) non_mated: usize,
    pub(super) false_matches: usize,
    pub(super) fnir: f64,
    pub(super) fpir: f64,
}

/// One probe the door and the prediction decided differently.
#[derive(Serialize)]
pub(super) struct Disagreement {
    pub(super) probe: String,
    pub(super) mated: bool,
    pub(super) door: String,
    /// The matcher's distance to the right person (mated) or to the
    /// nearest person (non-mated), when there is one.
    pub(super) predicted_distance: Option<f32>,
}

#[derive(Serialize, Default)]
pub(super) struct Agreement {
    pub(super) both_accept: usize,
    pub(super) door_only: usize,
    pub(super) prediction_only: usize,
    pub(super) both_refuse: usize,
}

#[derive(Serialize)]
pub(super) struct Report {
    pub(super) seed: u64,
    pub(super) enrol_images: usize,
    pub(super) security_level: &'static str,
    pub(super) model_version: &'static str,
    pub(super) door: DoorSide,
    pub(super) prediction: Prediction,
    pub(super) mated_agreement: Agreement,
    pub(super) non_mated_agreement: Agreement,
    /// Enrolled people the door and the enrolment check disagree on.
    pub(super) enrolment_disagreements: Vec<String>,
    pub(super) disagreements: Vec<Disagreement>,
}

pub(super) fn tally(refusals: &[Option<String>]) -> Enrolments {
    let mut out = Enrolments {
        people: refusals.len(),
        ..Enrolments::default()
    };
    for refusal in refusals {
        match refusal {
            None => out.enrolled += 1,
            Some(reason) => {
                out.refused += 1;
                *out.refusals.entry(reason.clone()).or_default() += 1;
            }
        }
    }
    out
}

pub(super) fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

fn pct(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

pub(super) fn print_tables(r: &Report) {
    let (d, p) = (&r.door, &r.prediction);
    println!("# The door measured as the door\n");
    println!(
        "Seed {}, {} enrolment image(s), model {}, security level {} (the default): threshold {:.4} for the predicted gallery. Each probe is its own pass.\n",
        r.seed, r.enrol_images, r.model_version, r.security_level, p.threshold
    );
    println!("| | the door (`limen serve`, HTTP API) | `eval lfw`'s prediction (matcher) |");
    println!("| --- | --- | --- |");
    println!(
        "| gallery people | {} | {} |",
        d.gallery_people, p.gallery_people
    );
    println!(
        "| enrolled people not enrolled | {} of {} | {} |",
        d.enrolled_people.refused, d.enrolled_people.people, p.not_enrolled
    );
    println!(
        "| mated probes: right person | {} of {} | {} of {} |",
        d.mated.right_person, d.mated.probes, p.right_person, p.mated
    );
    println!("| FNIR | **{}** | **{}** |", pct(d.fnir), pct(p.fnir));
    println!(
        "| non-mated probes: matched | {} of {} | {} of {} |",
        d.non_mated.someone_else, d.non_mated.probes, p.false_matches, p.non_mated
    );
    println!("| FPIR | **{}** | **{}** |", pct(d.fpir), pct(p.fpir));
    println!(
        "| probes refused by the entrance check | {} | {} |",
        d.mated.poor_quality + d.mated.no_face + d.non_mated.poor_quality + d.non_mated.no_face,
        p.refused_probes
    );
    println!("\n## The door's answers\n");
    println!("| probes | count | right person | someone else | unknown | poor_quality | no_face |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (label, c) in [("mated", &d.mated), ("non-mated", &d.non_mated)] {
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            c.probes, c.right_person, c.someone_else, c.unknown, c.poor_quality, c.no_face
        );
    }
    println!("\n## Enrolment through the API\n");
    println!("| people | registered | enrolled | refused |\n| --- | --- | --- | --- |");
    for (label, e) in [
        ("enrolled people", &d.enrolled_people),
        ("distractors", &d.distractors),
    ] {
        println!(
            "| {label} | {} | {} | {} |",
            e.people, e.enrolled, e.refused
        );
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for e in [&d.enrolled_people, &d.distractors] {
        for (reason, n) in &e.refusals {
            *reasons.entry(reason).or_default() += n;
        }
    }
    for (reason, n) in reasons {
        println!("- {n} × {reason}");
    }
    println!("\n## Where the door and the prediction differ\n");
    println!("| probes | both accept | door only | prediction only | both refuse |");
    println!("| --- | --- | --- | --- | --- |");
    for (label, a) in [
        ("mated", &r.mated_agreement),
        ("non-mated", &r.non_mated_agreement),
    ] {
        println!(
            "| {label} | {} | {} | {} | {} |",
            a.both_accept, a.door_only, a.prediction_only, a.both_refuse
        );
    }
    for line in &r.enrolment_disagreements {
        println!("- enrolment: {line}");
    }
    for x in &r.disagreements {
        let distance = x
            .predicted_distance
            .map_or("no distance".to_owned(), |d| format!("{d:.4}"));
        let kind = if x.mated { "mated" } else { "non-mated" };
        println!(
            "- {kind} {}: door {}, predicted {distance}",
            x.probe, x.door
        );
    }
}
