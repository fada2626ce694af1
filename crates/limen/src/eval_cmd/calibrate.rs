//! `limen eval calibrate`: measures a model version's thresholds on
//! lfw-dev and prints them as the matcher's calibration module.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use limen_eval::calibration::{self, Plan};
use limen_eval::label_noise;
use limen_eval::people::Person;
use limen_face::FaceModel;
use limen_matcher::Scoring;

#[derive(Args)]
pub struct CalibrateArgs {
    /// The LFW folder holding `<Name>/<Name>_NNNN.jpg`.
    #[arg(long)]
    root: PathBuf,
    /// LFW's people.txt listing the people sets.
    #[arg(long)]
    people: PathBuf,
    /// The model version to calibrate.
    #[arg(long, default_value = "dlib-resnet-v1-mirrored")]
    model_version: String,
    /// Galleries drawn per measurement.
    #[arg(long, default_value_t = 50)]
    repetitions: usize,
    /// Write the module here (for example
    /// crates/matcher/src/calibrations/dlib_resnet_v1_mirrored.rs) instead
    /// of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    models: crate::ModelsArg,
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let Some(version) = FaceModel::by_id(&args.model_version) else {
        bail!("unknown model version {:?}", args.model_version);
    };
    let people: Vec<Person> = super::read_people_sets(&args.people)?
        .into_iter()
        .flatten()
        .collect();
    let faces = super::faces::compute_one(
        &people,
        &args.root,
        &args.models.source(),
        version,
        args.threads,
    )?;
    let set_apart = label_noise::paths(&label_noise::lfw_dev());
    let plan = Plan {
        repetitions: args.repetitions,
        ..Plan::default()
    };
    let measured = calibration::measure(
        &people,
        &faces,
        &set_apart,
        version,
        Scoring::HUBNESS,
        &plan,
        &mut |step| eprintln!("calibrating: {step}"),
    );
    let command = format!(
        "limen eval calibrate --root LFW-DEV/lfw --people LFW-DEV/people.txt --model-version {} --repetitions {}",
        version.id, args.repetitions
    );
    let source = measured.to_rust(version.id, &command);
    match &args.out {
        Some(path) => {
            std::fs::write(path, source).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{source}"),
    }
    Ok(())
}
