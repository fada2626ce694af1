//! `limen eval lfw`: verification and open-set identification on LFW
//! people sets, side by side for each way Limen can enrol, normalise,
//! augment and fuse, with a DET picture.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use limen_eval::identification::{self, FaceTable, Setup, Split, Trial};
use limen_eval::people::Person;
use limen_eval::{det, gates, label_noise, metrics};
use limen_face::FaceModel;
use limen_matcher::{Calibration, Scoring, SecurityLevel, calibration_for};
use serde::Serialize;
use serde_json::json;

use crate::progress::Progress;

#[derive(Args)]
pub struct LfwArgs {
    /// The LFW folder holding `<Name>/<Name>_NNNN.jpg`.
    #[arg(long)]
    root: PathBuf,
    /// LFW's people.txt listing the people sets.
    #[arg(long)]
    people: PathBuf,
    /// Score descriptors from a JSON-lines file (`{"path", "embedding"}`
    /// per image, as `limen face embed --json` and the reference's
    /// `peer_embed.py` print) instead of computing them. They are taken as
    /// plain dlib descriptors, with no quality verdicts.
    #[arg(long)]
    embeddings: Option<PathBuf>,
    /// Pairs of each kind per set.
    #[arg(long, default_value_t = 300)]
    pairs: usize,
    /// The split of the headline run (the one `limen eval door` repeats).
    #[arg(long, default_value_t = super::HEADLINE_SEED)]
    seed: u64,
    /// Splits pooled for the steadier figures: the seed and the ones after it.
    #[arg(long, default_value_t = 10)]
    splits: u64,
    /// Write the DET picture (SVG) here.
    #[arg(long)]
    det: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Worker threads when computing descriptors (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    models: crate::ModelsArg,
}

/// One row of the identification table.
struct Row {
    label: String,
    version: FaceModel,
    setup: Setup,
}

#[derive(Serialize)]
struct RowReport {
    label: String,
    model_version: &'static str,
    enrol_images: usize,
    normalised: bool,
    pass_frames: usize,
    quality_gates: bool,
    /// The headline split.
    single: Summary,
    /// All splits pooled.
    pooled: Summary,
}

#[derive(Serialize)]
struct Summary {
    gallery_people: usize,
    mated: usize,
    non_mated: usize,
    not_enrolled: usize,
    refused_probes: usize,
    rank1: f64,
    operating_points: Vec<metrics::OperatingPoint>,
}

const TARGETS: [f64; 3] = [0.01, 0.001, 0.0001];

pub fn run(args: LfwArgs) -> anyhow::Result<()> {
    let sets = super::read_people_sets(&args.people)?;
    let people: Vec<Person> = sets.iter().flatten().cloned().collect();
    let noise = label_noise::lfw_dev();
    let set_apart = label_noise::paths(&noise);

    let (plain, mirrored) = match &args.embeddings {
        Some(file) => (super::faces::read_embeddings(file, &args.root)?, None),
        None => {
            let mut tables = super::faces::compute(
                &people,
                &args.root,
                &args.models.dir(),
                &[
                    FaceModel::DLIB_RESNET_V1,
                    FaceModel::DLIB_RESNET_V1_MIRRORED,
                ],
                args.threads.unwrap_or_else(crate::parallel::all_cores),
            )?
            .into_iter();
            let plain = tables.next().context("plain faces")?;
            (plain, tables.next())
        }
    };
    let table_for = |version: FaceModel| -> &FaceTable {
        match (&mirrored, version == FaceModel::DLIB_RESNET_V1_MIRRORED) {
            (Some(m), true) => m,
            _ => &plain,
        }
    };

    let verification: Vec<(&str, limen_eval::verification::VerificationReport)> =
        [("dlib", Some(&plain)), ("mirrored", mirrored.as_ref())]
            .into_iter()
            .filter_map(|(label, table)| {
                let vectors = super::faces::vectors(table?);
                Some((
                    label,
                    limen_eval::verification::evaluate(&sets, &vectors, args.pairs, args.seed),
                ))
            })
            .collect();

    let rows = rows(mirrored.is_some());
    let splits: Vec<Split> = (0..args.splits.max(1))
        .map(|i| identification::split(&people, args.seed + i))
        .collect();
    let mut progress = Progress::new("identification", rows.len() * splits.len());
    let mut reports = Vec::new();
    let mut curves = Vec::new();
    let mut trials = Vec::new();
    for row in &rows {
        let calibration = calibration(row.version);
        let runs: Vec<Trial> = splits
            .iter()
            .map(|split| {
                let t = identification::run(
                    &people,
                    table_for(row.version),
                    &set_apart,
                    split,
                    &row.setup,
                    row.version,
                    &calibration,
                );
                progress.advance(1);
                t
            })
            .collect();
        let pooled = Trial::pooled(&runs);
        curves.push((row.label.clone(), metrics::det_curve(&pooled)));
        reports.push(RowReport {
            label: row.label.clone(),
            model_version: row.version.id,
            enrol_images: row.setup.enrol_images,
            normalised: row.setup.scoring.hub_weight != 0.0,
            pass_frames: row.setup.pass_frames,
            quality_gates: row.setup.gates,
            single: summary(&runs[0]),
            pooled: summary(&pooled),
        });
        trials.push(runs);
    }
    progress.finish();

    let default = default_level(&people, table_for, &set_apart, &splits);
    let growth = growth(
        &people,
        table_for(FaceModel::DLIB_RESNET_V1_MIRRORED),
        &set_apart,
        &splits,
    );
    let quality = quality(
        &people,
        table_for(FaceModel::DLIB_RESNET_V1_MIRRORED),
        &set_apart,
        &splits,
    );

    if let Some(path) = &args.det {
        let drawn: Vec<det::Curve<'_>> = curves
            .iter()
            .map(|(label, points)| det::Curve { label, points })
            .collect();
        let title = format!(
            "lfw-dev open-set identification, {} splits pooled",
            splits.len()
        );
        std::fs::write(path, det::svg(&title, &drawn))
            .with_context(|| format!("writing {}", path.display()))?;
    }

    if args.json {
        let out = json!({
            "images": people.iter().map(|p| p.images).sum::<usize>(),
            "seed": args.seed,
            "splits": splits.len(),
            "set_apart": noise.iter().map(|n| json!({"path": n.path, "kind": n.kind})).collect::<Vec<_>>(),
            "verification": verification.iter().map(|(l, v)| json!({"vectors": l, "report": v})).collect::<Vec<_>>(),
            "identification": reports,
            "default_level": default,
            "gallery_growth": growth,
            "quality_gates": quality,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_tables(
            &args,
            &noise,
            &verification,
            &reports,
            &default,
            &growth,
            &quality,
        );
    }
    Ok(())
}

/// The version's calibration, or none (then only threshold-free figures mean anything).
fn calibration(version: FaceModel) -> Calibration {
    calibration_for(version.id)
        .cloned()
        .unwrap_or(Calibration::UNCALIBRATED)
}

fn rows(mirrored: bool) -> Vec<Row> {
    let setup = |enrol_images, scoring, pass_frames, gates| Setup {
        enrol_images,
        scoring,
        pass_frames,
        gates,
    };
    let dlib = FaceModel::DLIB_RESNET_V1;
    let mut rows = vec![
        Row {
            label: "dlib, plain distances, 1 image".into(),
            version: dlib,
            setup: setup(1, Scoring::PLAIN, 1, false),
        },
        Row {
            label: "dlib, normalised, 1 image".into(),
            version: dlib,
            setup: setup(1, Scoring::HUBNESS, 1, false),
        },
    ];
    if mirrored {
        let m = FaceModel::DLIB_RESNET_V1_MIRRORED;
        rows.extend([
            Row {
                label: "mirrored, plain distances, 1 image".into(),
                version: m,
                setup: setup(1, Scoring::PLAIN, 1, false),
            },
            Row {
                label: "mirrored, normalised, 1 image".into(),
                version: m,
                setup: setup(1, Scoring::HUBNESS, 1, false),
            },
            Row {
                label: "mirrored, normalised, 2 images".into(),
                version: m,
                setup: setup(2, Scoring::HUBNESS, 1, false),
            },
            Row {
                label: "mirrored, normalised, 3 images".into(),
                version: m,
                setup: setup(3, Scoring::HUBNESS, 1, false),
            },
            Row {
                label: "mirrored, normalised, 1 image, passes of 2 photos (upper bound)".into(),
                version: m,
                setup: setup(1, Scoring::HUBNESS, 2, false),
            },
            Row {
                label: "Limen's default with quality gates, 1 image".into(),
                version: m,
                setup: setup(1, Scoring::HUBNESS, 1, true),
            },
            Row {
                label: "Limen's default with quality gates, 3 images".into(),
                version: m,
                setup: setup(3, Scoring::HUBNESS, 1, true),
            },
        ]);
    }
    rows
}

fn summary(trial: &Trial) -> Summary {
    Summary {
        gallery_people: trial.gallery_people,
        mated: trial.mated.len(),
        non_mated: trial.non_mated.len(),
        not_enrolled: trial.not_enrolled,
        refused_probes: trial.refused_probes,
        rank1: metrics::rank1(trial),
        operating_points: TARGETS
            .iter()
            .map(|&t| metrics::operating_point(trial, t))
            .collect(),
    }
}

/// What the door would do at each security level's calibrated threshold.
#[derive(Serialize)]
struct LevelReport {
    protocol: &'static str,
    level: &'static str,
    enrol_images: usize,
    threshold_single_split: f32,
    fpir: f64,
    fnir: f64,
    /// FPIR at the same thresholds with the label-noise images kept in.
    fpir_with_label_noise: f64,
    non_mated: usize,
}

fn default_level<'a>(
    people: &[Person],
    table_for: impl Fn(FaceModel) -> &'a FaceTable,
    set_apart: &HashSet<String>,
    splits: &[Split],
) -> Vec<LevelReport> {
    let version = FaceModel::DLIB_RESNET_V1_MIRRORED;
    let calibration = calibration(version);
    let faces = table_for(version);
    let strangers = [identification::strangers_split(people)];
    let protocols: [(&'static str, &[Split]); 2] = [
        ("halves of lfw-dev, pooled splits", splits),
        ("strangers: one-image people at the door", &strangers),
    ];
    let mut out = Vec::new();
    for ((protocol, splits), enrol_images) in protocols.iter().flat_map(|p| [(p, 1usize), (p, 3)]) {
        let setup = Setup {
            enrol_images,
            scoring: Scoring::HUBNESS,
            pass_frames: 1,
            gates: true,
        };
        let run_all = |apart: &HashSet<String>| -> Vec<Trial> {
            splits
                .iter()
                .map(|s| {
                    identification::run(people, faces, apart, s, &setup, version, &calibration)
                })
                .collect()
        };
        let clean = run_all(set_apart);
        let noisy = run_all(&HashSet::new());
        for level in SecurityLevel::ALL {
            let (mut fp, mut fn_, mut fp_noisy) = (0.0, 0.0, 0.0);
            let (mut non_mated, mut mated, mut non_mated_noisy) = (0, 0, 0);
            for (c, n) in clean.iter().zip(&noisy) {
                let t = calibration.threshold(level, c.gallery_people, 1);
                let (fpir, fnir) = metrics::at_threshold(c, t);
                fp += fpir * c.non_mated.len() as f64;
                fn_ += fnir * c.mated.len() as f64;
                let t = calibration.threshold(level, n.gallery_people, 1);
                fp_noisy += metrics::at_threshold(n, t).0 * n.non_mated.len() as f64;
                non_mated += c.non_mated.len();
                mated += c.mated.len();
                non_mated_noisy += n.non_mated.len();
            }
            out.push(LevelReport {
                protocol,
                level: level.as_str(),
                enrol_images,
                threshold_single_split: calibration.threshold(level, clean[0].gallery_people, 1),
                fpir: fp / non_mated.max(1) as f64,
                fnir: fn_ / mated.max(1) as f64,
                fpir_with_label_noise: fp_noisy / non_mated_noisy.max(1) as f64,
                non_mated,
            });
        }
    }
    out
}

/// FPIR at the default level as the gallery grows (acceptance: it stays at
/// or under its target).
#[derive(Serialize)]
struct GrowthReport {
    gallery_people: usize,
    threshold: f32,
    fpir: f64,
    false_matches: usize,
    non_mated: usize,
}

fn growth(
    people: &[Person],
    faces: &FaceTable,
    set_apart: &HashSet<String>,
    splits: &[Split],
) -> Vec<GrowthReport> {
    let version = FaceModel::DLIB_RESNET_V1_MIRRORED;
    let calibration = calibration(version);
    let setup = Setup {
        enrol_images: 1,
        scoring: Scoring::HUBNESS,
        pass_frames: 1,
        gates: true,
    };
    // Smaller galleries keep every enrolled person and fewer distractors.
    [250usize, 500, usize::MAX]
        .into_iter()
        .map(|target| {
            let (mut false_matches, mut non_mated, mut size, mut threshold) = (0, 0, 0, 0.0);
            for split in splits {
                let mut split = split.clone();
                let room = target.saturating_sub(split.enrolled.len());
                split.distractors.truncate(room);
                if target < split.enrolled.len() {
                    split.enrolled.truncate(target);
                }
                let t = identification::run(
                    people,
                    faces,
                    set_apart,
                    &split,
                    &setup,
                    version,
                    &calibration,
                );
                threshold = calibration.threshold(SecurityLevel::High, t.gallery_people, 1);
                let (fpir, _) = metrics::at_threshold(&t, threshold);
                false_matches += (fpir * t.non_mated.len() as f64).round() as usize;
                non_mated += t.non_mated.len();
                size = t.gallery_people;
            }
            GrowthReport {
                gallery_people: size,
                threshold,
                fpir: false_matches as f64 / non_mated.max(1) as f64,
                false_matches,
                non_mated,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct QualityReport {
    threshold: f32,
    accepted_without_refusals: f64,
    reasons: Vec<gates::ReasonReport>,
}

fn quality(
    people: &[Person],
    faces: &FaceTable,
    set_apart: &HashSet<String>,
    splits: &[Split],
) -> QualityReport {
    let version = FaceModel::DLIB_RESNET_V1_MIRRORED;
    let calibration = calibration(version);
    let setup = Setup {
        enrol_images: 1,
        scoring: Scoring::HUBNESS,
        pass_frames: 1,
        gates: false,
    };
    let runs: Vec<Trial> = splits
        .iter()
        .map(|s| identification::run(people, faces, set_apart, s, &setup, version, &calibration))
        .collect();
    let pooled = Trial::pooled(&runs);
    let threshold = calibration.threshold(SecurityLevel::High, pooled.gallery_people, 1);
    let (reasons, accepted_without_refusals) = gates::analyse(&pooled, faces, threshold);
    QualityReport {
        threshold,
        accepted_without_refusals,
        reasons,
    }
}

fn pct(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

fn print_tables(
    args: &LfwArgs,
    noise: &[label_noise::Noise],
    verification: &[(&str, limen_eval::verification::VerificationReport)],
    reports: &[RowReport],
    default: &[LevelReport],
    growth: &[GrowthReport],
    quality: &QualityReport,
) {
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
        args.pairs, args.pairs, args.seed
    );
    println!("| vectors | mean accuracy | per set (threshold) |\n| --- | --- | --- |");
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
        "\n## Identification: seed {} (the split `limen eval door` repeats) | {} splits pooled\n",
        args.seed, args.splits
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
        "| protocol | enrolment images | level | threshold | FPIR | FNIR | FPIR with label noise kept in |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for d in default {
        println!(
            "| {} | {} | {} | {:.4} | {} of {} | {} | {} |",
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
        "| gallery people | threshold | FPIR | false matches / non-mated |\n| --- | --- | --- | --- |"
    );
    for g in growth {
        println!(
            "| {} | {:.4} | {} | {} / {} |",
            g.gallery_people,
            g.threshold,
            pct(g.fpir),
            g.false_matches,
            g.non_mated
        );
    }
    println!(
        "\n## What each quality refusal buys (1 image, default level, threshold {:.4}; passages no check refuses: {} accepted)\n",
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
