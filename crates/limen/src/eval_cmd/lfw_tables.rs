//! The Markdown tables of `limen eval lfw`.

use limen_eval::label_noise;
use limen_eval::verification::VerificationReport;

use super::lfw::{GrowthReport, LevelReport, OneToOneReport, QualityReport, RowReport};

fn pct(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

/// What `limen eval lfw` measured.
pub(super) struct Tables<'a> {
    pub pairs: usize,
    pub seed: u64,
    pub splits: u64,
    pub noise: &'a [label_noise::Noise],
    pub verification: &'a [(&'static str, VerificationReport)],
    pub one_to_one: &'a [OneToOneReport],
    pub reports: &'a [RowReport],
    pub default: &'a [LevelReport],
    pub growth: &'a [GrowthReport],
    pub quality: Option<&'a QualityReport>,
}

pub(super) fn print(t: &Tables) {
    let Tables {
        noise,
        verification,
        reports,
        default,
        growth,
        ..
    } = *t;
    println!("# lfw-dev: verification and open-set identification\n");
    println!(
        "Label noise set apart ({} images, listed with evidence in crates/eval/data/lfw-dev-label-noise.tsv):",
        noise.len()
    );
    for n in noise {
        println!("- {} ({})", n.path, n.kind);
    }
    println!(
        "\n## Verification (leave one set out, {} + {} pairs per set, seed {})\n",
        t.pairs, t.pairs, t.seed
    );
    println!("| model version | mean accuracy | per set (threshold) |\n| --- | --- | --- |");
    for (label, v) in verification {
        let folds: Vec<String> = v
            .folds
            .iter()
            .map(|f| format!("set {}: {} ({:.4})", f.set, pct(f.accuracy), f.threshold))
            .collect();
        println!(
            "| {label} | **{}** | {} |",
            pct(v.mean_accuracy),
            folds.join(", ")
        );
    }
    println!(
        "\n## 1:1 rule (`same_person_distance`) on every lfw-dev pair, label noise set apart\n"
    );
    println!(
        "| model version | threshold | FMR | FNMR | threshold at the default version's FMR | its FNMR | impostor, genuine pairs |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in t.one_to_one {
        println!(
            "| {} | {:.4} | {:.3}% | {} | {:.4} | {} | {}, {} |",
            r.model_version,
            r.at_own_rule.threshold,
            r.at_own_rule.false_match_rate * 100.0,
            pct(r.at_own_rule.false_non_match_rate),
            r.at_default_false_match_rate.threshold,
            pct(r.at_default_false_match_rate.false_non_match_rate),
            r.at_own_rule.impostor_pairs,
            r.at_own_rule.genuine_pairs
        );
    }
    println!(
        "\n## Identification: seed {} (the split `limen eval door` repeats) | {} splits pooled\n",
        t.seed, t.splits
    );
    println!(
        "FNIR at the threshold that lets the target FPIR of non-mated passages through, measured on the run itself.\n"
    );
    println!(
        "| setup | rank-1 | FNIR @ FPIR 1% | @ 0.1% | @ 0.01% | gallery, mated, non-mated |\n| --- | --- | --- | --- | --- | --- |"
    );
    for r in reports {
        let cell = |i: usize| {
            format!(
                "{} \\| {}",
                pct(r.single.operating_points[i].fnir),
                pct(r.pooled.operating_points[i].fnir)
            )
        };
        println!(
            "| {} | {} \\| {} | {} | {} | {} | {}, {}, {} |",
            r.label,
            pct(r.single.rank1),
            pct(r.pooled.rank1),
            cell(0),
            cell(1),
            cell(2),
            r.single.gallery_people,
            r.single.mated,
            r.single.non_mated
        );
    }
    println!("\n## At the calibrated thresholds, as the door decides (quality gates on)\n");
    println!(
        "The second protocol enrols everyone with two or more images and meets everyone with one image as a stranger, as an evaluation on held-out LFW sets does.\n"
    );
    println!(
        "| model version | protocol | enrolment images | level | threshold | FPIR | FNIR | FPIR with label noise kept in |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for d in default {
        println!(
            "| {} | {} | {} | {} | {:.4} | {} of {} | {} | {} |",
            d.model_version,
            d.protocol,
            d.enrol_images,
            d.level,
            d.threshold_single_split,
            pct(d.fpir),
            d.non_mated,
            pct(d.fnir),
            pct(d.fpir_with_label_noise)
        );
    }
    println!("\n## FPIR at the default level (high, target 0.1%) as the gallery grows\n");
    println!(
        "| model version | gallery people | threshold | FPIR | false matches / non-mated |\n| --- | --- | --- | --- | --- |"
    );
    for g in growth {
        println!(
            "| {} | {} | {:.4} | {} | {} / {} |",
            g.model_version,
            g.gallery_people,
            g.threshold,
            pct(g.fpir),
            g.false_matches,
            g.non_mated
        );
    }
    let Some(quality) = t.quality else {
        return;
    };
    println!(
        "\n## What each quality refusal buys (default model version, 1 image, default level, threshold {:.4}; passages no check refuses: {} accepted)\n",
        quality.threshold,
        pct(quality.accepted_without_refusals)
    );
    println!(
        "| check | reason | mated passages | accepted had it been used | non-mated | false matches had it been used |\n| --- | --- | --- | --- | --- | --- |"
    );
    for r in &quality.reasons {
        println!(
            "| {:?} | {} | {} | {} | {} | {} |",
            r.place,
            r.reason,
            r.mated_passages,
            pct(r.accepted_if_used),
            r.non_mated_passages,
            r.false_matches_if_used
        );
    }
}
