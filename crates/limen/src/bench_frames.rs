//! `limen bench frames`: the frame endpoint as a device sees it, on this
//! machine, over loopback HTTP.
//!
//! The app runs in this process (the same router and services as
//! `limen serve`), on a throw-away SQLite database in a scratch directory.
//! One organisation has an OSDP entrance and one device per client thread,
//! and `--gallery` people with a random unit vector each (seeded in the
//! store, loaded by the services at start). A face photo is ~1.4 from
//! every such vector, so each frame takes the whole path (decode, detect,
//! landmarks, descriptor, the galleries' currency check, a full 1:N scan)
//! and is decided `unknown`: no access system is involved.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use limen_domain::ModelVersion;
use limen_server::AppState;
use limen_server::config::Config;
use limen_server::mailer::Mailer;
use limen_services::{ModelLibrary, Services};
use serde_json::json;

#[derive(Args)]
pub struct FramesBenchArgs {
    /// A JPEG face crop, as an agent sends it.
    #[arg(
        long,
        default_value = "crates/limen/tests/fixtures/lfw/Andre_Agassi_0005.jpg"
    )]
    frame: PathBuf,
    /// People in the organisation's gallery.
    #[arg(long, default_value_t = 10_000)]
    gallery: usize,
    /// Frames sent in all (after one warm-up frame per client).
    #[arg(long, default_value_t = 200)]
    frames: usize,
    /// Client threads, each with its own device, sending one frame at a time.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Measures a model transition: the gallery's people enrolled with
    /// this version, the default one activated, half of them renewed, so
    /// that every frame is read by both versions.
    #[arg(long)]
    transition_from: Option<String>,
    #[command(flatten)]
    models: crate::ModelsArg,
}

pub fn frames(args: FramesBenchArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.frames == 0 {
        bail!("--clients and --frames must be at least 1");
    }
    let frame = std::fs::read(&args.frame).with_context(|| args.frame.display().to_string())?;
    let report = crate::bench_seed::in_scratch_dir("frames", |dir| run(&args, &frame, dir))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn run(
    args: &FramesBenchArgs,
    frame: &[u8],
    dir: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let app = start_app(
        &args.models,
        dir,
        args.gallery,
        args.clients,
        0x11AE,
        args.transition_from.as_deref(),
        &[],
    )?;
    let url = format!("http://{}/api/v1/frames", app.address);
    let tokens = &app.device_tokens;
    let per_client = args.frames.div_ceil(args.clients);
    let started = Instant::now();
    let mut latencies_ms: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = tokens
            .iter()
            .map(|token| scope.spawn(|| client(&url, token, frame, per_client)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().map_err(|_| anyhow::anyhow!("a client panicked"))?)
            .collect::<anyhow::Result<Vec<Vec<f64>>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    let elapsed = started.elapsed().as_secs_f64();
    app.runtime.shutdown_background();
    latencies_ms.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        let index = ((latencies_ms.len() as f64 - 1.0) * p).round() as usize;
        latencies_ms[index]
    };
    Ok(json!({
        "gallery": args.gallery,
        "model_versions_in_use": match &args.transition_from {
            Some(old) => json!([limen_face::FaceModel::DEFAULT.id, old]),
            None => json!([limen_face::FaceModel::DEFAULT.id]),
        },
        "gallery_source": "people with one random unit vector each, seeded in the store and loaded at start",
        "clients": args.clients,
        "frames": latencies_ms.len(),
        "frame_bytes": frame.len(),
        "decision": "unknown (full pipeline and full 1:N scan, no access system)",
        "latency_ms": { "p50": percentile(0.5), "p99": percentile(0.99) },
        "frames_per_second": latencies_ms.len() as f64 / elapsed,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
    }))
}

/// The app of `limen serve` running in this process on loopback.
pub struct BenchApp {
    pub runtime: tokio::runtime::Runtime,
    pub address: std::net::SocketAddr,
    /// One device per `devices`, all at one OSDP entrance.
    pub device_tokens: Vec<String>,
}

/// Starts the app on a throw-away SQLite database in `dir`, with one
/// organisation of `gallery` people (random unit vectors from `seed`) and
/// `devices` devices, without a device rate limit; `env` adds settings.
pub fn start_app(
    models: &crate::ModelsArg,
    dir: &std::path::Path,
    gallery: usize,
    devices: usize,
    seed: u64,
    transition_from: Option<&str>,
    env: &[(&str, String)],
) -> anyhow::Result<BenchApp> {
    let data_dir = dir.display().to_string();
    let config = Config::from_sources(None, "", |name| match name {
        "LIMEN_DATA_DIR" => Some(data_dir.clone()),
        "LIMEN_BIND" => Some("127.0.0.1:0".to_owned()),
        "LIMEN_DEVICE_FRAMES_PER_MINUTE" => Some(u32::MAX.to_string()),
        other => env
            .iter()
            .find(|(k, _)| *k == other)
            .map(|(_, v)| v.clone()),
    })?;
    let default = limen_face::FaceModel::DEFAULT;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (address, device_tokens) = runtime.block_on(async {
        let store = crate::bench_seed::open_store(&config.database_url).await?;
        let active = ModelVersion::new(default.id);
        let enrolled = transition_from.map_or_else(|| active.clone(), ModelVersion::new);
        store.start_model_rollout(&enrolled).await?;
        let seeded = crate::bench_seed::seed(&store, &enrolled, gallery, 1, devices, seed).await?;
        if enrolled != active {
            // Half the people renewed: both versions' galleries hold
            // someone, so every frame is read by both.
            let at = limen_domain::now();
            let entry = crate::bench_seed::seeded(&seeded.org);
            store
                .activate_model(&entry, &active, at, at + 86_400, &[])
                .await??;
            let mut rng = limen_eval::rng::SplitMix64::new(0x7A11);
            for person in seeded.people.iter().step_by(2) {
                let vector = limen_domain::FaceVector::new(crate::bench_seed::random_unit_vector(
                    &mut rng,
                    default.dimensions,
                ))?;
                store
                    .replace_vectors(&entry, person, &active, &[vector])
                    .await?;
            }
        }
        let mut services = Services::start(
            store,
            ModelLibrary::new(models.source(), default),
            config.retention.clone(),
        )
        .await?;
        if let Some(workers) = config.engine_workers {
            services = services.with_engine_workers(workers);
        }
        let mailer = Mailer::from_url(&config.mail_url, &config.mail_from)?;
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let address = listener.local_addr()?;
        let state = Arc::new(AppState::new(config, services, mailer));
        tokio::spawn(limen_server::serve(
            state,
            limen_server::Listeners {
                service: listener,
                tls: None,
                metrics: None,
            },
        ));
        anyhow::Ok((address, seeded.device_tokens))
    })?;
    Ok(BenchApp {
        runtime,
        address,
        device_tokens,
    })
}

/// Sends `count` frames one after another (after one warm-up); returns
/// each round trip in milliseconds.
pub fn client(url: &str, token: &str, frame: &[u8], count: usize) -> anyhow::Result<Vec<f64>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let authorization = format!("Bearer {token}");
    let send = || -> anyhow::Result<f64> {
        let t0 = Instant::now();
        let mut response = agent
            .post(url)
            .header("Authorization", &authorization)
            .header("Content-Type", "image/jpeg")
            .send(frame)?;
        let body = response.body_mut().read_to_string()?;
        let elapsed = t0.elapsed().as_secs_f64() * 1e3;
        if response.status() != 200 || !body.contains("\"decision\"") {
            bail!("unexpected answer {}: {body}", response.status());
        }
        Ok(elapsed)
    };
    send()?;
    (0..count).map(|_| send()).collect()
}
