//! `limen eval …`: accuracy protocols (see the `limen-eval` crate).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Deserialize;

#[derive(Subcommand)]
pub enum EvalCommand {
    /// Verification and open-set 1:N identification on LFW people sets.
    ///
    /// Verification: for each people set, 300 genuine and 300 impostor
    /// pairs drawn with the seed; each set in turn is tested with the
    /// distance threshold that is best on the other sets (leave one set
    /// out). Identification: people with two or more images are split in
    /// half by the seed; the first half is enrolled with its first image
    /// (other images are mated probes), the second half is absent (its
    /// images are non-mated probes); people with one image are gallery
    /// distractors. Reports rank-1 and FNIR at FPIR 1% and 0.1%. A face
    /// that is not found counts as an error throughout.
    Lfw(LfwArgs),
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
    /// `peer_embed.py` print) instead of computing them.
    #[arg(long)]
    embeddings: Option<PathBuf>,
    /// Pairs of each kind per set.
    #[arg(long, default_value_t = 300)]
    pairs: usize,
    #[arg(long, default_value_t = 20261126)]
    seed: u64,
    /// Worker threads when computing descriptors (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    models: crate::ModelsArg,
}

pub fn run(cmd: EvalCommand) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Lfw(args) => lfw(args),
        EvalCommand::Agreement(args) => agreement(args),
        EvalCommand::Liveness(args) => crate::eval_liveness::liveness(args),
    }
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

fn lfw(args: LfwArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.people)
        .with_context(|| format!("reading {}", args.people.display()))?;
    let sets = limen_eval::people::parse(&text)?;
    let embeddings = match &args.embeddings {
        Some(file) => read_embeddings(file, &args.root)?,
        None => compute_embeddings(&sets, &args)?,
    };
    let verification =
        limen_eval::verification::evaluate(&sets, &embeddings, args.pairs, args.seed);
    let identification = limen_eval::identification::evaluate(&sets, &embeddings, args.seed);
    let summary = serde_json::json!({
        "people_sets": sets.len(),
        "images": sets.iter().flatten().map(|p| p.images).sum::<usize>(),
        "faces_found": embeddings.len(),
        "seed": args.seed,
        "verification": verification,
        "identification": identification,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// The largest face's descriptor of every image of every person.
fn compute_embeddings(
    sets: &[Vec<limen_eval::people::Person>],
    args: &LfwArgs,
) -> anyhow::Result<HashMap<String, Vec<f32>>> {
    let engine = limen_face::FaceEngine::load(&args.models.dir())?;
    let paths: Vec<String> = sets
        .iter()
        .flatten()
        .flat_map(|p| p.image_paths())
        .collect();
    let mut out = HashMap::new();
    crate::parallel::map_ordered(
        paths.len(),
        args.threads.unwrap_or_else(crate::parallel::all_cores),
        |i| {
            let bytes = std::fs::read(args.root.join(&paths[i])).ok()?;
            let image = limen_face::decode(&bytes).ok()?;
            let faces = engine.faces(&image);
            let largest = faces.iter().max_by_key(|f| f.rect.area())?;
            Some(largest.descriptor.as_slice().to_vec())
        },
        |i, embedding| {
            if let Some(v) = embedding {
                out.insert(paths[i].clone(), v);
            }
            Ok(())
        },
    )?;
    eprintln!("{} of {} images gave a face", out.len(), paths.len());
    Ok(out)
}

#[derive(Deserialize)]
struct EmbeddingLine {
    path: String,
    embedding: Option<Vec<f32>>,
}

/// Descriptors keyed by their path relative to `root`; images without a
/// face are left out.
fn read_embeddings(file: &Path, root: &Path) -> anyhow::Result<HashMap<String, Vec<f32>>> {
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let mut out = HashMap::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let row: EmbeddingLine = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}", file.display(), n + 1))?;
        if let Some(v) = row.embedding {
            out.insert(relative_key(&row.path, root), v);
        }
    }
    Ok(out)
}

/// `…/lfw/Name/Name_0001.jpg` → `Name/Name_0001.jpg`.
fn relative_key(path: &str, root: &Path) -> String {
    let p = Path::new(path);
    if let Ok(rel) = p.strip_prefix(root) {
        return rel.to_string_lossy().into_owned();
    }
    let parts: Vec<_> = p.components().rev().take(2).collect();
    parts
        .iter()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
