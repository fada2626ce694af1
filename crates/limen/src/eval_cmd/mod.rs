//! `limen eval …`: accuracy protocols (see the `limen-eval` crate).

mod calibrate;
mod door;
mod door_api;
mod door_report;
mod faces;
mod lfw;
mod lfw_tables;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

/// The split of the headline run, which `eval lfw` and `eval door` share.
pub const HEADLINE_SEED: u64 = 20261126;

#[derive(Subcommand)]
pub enum EvalCommand {
    /// Verification and open-set 1:N identification on LFW people sets.
    ///
    /// Verification: for each people set, 300 genuine and 300 impostor
    /// pairs drawn with the seed; each set in turn is tested with the
    /// distance threshold that is best on the other sets (leave one set
    /// out). Identification, through Limen's matcher: people with two or
    /// more images are split in half by the seed; the first half is
    /// enrolled with their first 1, 2 or 3 images (the other images are
    /// mated probes), the second half is absent (their images are
    /// non-mated probes); people with one image are gallery distractors.
    /// Reports rank-1 and FNIR at FPIR 1%, 0.1% and 0.01% for each way of
    /// enrolling, normalising, augmenting and fusing; what the calibrated
    /// security levels do; FPIR as the gallery grows; and what each
    /// quality refusal buys. Label noise (crates/eval/data) is set apart.
    /// A face that is not found counts as an error throughout.
    Lfw(lfw::LfwArgs),
    /// The identification protocol of `eval lfw`, run through a live
    /// `limen serve` and its public HTTP API.
    ///
    /// Starts the service (SQLite and the file mailer in a scratch
    /// directory), creates an organisation, imports, invites, registers,
    /// consents and enrols everyone the split puts in the gallery (the
    /// enrolled people with their first images, the distractors), then
    /// sends every probe image to `POST /api/v1/frames` as a device at an
    /// OSDP entrance, each as its own pass. Reports what the door decided
    /// (enrolment refusals, right person, someone else, unknown, refused;
    /// FNIR and FPIR at the default security level) beside what `eval
    /// lfw`'s matcher path predicts for the same split and level, and
    /// every probe the two decide differently.
    Door(door::DoorArgs),
    /// Measure a model version's thresholds on lfw-dev and print them as
    /// the matcher's calibration module.
    Calibrate(calibrate::CalibrateArgs),
    /// Agreement with the reference implementation on the same images.
    ///
    /// Reads JSON lines as `limen face embed --json` and the reference's
    /// `peer_embed.py` print them. `--detected`: our run with detection;
    /// reports images with a face on each side, overlap (IoU ≥ 0.5) of the
    /// reference's largest box, identical box lists. `--on-reference-boxes`:
    /// our run given the reference's boxes (`embed --list` with boxes);
    /// reports descriptor cosine similarity and landmark distance.
    Agreement(AgreementArgs),
    /// Liveness scores of live faces and of synthetic attacks made from
    /// them.
    ///
    /// Each image is a bona fide presentation: its largest face (HOG) is
    /// checked. With `--attacks`, the image is also rendered as a photo on
    /// a phone screen and as a printed photo held up to a 640×480 camera
    /// (seeded), and the largest face found in each rendered frame is
    /// checked. Reports, per kind, the faces checked, score percentiles and
    /// the share judged live at each threshold (for live faces, one minus
    /// it is the bona fide rejection rate; for attacks it is the attack
    /// acceptance rate).
    Liveness(crate::eval_liveness::LivenessEvalArgs),
}

#[derive(Args)]
pub struct AgreementArgs {
    /// The reference's output.
    #[arg(long)]
    reference: PathBuf,
    /// Our output with detection.
    #[arg(long)]
    detected: Option<PathBuf>,
    /// Our output on the reference's boxes.
    #[arg(long)]
    on_reference_boxes: Option<PathBuf>,
}

pub fn run(cmd: EvalCommand) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Lfw(args) => lfw::run(args),
        EvalCommand::Door(args) => door::run(args),
        EvalCommand::Calibrate(args) => calibrate::run(args),
        EvalCommand::Agreement(args) => agreement(args),
        EvalCommand::Liveness(args) => crate::eval_liveness::liveness(args),
    }
}

/// LFW's people.txt: the people sets, in file order.
fn read_people_sets(file: &Path) -> anyhow::Result<Vec<Vec<limen_eval::people::Person>>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    Ok(limen_eval::people::parse(&text)?)
}

fn read_records(file: &Path) -> anyhow::Result<Vec<limen_eval::agreement::ImageRecord>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).with_context(|| format!("{} line {}", file.display(), n + 1))
        })
        .collect()
}

fn agreement(args: AgreementArgs) -> anyhow::Result<()> {
    use limen_eval::agreement;
    let reference = read_records(&args.reference)?;
    let detection = match &args.detected {
        Some(file) => Some(agreement::detection(&reference, &read_records(file)?)),
        None => None,
    };
    let descriptors = match &args.on_reference_boxes {
        Some(file) => agreement::descriptors(&reference, &read_records(file)?),
        None => None,
    };
    let summary = serde_json::json!({"detection": detection, "descriptors": descriptors});
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
