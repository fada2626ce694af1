//! The per-face cost of the Open Model Zoo model version for `limen bench
//! face`: aligner, aligned crop and re-identification network on the
//! benchmark face, against the same networks in ONNX Runtime with OpenCV's
//! crops (`tools/omz_reference/timing.py`), both on one thread.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use limen_face::omz::OmzReid;
use limen_face::{Rect, RgbImage};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bench_cmd::median_ms;

#[derive(Deserialize)]
struct ReferenceTimes {
    face_ms: f64,
    network_ms: f64,
}

fn reference(
    python: &Path,
    models: &Path,
    face: &Path,
    face_box: &str,
    iterations: usize,
) -> anyhow::Result<ReferenceTimes> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/omz_reference/timing.py");
    let out = Command::new(python)
        .arg(&script)
        .args(["--models".as_ref(), models.join("intel").as_os_str()])
        .args(["--face".as_ref(), face.as_os_str()])
        .args(["--box", face_box])
        .args(["--iterations", &iterations.to_string()])
        .env("OMP_NUM_THREADS", "1")
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "Open Model Zoo reference failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The figures for the face in `rect` of `image` (decoded from `face`).
pub struct OmzBench<'a> {
    pub models: &'a Path,
    pub reference_python: &'a Path,
    pub face: &'a Path,
    pub face_box: &'a str,
    pub image: &'a RgbImage,
    pub rect: Rect,
    pub iterations: usize,
}

impl OmzBench<'_> {
    pub fn run(&self) -> anyhow::Result<Value> {
        let nets = OmzReid::load(self.models)?;
        let points = nets
            .landmarks(self.image, self.rect)
            .context("no aligner region for the benchmark face")?;
        let chip = nets
            .chip(self.image, &points)
            .context("degenerate points on the benchmark face")?;
        let face_ms = median_ms(self.iterations, || {
            std::hint::black_box(nets.describe(self.image, self.rect));
        });
        let network_ms = median_ms(self.iterations, || {
            std::hint::black_box(nets.network_output(&chip));
        });
        let reference = reference(
            self.reference_python,
            self.models,
            self.face,
            self.face_box,
            self.iterations,
        )?;
        let flops = 2.0 * nets.multiply_adds() as f64;
        Ok(json!({
            "face_ms": face_ms,
            "network_ms": network_ms,
            "reference_face_ms": reference.face_ms,
            "reference_network_ms": reference.network_ms,
            "speedup": reference.face_ms / face_ms,
            "flops": flops,
            "gflops": flops / (face_ms * 1e6),
        }))
    }
}
