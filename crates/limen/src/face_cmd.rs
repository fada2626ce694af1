//! `limen face …`: the face engine from the command line.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use limen_face::{Face, FaceEngine, Rect};
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum FaceCommand {
    /// Print faces, landmarks, quality and 128-d descriptors as JSON lines.
    Embed(EmbedArgs),
    /// Compare the largest face of two images.
    Compare(CompareArgs),
}

#[derive(Args)]
pub struct EmbedArgs {
    /// Print JSON lines (the only output format; kept for explicitness).
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// A file with one image path per line, optionally followed by a tab
    /// and `left,top,right,bottom`: that box is used instead of detection.
    #[arg(long)]
    list: Option<PathBuf>,
    #[command(flatten)]
    models: crate::ModelsArg,
    #[command(flatten)]
    version: crate::ModelVersionArg,
    files: Vec<PathBuf>,
}

#[derive(Args)]
pub struct CompareArgs {
    a: PathBuf,
    b: PathBuf,
    #[command(flatten)]
    models: crate::ModelsArg,
    #[command(flatten)]
    version: crate::ModelVersionArg,
}

pub fn run(cmd: FaceCommand) -> anyhow::Result<()> {
    match cmd {
        FaceCommand::Embed(args) => embed(args),
        FaceCommand::Compare(args) => compare(args),
    }
}

/// One image to embed, with the box to use instead of detection.
struct Job {
    path: PathBuf,
    given_box: Option<Rect>,
}

fn read_list(list: &Path) -> anyhow::Result<Vec<Job>> {
    let file = std::fs::File::open(list).with_context(|| format!("opening {}", list.display()))?;
    let mut jobs = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (path, given_box) = match line.split_once('\t') {
            Some((path, b)) => (
                path,
                Some(parse_box(b).with_context(|| {
                    format!(
                        "{} line {}: box must be left,top,right,bottom",
                        list.display(),
                        n + 1
                    )
                })?),
            ),
            None => (line.as_str(), None),
        };
        jobs.push(Job {
            path: PathBuf::from(path),
            given_box,
        });
    }
    Ok(jobs)
}

fn parse_box(text: &str) -> anyhow::Result<Rect> {
    let v: Vec<i64> = text
        .split(',')
        .map(|s| s.trim().parse::<i64>())
        .collect::<Result<_, _>>()?;
    match v[..] {
        [l, t, r, b] if r >= l && b >= t => Ok(Rect::new(l, t, r, b)),
        _ => bail!("expected four numbers with right >= left and bottom >= top"),
    }
}

fn embed(args: EmbedArgs) -> anyhow::Result<()> {
    let mut jobs = match &args.list {
        Some(list) => read_list(list)?,
        None => Vec::new(),
    };
    jobs.extend(args.files.into_iter().map(|path| Job {
        path,
        given_box: None,
    }));
    if jobs.is_empty() {
        bail!("no images: name files or pass --list");
    }
    let engine = FaceEngine::load(args.models.source(), args.version.get()?)?;
    let threads = args.threads.unwrap_or_else(crate::parallel::all_cores);
    let mut out = std::io::stdout().lock();
    crate::parallel::map_ordered(
        jobs.len(),
        threads,
        |i| embed_one(&engine, &jobs[i]).to_string(),
        |_, line| Ok(writeln!(out, "{line}")?),
    )?;
    out.flush()?;
    Ok(())
}

fn embed_one(engine: &FaceEngine, job: &Job) -> Value {
    let path = job.path.display().to_string();
    let result = std::fs::read(&job.path)
        .map_err(|e| format!("cannot read file: {e}"))
        .and_then(|bytes| {
            let image = limen_face::decode(&bytes).map_err(|e| e.to_string())?;
            Ok(match job.given_box {
                Some(rect) => engine.face_in_box(&image, rect).into_iter().collect(),
                None => engine.faces(&image),
            })
        });
    match result {
        Ok(faces) => {
            let largest = faces.iter().max_by_key(|f| f.rect.area());
            json!({
                "path": path,
                "faces": faces.iter().map(face_json).collect::<Vec<_>>(),
                "embedding": largest.map(|f| f.descriptor.as_slice()),
                "error": null,
            })
        }
        Err(message) => json!({"path": path, "faces": [], "embedding": null, "error": message}),
    }
}

fn face_json(face: &Face) -> Value {
    let q = &face.quality;
    let m = &q.measurements;
    json!({
        "box": [face.rect.left, face.rect.top, face.rect.right, face.rect.bottom],
        "landmarks5": face.landmarks.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>(),
        "score": face.score,
        "quality": {
            "passed": q.passed,
            "issues": q.issues.iter().map(|i| i.code()).collect::<Vec<_>>(),
            "reasons": q.issues.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            "inter_eye_px": m.inter_eye_px,
            "sharpness": m.sharpness,
            "brightness": m.brightness,
            "contrast": m.contrast,
            "yaw_deg": m.yaw_deg,
            "roll_deg": m.roll_deg,
        },
        "embedding": face.descriptor.as_slice(),
    })
}

fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let engine = FaceEngine::load(args.models.source(), args.version.get()?)?;
    let largest = |path: &Path| -> anyhow::Result<Face> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let image = limen_face::decode(&bytes).with_context(|| path.display().to_string())?;
        engine
            .faces(&image)
            .into_iter()
            .max_by_key(|f| f.rect.area())
            .with_context(|| format!("{}: no face found", path.display()))
    };
    let (a, b) = (largest(&args.a)?, largest(&args.b)?);
    let distance = a.descriptor.euclidean_distance(&b.descriptor);
    let limit = engine.model().same_person_distance;
    let same = distance <= limit;
    println!(
        "distance {distance:.4}: {} (threshold {})",
        if same {
            "same person"
        } else {
            "different people"
        },
        limit
    );
    Ok(())
}
