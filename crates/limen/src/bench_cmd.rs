//! `limen bench …`: speed figures, each a ratio against a reference measured
//! in the same run. Never used as a pass/fail test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use limen_face::{FaceEngine, HogFaceDetector, ModelSource, Rect};
use serde::Deserialize;
use serde_json::json;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Descriptor and whole-pipeline time, single thread, against the
    /// reference (dlib through Python `face_recognition`) on the same inputs.
    Face(FaceBenchArgs),
    /// 1:N search time, single thread: the compressed search against the
    /// exact one and the memory bandwidth of one core, and how often both
    /// find the same.
    Matcher {
        /// Gallery sizes (people, one vector each).
        #[arg(default_values_t = [1_000, 10_000, 100_000, 1_000_000])]
        sizes: Vec<usize>,
        /// Probes searched both ways per size for the agreement, half of
        /// them enrolled people, half strangers.
        #[arg(long, default_value_t = 10_000)]
        agreement_probes: usize,
    },
    /// Liveness check time (both networks), single thread, against the
    /// reference (PyTorch, one thread) on the same crops.
    Liveness(crate::bench_liveness::LivenessBenchArgs),
    /// `POST /api/v1/frames` latency and throughput with a large gallery,
    /// over loopback HTTP from several client threads.
    Frames(crate::bench_frames::FramesBenchArgs),
    /// A legitimate device's latency and decisions while others flood the
    /// server with oversized and malformed frames and stalled connections.
    Hostile(crate::bench_hostile::HostileBenchArgs),
    /// Start-up time and memory to load and decrypt a large gallery.
    Galleries(crate::bench_galleries::GalleriesBenchArgs),
    /// Several instances on one PostgreSQL: how fast a withdrawal reaches
    /// them all, and frames per second against one instance.
    Instances(crate::bench_instances::InstancesBenchArgs),
}

#[derive(Args)]
pub struct FaceBenchArgs {
    /// The Python of the reference's virtual environment
    /// (`shared/tools/peer/setup.sh` makes one at /tmp/limen-peer).
    #[arg(long, default_value = "/tmp/limen-peer/bin/python")]
    reference_python: PathBuf,
    /// The Python of the Open Model Zoo reference's virtual environment
    /// (`tools/omz_reference/setup.sh` makes one at /tmp/limen-omz-ref).
    #[arg(long, default_value = "/tmp/limen-omz-ref/bin/python")]
    omz_reference_python: PathBuf,
    /// A 640×480 JPEG with one face, for the whole pipeline.
    #[arg(long, default_value = "bench/frame-640x480.jpg")]
    frame: PathBuf,
    /// An image and the face box in it, for the descriptor alone.
    #[arg(
        long,
        default_value = "crates/face/tests/fixtures/lfw/Abba_Eban_0001.jpg"
    )]
    face: PathBuf,
    #[arg(long, default_value = "67,80,175,187")]
    face_box: String,
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    #[command(flatten)]
    models: crate::ModelsArg,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Face(args) => face(args),
        BenchCommand::Matcher {
            sizes,
            agreement_probes,
        } => {
            crate::bench_matcher::run(&sizes, agreement_probes);
            Ok(())
        }
        BenchCommand::Frames(args) => crate::bench_frames::frames(args),
        BenchCommand::Hostile(args) => crate::bench_hostile::hostile(args),
        BenchCommand::Galleries(args) => crate::bench_galleries::galleries(args),
        BenchCommand::Instances(args) => crate::bench_instances::instances(args),
        BenchCommand::Liveness(args) => crate::bench_liveness::liveness(args),
    }
}

/// Median milliseconds of `f` over `n` runs after one warm-up run.
pub fn median_ms(n: usize, f: impl FnMut()) -> f64 {
    let times = times_ms(n, f);
    times[times.len() / 2]
}

/// Milliseconds of each of `n` runs of `f` after one warm-up run, sorted.
pub fn times_ms(n: usize, mut f: impl FnMut()) -> Vec<f64> {
    f();
    let mut times: Vec<f64> = (0..n.max(1))
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

#[derive(Deserialize)]
struct ReferenceTimes {
    descriptor_ms: f64,
    pipeline_ms: f64,
    pipeline_faces: usize,
}

fn reference(args: &FaceBenchArgs) -> anyhow::Result<ReferenceTimes> {
    let mut command = Command::new(&args.reference_python);
    command
        .arg(repository_file("bench/reference.py"))
        .args(["--frame".as_ref(), args.frame.as_os_str()])
        .args(["--face".as_ref(), args.face.as_os_str()])
        .args(["--box", &args.face_box])
        .args(["--iterations", &args.iterations.to_string()])
        // dlib is single-threaded; keep numpy's BLAS from spreading too.
        .env("OPENBLAS_NUM_THREADS", "1");
    run_reference(command)
}

/// A file of this repository, wherever the binary is run from.
pub fn repository_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Runs a reference script and reads the JSON it prints.
pub fn run_reference<T: serde::de::DeserializeOwned>(mut command: Command) -> anyhow::Result<T> {
    let out = command
        .output()
        .with_context(|| format!("running {}", command.get_program().to_string_lossy()))?;
    if !out.status.success() {
        bail!(
            "reference failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Four comma-separated integers.
pub fn parse_box(text: &str) -> anyhow::Result<[i64; 4]> {
    let coords: Vec<i64> = text
        .split(',')
        .map(|v| v.trim().parse())
        .collect::<Result<_, _>>()?;
    coords[..]
        .try_into()
        .map_err(|_| anyhow::anyhow!("a box is four comma-separated integers: {text}"))
}

fn face(args: FaceBenchArgs) -> anyhow::Result<()> {
    // The Open Model Zoo reference reads the files: Limen loads the same.
    let models_dir = args
        .models
        .dir()
        .map_or_else(|| repository_file("models"), Path::to_owned);
    let models = ModelSource::Dir(models_dir.clone());
    // dlib's own descriptor, to compare like with like with the reference.
    let engine = FaceEngine::load(&models, limen_face::FaceModel::DLIB_RESNET_V1)?;
    // The reference's detector settings, for the like-for-like pipeline.
    let detector = HogFaceDetector::from_bytes(&limen_face::models::read_verified(
        &models,
        limen_face::models::HOG_DETECTOR,
    )?)?;
    let face_bytes = std::fs::read(&args.face).with_context(|| args.face.display().to_string())?;
    let frame_bytes =
        std::fs::read(&args.frame).with_context(|| args.frame.display().to_string())?;
    let face_image = limen_face::decode(&face_bytes)?;
    let [l, t, r, b] = parse_box(&args.face_box).context("--face-box is left,top,right,bottom")?;
    let rect = Rect::new(l, t, r, b);

    let descriptor_ms = median_ms(args.iterations, || {
        std::hint::black_box(engine.face_in_box(&face_image, rect));
    });
    let mut pipeline_faces = 0;
    let pipeline_ms = median_ms(args.iterations, || {
        let faces = limen_face::decode(&frame_bytes).map(|img| engine.faces(&img));
        pipeline_faces = faces.map_or(0, |f| f.len());
    });
    // As the reference: always one upsampling, then every face described.
    let mut upsampled_faces = 0;
    let upsampled_ms = median_ms(args.iterations, || {
        if let Ok(img) = limen_face::decode(&frame_bytes) {
            let faces: Vec<_> = detector
                .detect(&img, 1)
                .into_iter()
                .filter_map(|d| engine.face_in_box(&img, d.rect))
                .collect();
            upsampled_faces = faces.len();
        }
    });
    // A frame in which the agent tracks the face found in the previous one.
    let frame = limen_face::decode(&frame_bytes)?;
    let tracked = engine
        .finder()
        .find(&frame)
        .first()
        .map(|f| f.rect)
        .context("no face in the benchmark frame")?;
    let whole_find_ms = median_ms(args.iterations, || {
        std::hint::black_box(engine.finder().find(&frame));
    });
    let mut tracked_found = 0;
    let tracked_find_ms = median_ms(args.iterations, || {
        tracked_found = engine.finder().find_near(&frame, tracked).len();
    });
    let reference = reference(&args)?;
    let omz = crate::bench_omz::OmzBench {
        models: &models_dir,
        reference_python: &args.omz_reference_python,
        face: &args.face,
        face_box: &args.face_box,
        image: &face_image,
        rect,
        iterations: args.iterations,
    }
    .run()?;
    let flops = engine.descriptor_flops() as f64;
    let peak = crate::peak::single_core_f32_gflops();
    let effective = flops / (descriptor_ms * 1e6);
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "iterations": args.iterations,
            "threads": 1,
            "descriptor": {
                "limen_ms": descriptor_ms,
                "reference_ms": reference.descriptor_ms,
                "speedup": reference.descriptor_ms / descriptor_ms,
                "direct_method_flops": flops,
                "effective_gflops": effective,
                "single_core_peak_gflops": peak,
                "effective_share_of_peak": effective / peak,
            },
            "omz_reid_0095_descriptor": omz,
            "pipeline_640x480": {
                "limen_ms": pipeline_ms,
                "reference_ms": reference.pipeline_ms,
                "speedup": reference.pipeline_ms / pipeline_ms,
                "limen_faces": pipeline_faces,
                "reference_faces": reference.pipeline_faces,
            },
            "pipeline_640x480_one_upsampling": {
                "limen_ms": upsampled_ms,
                "reference_ms": reference.pipeline_ms,
                "speedup": reference.pipeline_ms / upsampled_ms,
                "limen_faces": upsampled_faces,
            },
            "find_640x480": {
                "whole_frame_ms": whole_find_ms,
                "near_tracked_face_ms": tracked_find_ms,
                "tracked_face": [tracked.left, tracked.top, tracked.right, tracked.bottom],
                "faces_found_near_it": tracked_found,
                "whole_over_near": whole_find_ms / tracked_find_ms,
            },
        }))?
    );
    Ok(())
}
