//! Every lfw-dev image's largest face as each model version sees it, with
//! the verdicts of the enrolment and entrance checks, computed in parallel
//! or read from a JSON-lines file of another implementation's descriptors.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;
use limen_eval::identification::{FaceTable, ImageFace};
use limen_eval::people::Person;
use limen_face::{
    Descriptor, EntranceFrame, FaceEngine, FaceModel, FrameProblem, ModelSource, enrolment_face,
    entrance_face,
};
use serde::Deserialize;

use crate::progress::Progress;

/// The faces of every image of `people` under `root`, for each version.
pub fn compute(
    people: &[Person],
    root: &Path,
    models: &ModelSource,
    versions: &[FaceModel],
    threads: usize,
) -> anyhow::Result<Vec<FaceTable>> {
    let engines = versions
        .iter()
        .map(|&v| FaceEngine::load(models, v))
        .collect::<Result<Vec<_>, _>>()?;
    let paths: Vec<String> = people.iter().flat_map(|p| p.image_paths()).collect();
    let mut tables: Vec<FaceTable> = versions.iter().map(|_| FaceTable::new()).collect();
    let mut progress = Progress::new("faces", paths.len());
    crate::parallel::map_ordered(
        paths.len(),
        threads,
        |i| {
            let bytes = std::fs::read(root.join(&paths[i])).ok();
            let image = bytes.and_then(|b| limen_face::decode(&b).ok());
            engines
                .iter()
                .map(|engine| image.as_ref().map(|image| read(engine, image)))
                .collect::<Vec<_>>()
        },
        |i, per_version| {
            for (table, face) in tables.iter_mut().zip(per_version) {
                if let Some(face) = face {
                    table.insert(paths[i].clone(), face);
                }
            }
            progress.advance(1);
            Ok(())
        },
    )?;
    progress.finish();
    Ok(tables)
}

/// The faces of every image of `people` as one version sees them.
pub fn compute_one(
    people: &[Person],
    root: &Path,
    models: &ModelSource,
    version: FaceModel,
    threads: Option<usize>,
) -> anyhow::Result<FaceTable> {
    compute(
        people,
        root,
        models,
        &[version],
        threads.unwrap_or_else(crate::parallel::all_cores),
    )?
    .pop()
    .context("no faces table")
}

fn read(engine: &FaceEngine, image: &limen_face::RgbImage) -> ImageFace {
    let faces = engine.faces(image);
    let vector = faces
        .iter()
        .max_by_key(|f| f.rect.area())
        .map(|f| f.descriptor.clone());
    let enrolment_refusal = enrolment_face(faces.clone())
        .err()
        .map(|problem| match problem {
            FrameProblem::PoorQuality(issues) => codes(&issues),
            other => other.code().to_owned(),
        });
    let entrance_refusal = match entrance_face(faces) {
        EntranceFrame::Face(_) => None,
        EntranceFrame::NoFace => Some("no_face".to_owned()),
        EntranceFrame::PoorQuality(issues) => Some(codes(&issues)),
    };
    ImageFace {
        vector,
        enrolment_refusal,
        entrance_refusal,
    }
}

fn codes(issues: &[limen_face::QualityIssue]) -> String {
    issues
        .iter()
        .map(|i| i.code())
        .collect::<Vec<_>>()
        .join("+")
}

#[derive(Deserialize)]
struct EmbeddingLine {
    path: String,
    embedding: Option<Vec<f32>>,
}

/// Descriptors of another implementation, keyed by path relative to
/// `root`; its faces are not judged (no refusals).
pub fn read_embeddings(file: &Path, root: &Path) -> anyhow::Result<FaceTable> {
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
        let vector = match row.embedding {
            Some(values) => {
                let expected = FaceModel::DLIB_RESNET_V1.dimensions;
                if values.len() != expected {
                    anyhow::bail!(
                        "{} line {}: {} numbers, dlib's descriptors have {expected}",
                        file.display(),
                        n + 1,
                        values.len()
                    );
                }
                Some(Descriptor::from_vec(values))
            }
            None => None,
        };
        out.insert(
            relative_key(&row.path, root),
            ImageFace {
                vector,
                enrolment_refusal: None,
                entrance_refusal: None,
            },
        );
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

/// The vectors alone, for the verification protocol.
pub fn vectors(table: &FaceTable) -> HashMap<String, Vec<f32>> {
    table
        .iter()
        .filter_map(|(path, face)| Some((path.clone(), face.vector.as_ref()?.as_slice().to_vec())))
        .collect()
}
