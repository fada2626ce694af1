//! `limen bench liveness`: the cost of one liveness check on one core,
//! against the reference (PyTorch, one thread) on the same crops. Medians,
//! and the fastest run of each side, which is what an idle core gives when
//! the machine is shared.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use clap::Args;
use limen_face::liveness::{LivenessChecker, NETWORKS, ReferenceBox, network_input};
use serde::Deserialize;
use serde_json::json;

use crate::bench_cmd::{median_ms, parse_box, repository_file, run_reference, times_ms};

#[derive(Args)]
pub struct LivenessBenchArgs {
    /// The Python of the liveness reference's environment
    /// (`tools/liveness/setup.sh` makes one at /tmp/limen-liveness-ref).
    #[arg(long, default_value = "/tmp/limen-liveness-ref/bin/python")]
    reference_python: PathBuf,
    /// A frame with a face.
    #[arg(
        long,
        default_value = "crates/face/tests/fixtures/liveness/sample-image_T1.jpg"
    )]
    frame: PathBuf,
    /// The face's box as upstream's detector draws it: x,y,width,height.
    #[arg(long, default_value = "106,147,207,213")]
    face_box: String,
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    #[command(flatten)]
    models: crate::ModelsArg,
}

#[derive(Deserialize)]
struct ReferenceLine {
    network_ms: f64,
    network_best_ms: f64,
    live_score: f64,
}

pub fn liveness(args: LivenessBenchArgs) -> anyhow::Result<()> {
    let checker = LivenessChecker::load(args.models.source())?;
    let bytes = std::fs::read(&args.frame).with_context(|| args.frame.display().to_string())?;
    let image = limen_face::decode(&bytes)?;
    let [x, y, width, height] =
        parse_box(&args.face_box).context("--face-box is x,y,width,height")?;
    let face = ReferenceBox {
        x,
        y,
        width,
        height,
    };
    let inputs = NETWORKS
        .iter()
        .map(|&(_, scale)| network_input(&image, face, scale))
        .collect::<Result<Vec<_>, _>>()?;

    let networks = times_ms(args.iterations, || {
        for (i, input) in inputs.iter().enumerate() {
            std::hint::black_box(checker.network_probabilities(i, input));
        }
    });
    let networks_ms = networks[networks.len() / 2];
    let check_ms = median_ms(args.iterations, || {
        std::hint::black_box(checker.check_box(&image, face).ok());
    });
    let live_score = checker.check_box(&image, face)?.live_score();

    let mut command = Command::new(&args.reference_python);
    command
        .arg(repository_file("tools/liveness/reference.py"))
        .args(["--time", &args.iterations.to_string()])
        .args(["--box", &args.face_box])
        .arg(&args.frame)
        .env("OMP_NUM_THREADS", "1");
    let reference: ReferenceLine = run_reference(command)?;

    let flops = 2.0 * checker.multiply_adds() as f64;
    let peak = crate::peak::single_core_f32_gflops();
    let achieved = flops / (networks_ms * 1e6);
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "iterations": args.iterations,
            "threads": 1,
            "both_networks": {
                "limen_ms": networks_ms,
                "reference_ms": reference.network_ms,
                "speedup": reference.network_ms / networks_ms,
                "limen_best_ms": networks[0],
                "reference_best_ms": reference.network_best_ms,
                "speedup_best": reference.network_best_ms / networks[0],
                "flops": flops,
                "limen_gflops": achieved,
                "single_core_peak_gflops": peak,
                "share_of_peak": achieved / peak,
            },
            "check_with_crops_ms": check_ms,
            "live_score": { "limen": live_score, "reference": reference.live_score },
        }))?
    );
    Ok(())
}
