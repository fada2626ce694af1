//! `limen eval liveness`: how the liveness check scores live faces and
//! synthetic attacks made from them (`limen_eval::attacks`).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use limen_eval::attacks::{Attack, Photo, present};
use limen_eval::liveness::summarise;
use limen_eval::rng::SplitMix64;
use limen_face::liveness::{Liveness, LivenessChecker};
use limen_face::{FaceFinder, RgbImage};
use serde_json::json;

#[derive(Args)]
pub struct LivenessEvalArgs {
    /// Images of live faces: files, or `.txt` files listing one path a line.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Also present each image as a phone-screen and a printed-photo attack
    /// (rendered, see `limen_eval::attacks`) and check those frames.
    #[arg(long)]
    attacks: bool,
    /// Check every Nth image only.
    #[arg(long, default_value_t = 1)]
    every: usize,
    #[arg(long, default_value_t = 20261129)]
    seed: u64,
    /// Live-score thresholds to report the share judged live at.
    #[arg(
        long,
        value_delimiter = ',',
        default_values_t = [0.3, 0.5, 0.7, 0.8, 0.9, 0.95]
    )]
    thresholds: Vec<f32>,
    /// Print a JSON line per image before the summary.
    #[arg(long)]
    per_image: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    models: crate::ModelsArg,
}

fn image_paths(args: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for arg in args {
        if arg.extension().is_some_and(|e| e == "txt") {
            let file = std::fs::File::open(arg).with_context(|| arg.display().to_string())?;
            for line in std::io::BufReader::new(file).lines() {
                let line = line?;
                if !line.trim().is_empty() {
                    out.push(PathBuf::from(line.trim()));
                }
            }
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

/// The liveness of the largest face the finder sees, if any.
fn check_largest(
    finder: &FaceFinder,
    checker: &LivenessChecker,
    image: &RgbImage,
) -> Option<Liveness> {
    let faces = finder.find(image);
    let largest = faces.iter().max_by_key(|f| f.rect.area())?;
    checker.check(image, largest.rect).ok()
}

/// An attack, its checked faces' (live score, upstream verdict), and how
/// many of its frames showed no face.
type AttackScores = (Attack, Vec<(f32, bool)>, usize);

struct Outcome {
    bona_fide: Option<Liveness>,
    attacks: Vec<(Attack, Option<Liveness>)>,
}

fn evaluate(
    path: &Path,
    index: u64,
    args: &LivenessEvalArgs,
    finder: &FaceFinder,
    checker: &LivenessChecker,
) -> Option<Outcome> {
    let image = limen_face::decode(&std::fs::read(path).ok()?).ok()?;
    let bona_fide = check_largest(finder, checker, &image);
    let mut attacks = Vec::new();
    if args.attacks {
        let photo = Photo {
            width: image.width(),
            height: image.height(),
            rgb: image.as_raw(),
        };
        for (n, attack) in [Attack::Screen, Attack::Print].into_iter().enumerate() {
            let mut rng = SplitMix64::new(args.seed ^ (index * 2 + n as u64).wrapping_mul(0x9E37));
            let frame = present(attack, &photo, &mut rng);
            let liveness = RgbImage::from_raw(frame.width, frame.height, frame.rgb)
                .and_then(|frame| check_largest(finder, checker, &frame));
            attacks.push((attack, liveness));
        }
    }
    Some(Outcome { bona_fide, attacks })
}

pub fn liveness(args: LivenessEvalArgs) -> anyhow::Result<()> {
    let models = args.models.source();
    let finder = FaceFinder::load(&models)?;
    let checker = LivenessChecker::load(&models)?;
    let paths: Vec<PathBuf> = image_paths(&args.images)?
        .into_iter()
        .step_by(args.every.max(1))
        .collect();
    let mut unreadable = 0;
    let mut bona_fide = Vec::new();
    let mut by_attack: Vec<AttackScores> = [Attack::Screen, Attack::Print]
        .into_iter()
        .map(|a| (a, Vec::new(), 0))
        .collect();
    let verdict = |l: &Liveness| (l.live_score(), l.upstream_label_is_live());
    crate::parallel::map_ordered(
        paths.len(),
        args.threads.unwrap_or_else(crate::parallel::all_cores),
        |i| evaluate(&paths[i], i as u64, &args, &finder, &checker),
        |i, outcome| {
            let Some(outcome) = outcome else {
                unreadable += 1;
                return Ok(());
            };
            if args.per_image {
                let score = |l: &Option<Liveness>| l.map(|l| l.live_score());
                let mut line = json!({
                    "path": paths[i],
                    "bona_fide": score(&outcome.bona_fide),
                });
                for (attack, l) in &outcome.attacks {
                    line[attack.name()] = json!(score(l));
                }
                println!("{line}");
            }
            if let Some(l) = &outcome.bona_fide {
                bona_fide.push(verdict(l));
            }
            for ((_, l), (_, scores, missed)) in outcome.attacks.iter().zip(&mut by_attack) {
                match l {
                    Some(l) => scores.push(verdict(l)),
                    None => *missed += 1,
                }
            }
            Ok(())
        },
    )?;
    let attacks: serde_json::Map<String, serde_json::Value> = by_attack
        .iter()
        .map(|(attack, scores, missed)| {
            let summary = summarise(scores, &args.thresholds);
            (
                attack.name().to_owned(),
                json!({"no_face_found": missed, "scores": summary}),
            )
        })
        .collect();
    let summary = json!({
        "images": paths.len(),
        "unreadable": unreadable,
        "seed": args.seed,
        "bona_fide": {
            "no_face_found": paths.len() - unreadable - bona_fide.len(),
            "scores": summarise(&bona_fide, &args.thresholds),
        },
        "attacks": if args.attacks { json!(attacks) } else { json!(null) },
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
