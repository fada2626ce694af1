//! `limen eval lfw`: verification and open-set identification on LFW
//! people sets, side by side for each model version and each way Limen can
//! enrol, normalise, augment and fuse, with a DET picture.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use limen_eval::identification::{self, FaceTable, Setup, Split, Trial};
use limen_eval::people::Person;
use limen_eval::{det, gates, label_noise, metrics, verification};
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
    /// The model versions to compare (repeat the flag; default: every
    /// version this build runs). Ignored with `--embeddings`.
    #[arg(long = "model-version")]
    model_versions: Vec<String>,
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
pub(super) struct RowReport {
    pub(super) label: String,
    pub(super) model_version: &'static str,
    pub(super) enrol_images: usize,
    pub(super) normalised: bool,
    pub(super) pass_frames: usize,
    pub(super) quality_gates: bool,
    /// The headline split.
    pub(super) single: Summary,
    /// All splits pooled.
    pub(super) pooled: Summary,
}

#[derive(Serialize)]
pub(super) struct Summary {
    pub(super) gallery_people: usize,
    pub(super) mated: usize,
    pub(super) non_mated: usize,
    pub(super) not_enrolled: usize,
    pub(super) refused_probes: usize,
    pub(super) rank1: f64,
    pub(super) operating_points: Vec<metrics::OperatingPoint>,
}

const TARGETS: [f64; 3] = [0.01, 0.001, 0.0001];

pub fn run(args: LfwArgs) -> anyhow::Result<()> {
    let sets = super::read_people_sets(&args.people)?;
    let people: Vec<Person> = sets.iter().flatten().cloned().collect();
    let noise = label_noise::lfw_dev();
    let set_apart = label_noise::paths(&noise);

    let tables: Vec<(FaceModel, FaceTable)> = match &args.embeddings {
        Some(file) => vec![(
            FaceModel::DLIB_RESNET_V1,
            super::faces::read_embeddings(file, &args.root)?,
        )],
        None => {
            let versions = versions(&args.model_versions)?;
            let tables = super::faces::compute(
                &people,
                &args.root,
                &args.models.source(),
                &versions,
                args.threads.unwrap_or_else(crate::parallel::all_cores),
            )?;
            versions.into_iter().zip(tables).collect()
        }
    };
    let versions: Vec<FaceModel> = tables.iter().map(|(v, _)| *v).collect();
    let table_for = |version: FaceModel| -> &FaceTable {
        &tables
            .iter()
            .find(|(v, _)| *v == version)
            .expect("rows only name computed versions")
            .1
    };

    let mut verifications = Vec::new();
    let mut one_to_one = Vec::new();
    for (version, table) in &tables {
        let vectors = super::faces::vectors(table);
        verifications.push((
            version.id,
            verification::evaluate(&sets, &vectors, args.pairs, args.seed),
        ));
        let (genuine, impostor) = verification::all_pairs(&people, &vectors, &set_apart);
        one_to_one.push((*version, genuine, impostor));
    }
    let one_to_one = one_to_one_reports(&one_to_one);

    let rows = rows(&versions);
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

    // The door's figures for each unit-length version that has a
    // calibration; the quality refusals for the default version.
    let door_versions: Vec<FaceModel> = versions
        .iter()
        .copied()
        .filter(|v| v.recipe.unit_length() && calibration_for(v.id).is_some())
        .collect();
    let mut default = Vec::new();
    let mut growth = Vec::new();
    for &version in &door_versions {
        default.extend(default_level(
            &people,
            table_for(version),
            version,
            &set_apart,
            &splits,
        ));
        growth.extend(self::growth(
            &people,
            table_for(version),
            version,
            &set_apart,
            &splits,
        ));
    }
    let quality = versions
        .contains(&FaceModel::DEFAULT)
        .then(|| quality(&people, table_for(FaceModel::DEFAULT), &set_apart, &splits));

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
            "verification": verifications.iter().map(|(l, v)| json!({"model_version": l, "report": v})).collect::<Vec<_>>(),
            "one_to_one": one_to_one,
            "identification": reports,
            "default_level": default,
            "gallery_growth": growth,
            "quality_gates": quality,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        super::lfw_tables::print(&super::lfw_tables::Tables {
            pairs: args.pairs,
            seed: args.seed,
            splits: args.splits,
            noise: &noise,
            verification: &verifications,
            one_to_one: &one_to_one,
            reports: &reports,
            default: &default,
            growth: &growth,
            quality: quality.as_ref(),
        });
    }
    Ok(())
}

/// The version's calibration, or none (then only threshold-free figures mean anything).
fn calibration(version: FaceModel) -> Calibration {
    calibration_for(version.id)
        .cloned()
        .unwrap_or(Calibration::UNCALIBRATED)
}

/// The versions named on the command line, or every version.
fn versions(ids: &[String]) -> anyhow::Result<Vec<FaceModel>> {
    if ids.is_empty() {
        return Ok(FaceModel::ALL.to_vec());
    }
    ids.iter()
        .map(|id| FaceModel::by_id(id).with_context(|| format!("unknown model version {id:?}")))
        .collect()
}

fn rows(versions: &[FaceModel]) -> Vec<Row> {
    let setup = |enrol_images, scoring, pass_frames, gates| Setup {
        enrol_images,
        scoring,
        pass_frames,
        gates,
    };
    let mut rows = Vec::new();
    for &v in versions {
        let row = |label: String, setup: Setup| Row {
            label,
            version: v,
            setup,
        };
        let name = if v == FaceModel::DEFAULT {
            "Limen's default".to_owned()
        } else {
            v.id.to_owned()
        };
        rows.extend([
            row(
                format!("{v}, plain distances, 1 image"),
                setup(1, Scoring::PLAIN, 1, false),
            ),
            row(
                format!("{v}, normalised, 1 image"),
                setup(1, Scoring::HUBNESS, 1, false),
            ),
        ]);
        // The enrolment sets, passes and gates of the product, for the
        // versions whose vectors can be fused (unit length).
        if !v.recipe.unit_length() {
            continue;
        }
        rows.extend([
            row(
                format!("{v}, normalised, 2 images"),
                setup(2, Scoring::HUBNESS, 1, false),
            ),
            row(
                format!("{v}, normalised, 3 images"),
                setup(3, Scoring::HUBNESS, 1, false),
            ),
            row(
                format!("{v}, normalised, 1 image, passes of 2 photos (upper bound)"),
                setup(1, Scoring::HUBNESS, 2, false),
            ),
            row(
                format!("{name} with quality gates, 1 image"),
                setup(1, Scoring::HUBNESS, 1, true),
            ),
            row(
                format!("{name} with quality gates, 3 images"),
                setup(3, Scoring::HUBNESS, 1, true),
            ),
        ]);
    }
    rows
}

/// Each version's 1:1 rule on every lfw-dev pair, and the distance that
/// lets through the default version's share of impostor pairs.
#[derive(Serialize)]
pub(super) struct OneToOneReport {
    pub(super) model_version: &'static str,
    pub(super) at_own_rule: verification::OneToOne,
    pub(super) at_default_false_match_rate: verification::OneToOne,
}

fn one_to_one_reports(pairs: &[(FaceModel, Vec<f32>, Vec<f32>)]) -> Vec<OneToOneReport> {
    let rule = |(v, genuine, impostor): &(FaceModel, Vec<f32>, Vec<f32>)| {
        verification::one_to_one(genuine, impostor, v.same_person_distance)
    };
    let default_rate = pairs
        .iter()
        .find(|(v, ..)| *v == FaceModel::DEFAULT)
        .map(|p| rule(p).false_match_rate);
    pairs
        .iter()
        .map(|p| {
            let (v, genuine, impostor) = p;
            let matched = default_rate.map_or(v.same_person_distance, |rate| {
                verification::threshold_at_false_match_rate(impostor, rate)
            });
            OneToOneReport {
                model_version: v.id,
                at_own_rule: rule(p),
                at_default_false_match_rate: verification::one_to_one(genuine, impostor, matched),
            }
        })
        .collect()
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
pub(super) struct LevelReport {
    pub(super) model_version: &'static str,
    pub(super) protocol: &'static str,
    pub(super) level: &'static str,
    pub(super) enrol_images: usize,
    pub(super) threshold_single_split: f32,
    pub(super) fpir: f64,
    pub(super) fnir: f64,
    /// FPIR at the same thresholds with the label-noise images kept in.
    pub(super) fpir_with_label_noise: f64,
    pub(super) non_mated: usize,
}

fn default_level(
    people: &[Person],
    faces: &FaceTable,
    version: FaceModel,
    set_apart: &HashSet<String>,
    splits: &[Split],
) -> Vec<LevelReport> {
    let calibration = calibration(version);
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
                model_version: version.id,
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
pub(super) struct GrowthReport {
    pub(super) model_version: &'static str,
    pub(super) gallery_people: usize,
    pub(super) threshold: f32,
    pub(super) fpir: f64,
    pub(super) false_matches: usize,
    pub(super) non_mated: usize,
}

fn growth(
    people: &[Person],
    faces: &FaceTable,
    version: FaceModel,
    set_apart: &HashSet<String>,
    splits: &[Split],
) -> Vec<GrowthReport> {
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
                model_version: version.id,
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
pub(super) struct QualityReport {
    pub(super) threshold: f32,
    pub(super) accepted_without_refusals: f64,
    pub(super) reasons: Vec<gates::ReasonReport>,
}

fn quality(
    people: &[Person],
    faces: &FaceTable,
    set_apart: &HashSet<String>,
    splits: &[Split],
) -> QualityReport {
    let version = FaceModel::DEFAULT;
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
