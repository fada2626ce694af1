//! `limen bench galleries`: what an instance pays at start-up to load and
//! decrypt a large organisation's vectors into its galleries.
//!
//! The database (PostgreSQL given by `--database-url`, or SQLite in a
//! scratch directory) holds one organisation of `--people` people with
//! `--vectors-per-person` random unit vectors each, seeded on first use
//! and reused while the database is kept. Each measurement is a fresh
//! process (`limen bench galleries --measure …`), so that nothing of the
//! seeding is in its memory: it loads the face engine, then times the
//! services' start (read every sealed vector, decrypt it, insert it into
//! the galleries), on the clock and in CPU time (every thread's), and
//! reads its resident memory before and after.
//!
//! The reference, measured in the same run and the same process: building
//! a gallery of as many random vectors straight in memory (no database, no
//! decryption), its neighbourhoods measured on every core as the services
//! measure them, and again on one thread as before issue 14; and the raw
//! size of the vectors.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use limen_domain::{ModelVersion, OrgId, PersonId};
use limen_eval::rng::SplitMix64;
use limen_face::FaceEngine;
use limen_services::{ModelLibrary, Retention, Services};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Args)]
pub struct GalleriesBenchArgs {
    /// An empty PostgreSQL database (seeded on first use, reused after);
    /// default: SQLite in a scratch directory, seeded each run.
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, default_value_t = 100_000)]
    people: usize,
    #[arg(long, default_value_t = 1)]
    vectors_per_person: usize,
    /// Measured start-ups (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Internal: measure one start-up in this process and print it.
    #[arg(long, hide = true)]
    measure: bool,
    #[command(flatten)]
    models: crate::ModelsArg,
}

#[derive(Serialize, Deserialize)]
struct Measured {
    load_ms: f64,
    /// CPU time of every thread of the process while loading.
    load_cpu_ms: f64,
    engine_ms: f64,
    rss_before_mb: f64,
    rss_after_mb: f64,
    peak_mb: f64,
    in_memory_build_ms: f64,
    in_memory_build_cpu_ms: f64,
    in_memory_build_one_thread_ms: f64,
}

pub fn galleries(args: GalleriesBenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.measure {
        let url = args
            .database_url
            .clone()
            .context("--measure needs --database-url")?;
        let measured = runtime.block_on(measure(&url, &args))?;
        println!("{}", serde_json::to_string(&measured)?);
        return Ok(());
    }
    let scratch = crate::bench_seed::scratch_dir("galleries");
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&scratch)?;
            format!("sqlite:{}", scratch.join("limen.db").display())
        }
    };
    let result = (|| {
        runtime.block_on(seed_once(&url, &args))?;
        let mut runs: Vec<Measured> = (0..args.runs.max(1))
            .map(|_| measure_in_child(&url, &args))
            .collect::<anyhow::Result<_>>()?;
        runs.sort_by(|a, b| a.load_ms.total_cmp(&b.load_ms));
        let median = &runs[runs.len() / 2];
        let vectors = args.people * args.vectors_per_person;
        let raw_mb = (vectors * limen_face::FaceModel::DEFAULT.dimensions * 4) as f64 / 1e6;
        anyhow::Ok(json!({
            "database": if url.starts_with("sqlite:") { "sqlite (scratch, in memory)" } else { "postgresql" },
            "people": args.people,
            "vectors": vectors,
            "runs": runs.len(),
            "engine_load_ms": median.engine_ms,
            "load_and_decrypt_ms": median.load_ms,
            "load_and_decrypt_cpu_ms": median.load_cpu_ms,
            "vectors_per_second": vectors as f64 / (median.load_ms / 1e3),
            "reference_in_memory_build_ms": median.in_memory_build_ms,
            "load_over_in_memory_build": median.load_ms / median.in_memory_build_ms,
            "reference_in_memory_build_cpu_ms": median.in_memory_build_cpu_ms,
            "load_cpu_over_in_memory_build_cpu": median.load_cpu_ms / median.in_memory_build_cpu_ms,
            "reference_in_memory_build_one_thread_ms": median.in_memory_build_one_thread_ms,
            "load_over_in_memory_build_one_thread": median.load_ms / median.in_memory_build_one_thread_ms,
            "rss_before_mb": median.rss_before_mb,
            "rss_after_mb": median.rss_after_mb,
            "rss_growth_mb": median.rss_after_mb - median.rss_before_mb,
            "peak_rss_mb": median.peak_mb,
            "raw_vectors_mb": raw_mb,
            "rss_growth_over_raw": (median.rss_after_mb - median.rss_before_mb) / raw_mb,
        }))
    })();
    if args.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    println!("{}", serde_json::to_string_pretty(&result?)?);
    Ok(())
}

/// Seeds the benchmark organisation unless the database already holds it.
async fn seed_once(url: &str, args: &GalleriesBenchArgs) -> anyhow::Result<()> {
    let store = crate::bench_seed::open_store(url).await?;
    if store
        .organisations()
        .await?
        .iter()
        .any(|o| o.name == "Bench")
    {
        eprintln!("the database is seeded already: reusing it");
    } else {
        let engine_model = ModelVersion::new(limen_face::FaceModel::DEFAULT.id);
        let started = Instant::now();
        crate::bench_seed::seed(
            &store,
            &engine_model,
            args.people,
            args.vectors_per_person,
            0,
            0x6A11,
        )
        .await?;
        eprintln!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    }
    store.close().await;
    Ok(())
}

fn measure_in_child(url: &str, args: &GalleriesBenchArgs) -> anyhow::Result<Measured> {
    let output = Command::new(std::env::current_exe()?)
        .args(["bench", "galleries", "--measure", "--database-url", url])
        .args(["--people", &args.people.to_string()])
        .args(["--vectors-per-person", &args.vectors_per_person.to_string()])
        .args(
            args.models
                .dir()
                .map(|dir| [std::path::Path::new("--models"), dir])
                .into_iter()
                .flatten(),
        )
        .output()?;
    if !output.status.success() {
        bail!(
            "a measuring run failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

async fn measure(url: &str, args: &GalleriesBenchArgs) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let models = args.models.source();
    let engine = tokio::task::spawn_blocking(move || {
        FaceEngine::load(models, limen_face::FaceModel::DEFAULT)
    })
    .await??;
    let engine_ms = started.elapsed().as_secs_f64() * 1e3;
    let store = crate::bench_seed::open_store(url).await?;
    let rss_before_mb = memory("VmRSS")?;
    let cpu_before_ms = cpu_ms()?;
    let started = Instant::now();
    let services = Services::start(
        store,
        ModelLibrary::with_engine(args.models.source(), Arc::new(engine)),
        Retention::default(),
    )
    .await?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let load_cpu_ms = cpu_ms()? - cpu_before_ms;
    let rss_after_mb = memory("VmRSS")?;
    let peak_mb = memory("VmHWM")?;
    services.shutdown().await;
    drop(services);

    // The reference: the same number of vectors into a gallery from memory,
    // their neighbourhoods measured on all cores (as the services do) and,
    // as before issue 14, on one.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_before_ms = cpu_ms()?;
    let in_memory_build_ms = in_memory_build(args, cores)?;
    let in_memory_build_cpu_ms = cpu_ms()? - cpu_before_ms;
    let in_memory_build_one_thread_ms = in_memory_build(args, 1)?;
    Ok(Measured {
        load_ms,
        load_cpu_ms,
        engine_ms,
        rss_before_mb,
        rss_after_mb,
        peak_mb,
        in_memory_build_ms,
        in_memory_build_cpu_ms,
        in_memory_build_one_thread_ms,
    })
}

/// Milliseconds to build a gallery of as many random vectors from memory,
/// measuring their neighbourhoods on `threads` threads.
fn in_memory_build(args: &GalleriesBenchArgs, threads: usize) -> anyhow::Result<f64> {
    let mut rng = SplitMix64::new(0x5EED);
    let started = Instant::now();
    let galleries = limen_matcher::Galleries::<OrgId, PersonId>::new(
        "reference",
        limen_face::FaceModel::DEFAULT.dimensions,
        limen_matcher::Scoring::HUBNESS,
        limen_matcher::Calibration::UNCALIBRATED,
    );
    let org = OrgId::generate();
    for _ in 0..args.people {
        let set: Vec<Vec<f32>> = (0..args.vectors_per_person)
            .map(|_| {
                crate::bench_seed::random_unit_vector(
                    &mut rng,
                    limen_face::FaceModel::DEFAULT.dimensions,
                )
            })
            .collect();
        let set: Vec<&[f32]> = set.iter().map(Vec::as_slice).collect();
        galleries.enrol(&org, PersonId::generate(), "reference", &set)?;
    }
    galleries.refresh_all(threads);
    Ok(started.elapsed().as_secs_f64() * 1e3)
}

/// CPU time (user and system) of every thread of this process so far,
/// from /proc/self/stat, in milliseconds: on a shared machine it varies
/// less than the time on the clock.
fn cpu_ms() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .context("CPU time is read from /proc/self/stat (Linux)")?;
    // The fields after the command name, which is in parentheses and may
    // hold spaces: utime and stime are the 12th and 13th of them.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("a short /proc/self/stat")?
            .parse::<f64>()?)
    };
    // Linux reports these in USER_HZ, 100 a second on every architecture
    // it runs on.
    Ok((ticks(11)? + ticks(12)?) * 10.0)
}

/// A memory figure of this process from /proc/self/status, in MB.
fn memory(field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("memory is read from /proc/self/status (Linux)")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))?;
    Ok(kb * 1024.0 / 1e6)
}
