//! Measures 1:N search, single thread, against two references:
//!
//! - SCALAR REFERENCE: a plain loop with one accumulator per distance, which
//!   the compiler may not vectorise (it may not reorder float additions);
//! - BANDWIDTH LIMITS: the time one core needs just to read the gallery's
//!   bytes, (a) from where they are, by streaming the same rows with a
//!   vectorised sum, and (b) from main memory, at the rate one core streams
//!   a 1 GiB buffer. Small galleries sit in cache and beat (b).
//!
//! Run: `limen bench matcher [SIZES…]` (default sizes 1000 10000 100000
//! 1000000), from a release build.
//!
//! The three are measured in turns, one run of each per round, and each is
//! reported as its median: on a shared machine the others' load then weighs
//! on all three alike, and outliers do not count.

use std::hint::black_box;
use std::time::{Duration, Instant};

use limen_matcher::{Calibration, Galleries, Scoring};

/// dlib's vector length, the default model's.
const DIMENSIONS: usize = 128;
type Descriptor = [f32; DIMENSIONS];

const MODEL: &str = "bench";
const MIN_MEASURED: Duration = Duration::from_secs(2);
const MIN_ROUNDS: usize = 7;

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

/// BANDWIDTH LIMIT: reads every value once, summing in independent lanes so
/// that arithmetic is never the bottleneck; with the widest vectors the CPU
/// has, as the search uses, so that cache-resident galleries are held to
/// the cache's full bandwidth.
fn stream(values: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU was just checked to support AVX-512F.
        return unsafe { stream_avx512(values) };
    }
    stream_portable(values)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn stream_avx512(values: &[f32]) -> f32 {
    stream_portable(values)
}

#[inline(always)]
fn stream_portable(values: &[f32]) -> f32 {
    // 64 lanes: four vector registers' worth of independent sums, so that
    // several cache lines are always being fetched at once.
    let mut lanes = [0.0f32; 64];
    for chunk in values.chunks_exact(64) {
        for lane in 0..64 {
            lanes[lane] += chunk[lane];
        }
    }
    lanes.iter().sum()
}

/// Medians of each of `runs`, measured in turns for at least `MIN_MEASURED`.
fn median_times<const N: usize>(runs: [&mut dyn FnMut(usize); N]) -> [Duration; N] {
    let mut runs = runs;
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    for run in runs.iter_mut() {
        run(0); // warm-up
    }
    let start = Instant::now();
    let mut round = 1;
    while start.elapsed() < MIN_MEASURED || round <= MIN_ROUNDS {
        for (run, samples) in runs.iter_mut().zip(&mut samples) {
            let sample = Instant::now();
            run(round);
            samples.push(sample.elapsed());
        }
        round += 1;
    }
    samples.map(|mut s| {
        s.sort_unstable();
        s[s.len() / 2]
    })
}

pub fn run(sizes: &[usize]) {
    let buffer: Vec<f32> = (0..(1usize << 28)).map(|i| (i & 0xff) as f32).collect();
    let [stream_buffer] = median_times([&mut |_| {
        black_box(stream(black_box(&buffer)));
    }]);
    drop(buffer);
    let bandwidth = (1u64 << 30) as f64 / stream_buffer.as_secs_f64();
    println!(
        "one core streams {:.1} GB/s from a 1 GiB buffer",
        bandwidth / 1e9
    );
    println!(
        "{:>9} {:>9} {:>10} {:>8} {:>11} {:>8} {:>10} {:>8}",
        "gallery",
        "search",
        "scalar ref",
        "scalar/",
        "same rows",
        "search/",
        "DRAM limit",
        "search/"
    );

    for &size in sizes {
        let mut vectors = UnitVectors(size as u64 ^ 0x9e37_79b9_7f4a_7c15);
        // Plain distances: the search costs the same normalised or not
        // (one added offset per row), and a plain gallery fills fastest.
        let galleries =
            Galleries::new(MODEL, DIMENSIONS, Scoring::PLAIN, Calibration::UNCALIBRATED);
        let mut rows = Vec::with_capacity(size * DIMENSIONS);
        for person in 0..size as u32 {
            let v = vectors.next();
            galleries
                .enrol(&0u8, person, MODEL, &[&v[..]])
                .expect("finite");
            rows.extend_from_slice(&v);
        }
        let probes: Vec<Descriptor> = (0..64).map(|_| vectors.next()).collect();
        // Both find the same nearest person, so they do the same work.
        for probe in &probes[..4] {
            let ours = galleries.search(&0, MODEL, probe).expect("valid");
            let ours = ours.expect("non-empty").person as usize;
            assert_eq!(ours, scalar_scan(&rows, probe).0);
        }

        let [search, scalar, same_rows] = median_times([
            &mut |i| {
                let probe = &probes[i % probes.len()];
                black_box(galleries.search(&0, MODEL, probe).expect("valid"));
            },
            &mut |i| {
                black_box(scalar_scan(black_box(&rows), &probes[i % probes.len()]));
            },
            &mut |_| {
                black_box(stream(black_box(&rows)));
            },
        ]);
        let dram = Duration::from_secs_f64((size * DIMENSIONS * 4) as f64 / bandwidth);
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "{:>9} {:>9.1?} {:>10.1?} {:>8.2} {:>11.1?} {:>8.2} {:>10.1?} {:>8.2}",
            size,
            search,
            scalar,
            ratio(scalar, search),
            same_rows,
            ratio(search, same_rows),
            dram,
            ratio(search, dram),
        );
    }
}
