//! `limen bench instances`: several instances on one PostgreSQL database.
//!
//! 1. Propagation. `--instances` services in this process, each with its
//!    own connections, listener and galleries, on one database seeded with
//!    `--people` people. A withdrawal on the first; the time until every
//!    other instance's gallery no longer holds the face, driven by the
//!    database's announcement alone (no frame asks). The reference, in the
//!    same run: the withdrawal call itself on the first instance (its store
//!    transaction and its own gallery). A frame reaching any instance after
//!    the withdrawal returned is refused whatever this figure: each reads
//!    the sequence head before it searches.
//! 2. Throughput. `limen serve` processes on that database, one device per
//!    client thread, clients spread over the instances, every frame a full
//!    pipeline and scan decided `unknown`: frames per second with
//!    `--instances` processes against one process, in the same run.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use limen_domain::ModelVersion;
use limen_face::FaceEngine;
use limen_services::{ModelLibrary, Retention, Services};
use serde_json::json;

use crate::serve_child::ServeProcess;

#[derive(Args)]
pub struct InstancesBenchArgs {
    /// An empty PostgreSQL database.
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 3)]
    instances: usize,
    #[arg(long, default_value_t = 10_000)]
    people: usize,
    /// Withdrawals timed for propagation.
    #[arg(long, default_value_t = 50)]
    withdrawals: usize,
    /// Frames sent in each throughput run.
    #[arg(long, default_value_t = 300)]
    frames: usize,
    /// Client threads, each with its own device.
    #[arg(long, default_value_t = 6)]
    clients: usize,
    /// A JPEG face crop, as an agent sends it.
    #[arg(
        long,
        default_value = "crates/limen/tests/fixtures/lfw/Andre_Agassi_0005.jpg"
    )]
    frame: std::path::PathBuf,
    #[command(flatten)]
    models: crate::ModelsArg,
}

pub fn instances(args: InstancesBenchArgs) -> anyhow::Result<()> {
    if !args.database_url.starts_with("postgres") {
        bail!("--database-url must be a PostgreSQL database: SQLite serves one instance");
    }
    if args.instances < 2 || args.clients == 0 || args.withdrawals > args.people {
        bail!("at least 2 instances and 1 client, and no more withdrawals than people");
    }
    let frame = std::fs::read(&args.frame).with_context(|| args.frame.display().to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let engine = Arc::new(FaceEngine::load(
        args.models.source(),
        limen_face::FaceModel::DEFAULT,
    )?);
    let (propagation, tokens) = runtime.block_on(propagation(&args, engine))?;
    let throughput = crate::bench_seed::in_scratch_dir("instances", |dir| {
        let one = throughput(&args, dir, &frame, &tokens, 1)?;
        let many = throughput(&args, dir, &frame, &tokens, args.instances)?;
        anyhow::Ok(json!({
            "frames": args.frames,
            "clients": args.clients,
            "one_instance_frames_per_second": one,
            "instances_frames_per_second": many,
            "instances_over_one": many / one,
        }))
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "instances": args.instances,
            "people": args.people,
            "propagation": propagation,
            "throughput": throughput?,
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        }))?
    );
    Ok(())
}

async fn propagation(
    args: &InstancesBenchArgs,
    engine: Arc<FaceEngine>,
) -> anyhow::Result<(serde_json::Value, Vec<String>)> {
    let store = crate::bench_seed::open_store(&args.database_url).await?;
    let model = ModelVersion::new(engine.model().id);
    let seeded =
        crate::bench_seed::seed(&store, &model, args.people, 1, args.clients, 0x1257).await?;
    let mut instances = Vec::with_capacity(args.instances);
    for _ in 0..args.instances {
        let store = crate::bench_seed::open_store(&args.database_url).await?;
        instances.push(
            Services::start(
                store,
                ModelLibrary::with_engine(args.models.source(), engine.clone()),
                Retention::default(),
            )
            .await?,
        );
    }
    let org = &seeded.org;
    let mut call_ms = Vec::new();
    let mut last_other_ms = Vec::new();
    for person in seeded.people.iter().take(args.withdrawals) {
        let remaining = instances[0].gallery_len(org) - 1;
        let started = Instant::now();
        instances[0].withdraw_consent(person).await?;
        call_ms.push(started.elapsed().as_secs_f64() * 1e3);
        while instances[1..]
            .iter()
            .any(|i| i.gallery_len(org) != remaining)
        {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("an instance did not apply a withdrawal within 10 s");
            }
            tokio::task::yield_now().await;
        }
        last_other_ms.push(started.elapsed().as_secs_f64() * 1e3);
        // Settled before the next: the instances' own lag is not summed.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for instance in &instances {
        instance.shutdown().await;
    }
    store.close().await;
    Ok((
        json!({
            "withdrawals": call_ms.len(),
            "withdrawal_call_ms": summary(&mut call_ms),
            "until_last_other_instance_ms": summary(&mut last_other_ms),
        }),
        seeded.device_tokens,
    ))
}

fn summary(values: &mut [f64]) -> serde_json::Value {
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() as f64 - 1.0) * p).round() as usize];
    json!({ "p50": at(0.5), "p95": at(0.95), "max": at(1.0) })
}

/// Frames per second through `count` `limen serve` processes.
fn throughput(
    args: &InstancesBenchArgs,
    dir: &Path,
    frame: &[u8],
    tokens: &[String],
    count: usize,
) -> anyhow::Result<f64> {
    let key_file = dir.join("master.key");
    if !key_file.exists() {
        write_private(&key_file, &crate::bench_seed::master_key_bytes())?;
    }
    let mut servers = Vec::with_capacity(count);
    for n in 0..count {
        let data_dir = dir.join(format!("instance-{n}"));
        let mut settings = vec![
            ("LIMEN_DATA_DIR", data_dir.clone().into()),
            ("LIMEN_DATABASE_URL", args.database_url.clone().into()),
            ("LIMEN_MASTER_KEY_FILE", key_file.clone().into()),
            (
                "LIMEN_MAIL_URL",
                format!("file:{}", data_dir.join("outbox").display()).into(),
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
        servers.push(ServeProcess::start(&settings)?);
    }
    let per_client = args.frames.div_ceil(tokens.len());
    let started = Instant::now();
    let sent: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let url = format!("{}/api/v1/frames", servers[i % count].url);
                scope.spawn(move || crate::bench_frames::client(&url, token, frame, per_client))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("a client panicked"))?
                    .map(|latencies| latencies.len())
            })
            .sum::<anyhow::Result<usize>>()
    })?;
    Ok(sent as f64 / started.elapsed().as_secs_f64())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)?;
    Ok(())
}
