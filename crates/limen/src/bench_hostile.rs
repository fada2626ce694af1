//! `limen bench hostile`: issue 8's hostile-load test. One device sends
//! legitimate frames one after another, first alone, then while attackers
//! on loopback flood the same server with oversized frames (6300×6300,
//! refused from the header), malformed ones (truncated, garbage behind a
//! JPEG marker) from a second device, and stalled connections (request
//! heads that never end, reopened as they are closed). The legitimate
//! device's decisions must not change, and its p99 latency under attack is
//! reported as a ratio to its p99 alone, measured in the same run. The
//! attack is bounded (it ends with the legitimate run) and stays on
//! loopback.
//!
//! The app runs in this process, set up as `limen bench frames` sets it
//! up; the device rate limit is lifted so the flood reaches the frame
//! checks (a stolen device token at full speed), not the limiter.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

#[derive(Args)]
pub struct HostileBenchArgs {
    /// The legitimate device's JPEG face crop.
    #[arg(
        long,
        default_value = "crates/limen/tests/fixtures/lfw/Andre_Agassi_0005.jpg"
    )]
    frame: PathBuf,
    /// People in the organisation's gallery.
    #[arg(long, default_value_t = 1_000)]
    gallery: usize,
    /// Legitimate frames in each phase (after one warm-up).
    #[arg(long, default_value_t = 200)]
    frames: usize,
    /// Stalled connections the attacker keeps open.
    #[arg(long, default_value_t = 2_000)]
    stalled: usize,
    /// The server's connection cap.
    #[arg(long, default_value_t = 768)]
    max_connections: usize,
    #[command(flatten)]
    models: crate::ModelsArg,
}

pub fn hostile(args: HostileBenchArgs) -> anyhow::Result<()> {
    if args.frames == 0 {
        bail!("--frames must be at least 1");
    }
    let frame = std::fs::read(&args.frame).with_context(|| args.frame.display().to_string())?;
    let report = crate::bench_seed::in_scratch_dir("hostile", |dir| run(&args, &frame, dir))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn run(
    args: &HostileBenchArgs,
    frame: &[u8],
    dir: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let app = crate::bench_frames::start_app(
        &args.models,
        dir,
        args.gallery,
        2,
        0x4057,
        None,
        &[("LIMEN_MAX_CONNECTIONS", args.max_connections.to_string())],
    )?;
    let address = app.address;
    let url = format!("http://{address}/api/v1/frames");
    let tokens = &app.device_tokens;
    let (legit, attacker) = (&tokens[0], &tokens[1]);

    let alone = legitimate_run(&url, legit, frame, args.frames)?;
    let stop = AtomicBool::new(false);
    let attack = AttackCounts::default();
    let attacked = std::thread::scope(|scope| {
        let flooders: Vec<_> = (0..2)
            .map(|n| {
                let (url, stop, attack) = (&url, &stop, &attack);
                scope.spawn(move || flood(url, attacker, frame, n, stop, attack))
            })
            .collect();
        let staller = scope.spawn(|| stall(address, args.stalled, &stop, &attack));
        // Let the attack build up before measuring.
        std::thread::sleep(Duration::from_secs(2));
        let attacked = legitimate_run(&url, legit, frame, args.frames);
        stop.store(true, Ordering::Relaxed);
        for flooder in flooders {
            let _ = flooder.join();
        }
        let _ = staller.join();
        attacked
    })?;
    app.runtime.shutdown_background();

    if alone.decisions != attacked.decisions {
        bail!(
            "the legitimate device's decisions changed under attack: {:?} alone, {:?} attacked",
            alone.decisions,
            attacked.decisions
        );
    }
    let ratio = attacked.p99_ms / alone.p99_ms;
    Ok(json!({
        "gallery": args.gallery,
        "legitimate_frames_per_phase": args.frames,
        "legitimate_decisions": alone.decisions,
        "alone_ms": { "p50": alone.p50_ms, "p99": alone.p99_ms },
        "attacked_ms": { "p50": attacked.p50_ms, "p99": attacked.p99_ms },
        "p99_ratio_attacked_to_alone": ratio,
        "within_2x": ratio <= 2.0,
        "attack": {
            "frames_sent": attack.frames.load(Ordering::Relaxed),
            "frames_refused_4xx": attack.refused.load(Ordering::Relaxed),
            "frames_busy_503": attack.busy.load(Ordering::Relaxed),
            "stalled_connections_opened": attack.stalled.load(Ordering::Relaxed),
            "max_connections": args.max_connections,
        },
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
    }))
}

struct Phase {
    p50_ms: f64,
    p99_ms: f64,
    /// Each distinct decision, in order of first appearance.
    decisions: Vec<String>,
}

fn legitimate_run(url: &str, token: &str, frame: &[u8], count: usize) -> anyhow::Result<Phase> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let authorization = format!("Bearer {token}");
    let mut latencies = Vec::with_capacity(count);
    let mut decisions: Vec<String> = Vec::new();
    for n in 0..=count {
        let t0 = Instant::now();
        let mut response = agent
            .post(url)
            .header("Authorization", &authorization)
            .header("Content-Type", "image/jpeg")
            .send(frame)?;
        let body = response.body_mut().read_to_string()?;
        let elapsed = t0.elapsed().as_secs_f64() * 1e3;
        if response.status() != 200 {
            bail!("legitimate frame refused {}: {body}", response.status());
        }
        let answer: serde_json::Value = serde_json::from_str(&body)?;
        let decision = answer["decision"].as_str().unwrap_or("").to_owned();
        if !decisions.contains(&decision) {
            decisions.push(decision);
        }
        // The first frame warms up.
        if n > 0 {
            latencies.push(elapsed);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    Ok(Phase {
        p50_ms: percentile(0.5),
        p99_ms: percentile(0.99),
        decisions,
    })
}

#[derive(Default)]
struct AttackCounts {
    frames: AtomicU64,
    refused: AtomicU64,
    busy: AtomicU64,
    stalled: AtomicU64,
}

/// Oversized and malformed frames, back to back, until told to stop.
fn flood(
    url: &str,
    token: &str,
    frame: &[u8],
    seed: usize,
    stop: &AtomicBool,
    counts: &AttackCounts,
) -> anyhow::Result<()> {
    let oversized = declaring_size(frame, 6300, 6300)?;
    let truncated = frame[..frame.len() / 2].to_vec();
    let garbage: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((0..60_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8))
        .collect();
    let bodies = [oversized, truncated, garbage];
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let authorization = format!("Bearer {token}");
    let mut n = seed;
    while !stop.load(Ordering::Relaxed) {
        let body = &bodies[n % bodies.len()];
        n += 1;
        let Ok(mut response) = agent
            .post(url)
            .header("Authorization", &authorization)
            .header("Content-Type", "image/jpeg")
            .send(body.as_slice())
        else {
            continue;
        };
        let _ = response.body_mut().read_to_string();
        counts.frames.fetch_add(1, Ordering::Relaxed);
        match response.status().as_u16() {
            503 => counts.busy.fetch_add(1, Ordering::Relaxed),
            400..=499 => counts.refused.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
    Ok(())
}

/// The JPEG with its frame header rewritten to declare `width` × `height`.
fn declaring_size(jpeg: &[u8], width: u16, height: u16) -> anyhow::Result<Vec<u8>> {
    let mut out = jpeg.to_vec();
    let start = out
        .windows(2)
        .position(|w| w[0] == 0xFF && (0xC0..=0xC2).contains(&w[1]))
        .context("the frame has no JPEG frame header")?;
    // Marker (2), length (2), precision (1), then height and width.
    out[start + 5..start + 7].copy_from_slice(&height.to_be_bytes());
    out[start + 7..start + 9].copy_from_slice(&width.to_be_bytes());
    Ok(out)
}

/// Keeps `target` connections open with unfinished request heads,
/// reopening those the server closes, until told to stop.
fn stall(address: SocketAddr, target: usize, stop: &AtomicBool, counts: &AttackCounts) {
    let mut open: Vec<TcpStream> = Vec::with_capacity(target);
    while !stop.load(Ordering::Relaxed) {
        // Drop the ones the server closed (a write to them fails).
        open.retain_mut(|stream| stream.write_all(b"X").is_ok());
        while open.len() < target && !stop.load(Ordering::Relaxed) {
            let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200))
            else {
                break;
            };
            if stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: limen\r\nX-Slow: ")
                .is_ok()
            {
                counts.stalled.fetch_add(1, Ordering::Relaxed);
                open.push(stream);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
