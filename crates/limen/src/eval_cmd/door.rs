//! `limen eval door`: the identification protocol of `eval lfw` run
//! through a live `limen serve` and its public API, beside what `eval lfw`
//! predicts for the same split through the matcher.
//!
//! The service runs as a child process on a loopback port, with SQLite and
//! the file mailer in a scratch directory. An organisation is created with
//! `limen admin`; its admin imports everyone the split puts in the gallery
//! (the enrolled people and the distractors, each with its own ACS id) and
//! invites them; each employee reads the invitation from the outbox,
//! registers, consents and enrols the images the protocol enrols. Then a
//! camera device at an OSDP entrance sends every probe image as its own
//! pass, and the door's answers are counted: a mated probe is a hit only
//! when the door names the right person's ACS id.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::Args;
use limen_eval::identification::{self, FaceTable, Plan, Setup, Trial};
use limen_eval::label_noise;
use limen_eval::people::Person;
use limen_face::FaceModel;
use limen_matcher::{Scoring, SecurityLevel, calibration_for};

use super::door_api::{Api, DoorAnswer, Employee};
use super::door_report::{
    Agreement, Decisions, Disagreement, DoorSide, Prediction, Report, print_tables, share, tally,
};
use crate::progress::Progress;
use crate::serve_child::ServeProcess;

#[derive(Args)]
pub struct DoorArgs {
    /// The LFW folder holding `<Name>/<Name>_NNNN.jpg`.
    #[arg(long)]
    root: PathBuf,
    /// LFW's people.txt listing the people sets.
    #[arg(long)]
    people: PathBuf,
    /// The split (the same as `limen eval lfw --seed`).
    #[arg(long, default_value_t = super::HEADLINE_SEED)]
    seed: u64,
    /// Images each enrolled person enrols with, in one sitting.
    #[arg(long, default_value_t = 1)]
    enrol_images: usize,
    /// Client threads talking to the service at once.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Worker threads for the prediction's descriptors (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    models: crate::ModelsArg,
}

pub fn run(args: DoorArgs) -> anyhow::Result<()> {
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let people: Vec<Person> = super::read_people_sets(&args.people)?
        .into_iter()
        .flatten()
        .collect();
    let set_apart = label_noise::paths(&label_noise::lfw_dev());
    let split = identification::split(&people, args.seed);
    let plan = identification::plan(&people, &set_apart, &split, args.enrol_images);

    let version = FaceModel::DEFAULT;
    let faces = super::faces::compute_one(
        &people,
        &args.root,
        &args.models.source(),
        version,
        args.threads,
    )?;
    let calibration = calibration_for(version.id)
        .with_context(|| format!("{} has no calibration", version.id))?;
    let setup = Setup {
        enrol_images: args.enrol_images,
        scoring: Scoring::HUBNESS,
        pass_frames: 1,
        gates: true,
    };
    let trial = identification::run(
        &people,
        &faces,
        &set_apart,
        &split,
        &setup,
        version,
        calibration,
    );
    let level = SecurityLevel::default();
    let threshold = calibration.threshold(level, trial.gallery_people, 1);

    let door = Door::run(&args, &people, &plan)?;
    let report = compare(&args, &people, &plan, &faces, &trial, threshold, door);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_tables(&report);
    }
    Ok(())
}

/// What the door did with the plan's images.
struct Door {
    gallery_people: usize,
    /// Per enrolled person of the plan, in order: the API's refusal.
    enrolled: Vec<Option<String>>,
    distractors: Vec<Option<String>>,
    /// Per probe, mated first (in plan order), then non-mated.
    answers: Vec<DoorAnswer>,
}

impl Door {
    fn run(args: &DoorArgs, people: &[Person], plan: &Plan) -> anyhow::Result<Door> {
        crate::bench_seed::in_scratch_dir("door", |dir| Door::run_in(args, people, plan, dir))
    }

    fn run_in(args: &DoorArgs, people: &[Person], plan: &Plan, dir: &Path) -> anyhow::Result<Door> {
        let outbox = dir.join("outbox");
        let mut settings: Vec<(&str, OsString)> = vec![
            ("LIMEN_DATA_DIR", dir.join("data").into()),
            (
                "LIMEN_MAIL_URL",
                format!("file:{}", outbox.display()).into(),
            ),
            (
                "LIMEN_DEVICE_FRAMES_PER_MINUTE",
                u32::MAX.to_string().into(),
            ),
            ("LIMEN_LOG", "warn".into()),
        ];
        settings.extend(
            args.models
                .dir()
                .map(|dir| ("LIMEN_MODELS_DIR", dir.into())),
        );
        let server = ServeProcess::start(&settings)?;
        let admin = create_organisation(&settings)?;
        let api = Api::new(&server.url);

        // Everyone the gallery is to hold, with what they enrol.
        let sittings: Vec<(usize, &[String])> = plan
            .enrolled
            .iter()
            .map(|e| (e.person, e.enrolment.as_slice()))
            .chain(
                plan.distractors
                    .iter()
                    .map(|d| (d.person, d.images.as_slice())),
            )
            .collect();
        let names: Vec<(String, String, String)> = sittings
            .iter()
            .map(|&(who, _)| (people[who].name.replace('_', " "), email(who), acs_id(who)))
            .collect();
        let employees: Vec<Employee<'_>> = names
            .iter()
            .map(|(name, email, acs_id)| Employee {
                first_name: "Evaluated",
                last_name: name,
                email,
                acs_id,
            })
            .collect();
        let ids = api.import(&admin, &employees)?;

        let mut refusals = Vec::with_capacity(sittings.len());
        let mut progress = Progress::new("enrolment", sittings.len());
        crate::parallel::map_ordered(
            sittings.len(),
            args.clients,
            |i| -> anyhow::Result<Option<String>> {
                let (who, images) = sittings[i];
                let address = email(who);
                let id = ids.get(&address).context("an imported person is missing")?;
                let session = api.onboard(&admin, id, &address, &outbox)?;
                let frames = images
                    .iter()
                    .map(|p| read_image(&args.root, p))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(api.enrol(&session, &frames)?.err())
            },
            |_, refusal| {
                refusals.push(refusal?);
                progress.advance(1);
                Ok(())
            },
        )?;
        progress.finish();
        let distractors = refusals.split_off(plan.enrolled.len());
        let gallery_people = api.enrolled_people(&admin)?;

        let device = api.device(&admin)?;
        let probes: Vec<&String> = probes(plan).map(|(path, _)| path).collect();
        let mut answers = Vec::with_capacity(probes.len());
        let mut progress = Progress::new("door", probes.len());
        crate::parallel::map_ordered(
            probes.len(),
            args.clients,
            |i| api.frame(&device, &read_image(&args.root, probes[i])?),
            |_, answer| {
                answers.push(answer?);
                progress.advance(1);
                Ok(())
            },
        )?;
        progress.finish();
        drop(server);
        Ok(Door {
            gallery_people,
            enrolled: refusals,
            distractors,
            answers,
        })
    }
}

/// Every probe of the plan with the person it shows when that person is
/// enrolled: mated probes first, then non-mated, as `identification::run`
/// orders them.
fn probes(plan: &Plan) -> impl Iterator<Item = (&String, Option<usize>)> {
    let mated = plan
        .enrolled
        .iter()
        .flat_map(|e| e.probes.iter().map(move |p| (p, Some(e.person))));
    let non_mated = plan
        .absent
        .iter()
        .flat_map(|a| a.images.iter().map(|p| (p, None)));
    mated.chain(non_mated)
}

fn email(who: usize) -> String {
    format!("person{who}@door.test")
}

fn acs_id(who: usize) -> String {
    format!("lfw-{who}")
}

fn read_image(root: &Path, path: &str) -> anyhow::Result<Vec<u8>> {
    let file = root.join(path);
    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))
}

/// `limen admin org create` against the service's data, as an operator
/// does; returns the admin token.
fn create_organisation(settings: &[(&str, OsString)]) -> anyhow::Result<String> {
    let output = Command::new(std::env::current_exe()?)
        .args([
            "admin",
            "org",
            "create",
            "--name",
            "Door evaluation",
            "--json",
        ])
        .env_remove("LIMEN_CONFIG")
        .envs(settings.iter().map(|(k, v)| (k, v)))
        .output()?;
    if !output.status.success() {
        bail!(
            "limen admin org create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let created: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    Ok(created["admin_token"]
        .as_str()
        .context("org create printed no admin token")?
        .to_owned())
}

fn compare(
    args: &DoorArgs,
    people: &[Person],
    plan: &Plan,
    faces: &FaceTable,
    trial: &Trial,
    threshold: f32,
    door: Door,
) -> Report {
    // The prediction's verdict per probe: accepted (the right person for a
    // mated probe, anyone for a non-mated one) within the threshold.
    let mut predicted: HashMap<&str, Option<f32>> = HashMap::new();
    for (path, distance) in trial.mated_probe.iter().zip(&trial.mated) {
        predicted.insert(path, *distance);
    }
    for (path, distance) in trial.non_mated_probe.iter().zip(&trial.non_mated) {
        predicted.insert(path, *distance);
    }
    let accepts = |d: Option<f32>| d.is_some_and(|d| d <= threshold);
    let by_acs: HashMap<String, usize> = plan
        .enrolled
        .iter()
        .map(|e| e.person)
        .chain(plan.distractors.iter().map(|d| d.person))
        .map(|who| (acs_id(who), who))
        .collect();

    let (mut mated, mut non_mated) = (Decisions::default(), Decisions::default());
    let (mut mated_agreement, mut non_mated_agreement) =
        (Agreement::default(), Agreement::default());
    let mut disagreements = Vec::new();
    for ((path, shows), answer) in probes(plan).zip(&door.answers) {
        let counts = if shows.is_some() {
            &mut mated
        } else {
            &mut non_mated
        };
        counts.probes += 1;
        let door_accepts = match answer {
            DoorAnswer::Matched { acs_id } => {
                let right = shows.is_some() && by_acs.get(acs_id) == shows.as_ref();
                if right {
                    counts.right_person += 1;
                } else {
                    counts.someone_else += 1;
                }
                right || shows.is_none()
            }
            DoorAnswer::Unknown => {
                counts.unknown += 1;
                false
            }
            DoorAnswer::PoorQuality => {
                counts.poor_quality += 1;
                false
            }
            DoorAnswer::NoFace => {
                counts.no_face += 1;
                false
            }
        };
        let distance = predicted.get(path.as_str()).copied().flatten();
        let agreement = if shows.is_some() {
            &mut mated_agreement
        } else {
            &mut non_mated_agreement
        };
        match (door_accepts, accepts(distance)) {
            (true, true) => agreement.both_accept += 1,
            (false, false) => agreement.both_refuse += 1,
            (true, false) => agreement.door_only += 1,
            (false, true) => agreement.prediction_only += 1,
        }
        if door_accepts != accepts(distance) {
            disagreements.push(Disagreement {
                probe: path.clone(),
                mated: shows.is_some(),
                door: describe(answer, &by_acs, people),
                predicted_distance: distance,
            });
        }
    }

    // The enrolment check's verdict on each enrolled person's images.
    let enrolment_disagreements = plan
        .enrolled
        .iter()
        .zip(&door.enrolled)
        .filter_map(|(e, refusal)| {
            let usable = e.enrolment.iter().any(|p| {
                faces
                    .get(p)
                    .is_some_and(|f| f.vector.is_some() && f.enrolment_refusal.is_none())
            });
            (usable == refusal.is_some()).then(|| {
                format!(
                    "{}: door {}, enrolment check {}",
                    people[e.person].name,
                    refusal.as_deref().unwrap_or("enrolled"),
                    if usable { "passes" } else { "refuses" }
                )
            })
        })
        .collect();

    let right = trial.mated.iter().filter(|d| accepts(**d)).count();
    let false_matches = trial.non_mated.iter().filter(|d| accepts(**d)).count();
    let prediction = Prediction {
        gallery_people: trial.gallery_people,
        not_enrolled: trial.not_enrolled,
        refused_probes: trial.refused_probes,
        threshold,
        mated: trial.mated.len(),
        right_person: right,
        non_mated: trial.non_mated.len(),
        false_matches,
        fnir: 1.0 - share(right, trial.mated.len()),
        fpir: share(false_matches, trial.non_mated.len()),
    };
    let side = DoorSide {
        gallery_people: door.gallery_people,
        enrolled_people: tally(&door.enrolled),
        distractors: tally(&door.distractors),
        fnir: 1.0 - share(mated.right_person, mated.probes),
        fpir: share(non_mated.someone_else, non_mated.probes),
        mated,
        non_mated,
    };
    Report {
        seed: args.seed,
        enrol_images: args.enrol_images,
        security_level: SecurityLevel::default().as_str(),
        model_version: FaceModel::DEFAULT.id,
        door: side,
        prediction,
        mated_agreement,
        non_mated_agreement,
        enrolment_disagreements,
        disagreements,
    }
}

fn describe(answer: &DoorAnswer, by_acs: &HashMap<String, usize>, people: &[Person]) -> String {
    match answer {
        DoorAnswer::Matched { acs_id } => match by_acs.get(acs_id) {
            Some(&who) => format!("matched {}", people[who].name),
            None => format!("matched unknown ACS id {acs_id}"),
        },
        DoorAnswer::Unknown => "unknown".into(),
        DoorAnswer::PoorQuality => "poor_quality".into(),
        DoorAnswer::NoFace => "no_face".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use limen_eval::identification::{EnrolledPerson, PersonImages};

    #[test]
    fn probes_come_mated_first_in_plan_order() {
        let plan = Plan {
            enrolled: vec![EnrolledPerson {
                person: 3,
                enrolment: vec!["a1".into()],
                probes: vec!["a2".into(), "a3".into()],
            }],
            distractors: vec![],
            absent: vec![PersonImages {
                person: 5,
                images: vec!["b1".into()],
            }],
        };
        let listed: Vec<(&str, Option<usize>)> =
            probes(&plan).map(|(p, who)| (p.as_str(), who)).collect();
        assert_eq!(listed, vec![("a2", Some(3)), ("a3", Some(3)), ("b1", None)]);
    }
}
