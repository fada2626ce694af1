//! Measures 1:N search, single thread, against two references:
//!
//! - SCALAR REFERENCE: a plain loop with one accumulator per distance, which
//!   the compiler may not vectorise (it may not reorder float additions);
//! - BANDWIDTH LIMIT: the time one core needs just to stream the gallery's
//!   bytes from memory, measured by summing a 1 GiB buffer.
//!
//! Run: `cargo run --release -p limen-matcher --example search_bench [SIZES…]`
//! (default sizes 1000 10000 100000 1000000). Timings are the median of
//! repeated searches for random probes after one warm-up search: the median
//! rather than the mean, because the machine may be shared.

use std::hint::black_box;
use std::time::{Duration, Instant};

use limen_matcher::{DIMENSIONS, Descriptor, Galleries};

const MODEL: &str = "bench";
const MIN_MEASURED: Duration = Duration::from_millis(700);

struct UnitVectors(u64);

impl UnitVectors {
    fn next(&mut self) -> Descriptor {
        let mut v = [0.0f32; DIMENSIONS];
        for c in &mut v {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
            *c = (bits >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        let norm = v.iter().map(|c| c * c).sum::<f32>().sqrt();
        v.map(|c| c / norm)
    }
}

/// Median time of `run` over enough repetitions to last `MIN_MEASURED`.
fn median_time(mut run: impl FnMut(usize)) -> Duration {
    run(0);
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < MIN_MEASURED || samples.len() < 5 {
        let sample = Instant::now();
        run(samples.len() + 1);
        samples.push(sample.elapsed());
    }
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// SCALAR REFERENCE: nearest and second-nearest squared distance, plainly.
fn scalar_scan(rows: &[f32], probe: &Descriptor) -> (usize, f32, f32) {
    let (mut best_index, mut best, mut second) = (0, f32::INFINITY, f32::INFINITY);
    for (index, row) in rows.chunks_exact(DIMENSIONS).enumerate() {
        let mut sum = 0.0f32;
        for i in 0..DIMENSIONS {
            let d = probe[i] - row[i];
            sum += d * d;
        }
        if sum < best {
            second = best;
            best = sum;
            best_index = index;
        } else if sum < second {
            second = sum;
        }
    }
    (best_index, best, second)
}

/// BANDWIDTH LIMIT: bytes per second one core reads from a 1 GiB buffer
/// (best of five passes), summing with independent lanes so that
/// arithmetic is not the bottleneck.
fn streaming_bandwidth() -> f64 {
    let buffer: Vec<f32> = (0..(1usize << 28)).map(|i| (i & 0xff) as f32).collect();
    let bytes = (buffer.len() * size_of::<f32>()) as f64;
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut lanes = [0.0f32; 16];
        for chunk in black_box(&buffer).chunks_exact(16) {
            for lane in 0..16 {
                lanes[lane] += chunk[lane];
            }
        }
        black_box(lanes);
        best = best.min(start.elapsed());
    }
    bytes / best.as_secs_f64()
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes are whole numbers"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000, 1_000_000]
    } else {
        sizes
    };
    let bandwidth = streaming_bandwidth();
    println!("streaming bandwidth, one core: {:.2} GB/s", bandwidth / 1e9);
    println!(
        "{:>9} {:>12} {:>12} {:>12} {:>14} {:>14}",
        "gallery", "search", "scalar ref", "bw limit", "scalar/search", "search/limit"
    );
    for &size in &sizes {
        let mut vectors = UnitVectors(size as u64 ^ 0x9e37_79b9_7f4a_7c15);
        let galleries = Galleries::new(MODEL);
        let mut rows = Vec::with_capacity(size * DIMENSIONS);
        for person in 0..size as u32 {
            let v = vectors.next();
            galleries.upsert(&0u8, person, MODEL, &v).expect("finite");
            rows.extend_from_slice(&v);
        }
        let probes: Vec<Descriptor> = (0..64).map(|_| vectors.next()).collect();

        // Both find the same nearest person, so they do the same work.
        for probe in &probes[..4] {
            let ours = galleries
                .search(&0, MODEL, probe)
                .expect("valid")
                .expect("non-empty");
            assert_eq!(ours.person as usize, scalar_scan(&rows, probe).0);
        }
        let search = median_time(|i| {
            black_box(
                galleries
                    .search(&0, MODEL, &probes[i % probes.len()])
                    .expect("valid"),
            );
        });
        let scalar = median_time(|i| {
            black_box(scalar_scan(black_box(&rows), &probes[i % probes.len()]));
        });
        let limit = Duration::from_secs_f64((size * DIMENSIONS * 4) as f64 / bandwidth);
        println!(
            "{:>9} {:>12.1?} {:>12.1?} {:>12.1?} {:>14.2} {:>14.2}",
            size,
            search,
            scalar,
            limit,
            scalar.as_secs_f64() / search.as_secs_f64(),
            search.as_secs_f64() / limit.as_secs_f64(),
        );
    }
}
