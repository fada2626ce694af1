//! Measures 1:N search, single thread: the matcher's compressed search (a
//! scan of 2-bit codes, the rows near the best estimated again from 4-bit
//! codes, then the best candidates ranked exactly) against the exact search
//! over every f32 vector, in the same run, and against the time one core
//! needs just to read the bytes each must read:
//!
//! - the f32 rows, by streaming them with a vectorised sum (from where they
//!   are: small galleries sit in cache);
//! - from main memory, at the rate one core streams a 1 GiB buffer, for the
//!   f32 rows and for what the scan reads ([`SCANNED_BYTES`] a vector).
//!
//! Where the exact search is faster, below `limen_matcher::EXACT_SEARCH_BELOW`
//! vectors, `Galleries::search` takes it: the ratio column is what that
//! crossover is chosen from.
//!
//! Then the agreement: how many probes, half of them enrolled people and
//! half strangers, get the same nearest person from both searches, and the
//! same distances too.
//!
//! The gallery is synthetic, built from lfw-dev's statistics under the
//! default model version (`omz-reid-0095`, 256 numbers, unit length): each
//! person an identity centre whose components spread 0.0512 around zero
//! (lfw-dev's spread between people), each of their faces that centre plus
//! 0.0351 per component (lfw-dev's spread within a person), normalised. Two
//! faces of one person then lie 0.80 apart and two people's 1.41, as on
//! lfw-dev (median 0.80 and 1.41). Uniformly random vectors would put every
//! probe equally far from everyone and test nothing.
//!
//! Run: `limen bench matcher [SIZES…] [--agreement-probes N]` (default sizes
//! 1000 10000 100000 1000000, one vector per person), from a release build.
//!
//! Timed runs alternate, one of each per round, each reported as its
//! median: on a shared machine the others' load then weighs on all alike.

use std::hint::black_box;
use std::time::{Duration, Instant};

use limen_matcher::{Calibration, Galleries, Nearest, Scoring};

/// The default model version's vector length.
const DIMENSIONS: usize = 256;
/// What the compressed scan reads per vector: its 2-bit codes, then its
/// scale, squared norm and offset (in half precision).
const SCANNED_BYTES: usize = DIMENSIONS / 4 + 6;
type Descriptor = Vec<f32>;

const MODEL: &str = "bench";
const MIN_MEASURED: Duration = Duration::from_secs(2);
const MIN_ROUNDS: usize = 7;
/// Timed probes per size (half enrolled people, half strangers).
const TIMED_PROBES: usize = 64;

/// lfw-dev under `omz-reid-0095`: per-component standard deviation between
/// people's mean descriptors and within one person's descriptors.
const BETWEEN_PEOPLE: f32 = 0.0512;
const WITHIN_PERSON: f32 = 0.0351;

/// Deterministic normal deviates (xorshift64* and Box–Muller).
struct Normals(u64);

impl Normals {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((bits >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }

    fn vector(&mut self, around: Option<&[f32]>, spread: f32) -> Descriptor {
        (0..DIMENSIONS)
            .map(|i| {
                let (u, v) = (self.uniform(), self.uniform());
                let normal = (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos();
                around.map_or(0.0, |c| c[i]) + spread * normal
            })
            .collect()
    }

    /// A new person's identity centre.
    fn centre(&mut self) -> Descriptor {
        self.vector(None, BETWEEN_PEOPLE)
    }

    /// One face of the person at `centre`, as the model describes it.
    fn face(&mut self, centre: &[f32]) -> Descriptor {
        let mut v = self.vector(Some(centre), WITHIN_PERSON);
        let norm = v.iter().map(|c| c * c).sum::<f32>().sqrt();
        v.iter_mut().for_each(|c| *c /= norm);
        v
    }
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

/// A gallery of `size` people, one face each, with every person's centre
/// and a copy of the faces as one matrix (for the streaming reference),
/// normalised as the door's galleries are (uncalibrated: nothing here is
/// decided, only ranked).
fn synthetic_gallery(
    size: usize,
    normals: &mut Normals,
) -> (Galleries<u8, u32>, Vec<Descriptor>, Descriptor) {
    let galleries = Galleries::new(
        MODEL,
        DIMENSIONS,
        Scoring::HUBNESS,
        Calibration::UNCALIBRATED,
    );
    let mut centres = Vec::with_capacity(size);
    let mut rows = Vec::with_capacity(size * DIMENSIONS);
    for person in 0..size as u32 {
        let centre = normals.centre();
        let face = normals.face(&centre);
        galleries
            .enrol(&0, person, MODEL, &[&face])
            .expect("finite");
        rows.extend_from_slice(&face);
        centres.push(centre);
    }
    (galleries, centres, rows)
}

/// Probes alternately of an enrolled person (another face of theirs) and of
/// a stranger.
fn probes(count: usize, centres: &[Descriptor], normals: &mut Normals) -> Vec<Descriptor> {
    (0..count)
        .map(|i| {
            if i % 2 == 0 {
                let person = (normals.uniform() * centres.len() as f32) as usize;
                normals.face(&centres[person.min(centres.len() - 1)])
            } else {
                let stranger = normals.centre();
                normals.face(&stranger)
            }
        })
        .collect()
}

/// Agreement counts: (same nearest person, same person and both distances).
fn agreement(galleries: &Galleries<u8, u32>, probes: &[Descriptor]) -> [(usize, usize); 2] {
    let mut counts = [(0, 0); 2];
    for (i, probe) in probes.iter().enumerate() {
        let search = |f: fn(&Galleries<u8, u32>, &u8, &str, &[f32]) -> _| -> Nearest<u32> {
            let found: Result<Option<Nearest<u32>>, _> = f(galleries, &0, MODEL, probe);
            found.expect("valid").expect("non-empty")
        };
        let compressed = search(Galleries::search_compressed);
        let exact = search(Galleries::search_exact);
        let kind = &mut counts[i % 2];
        kind.0 += usize::from(compressed.person == exact.person);
        kind.1 += usize::from(compressed == exact);
    }
    counts
}

pub fn run(sizes: &[usize], agreement_probes: usize) {
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
        "{:>9} {:>10} {:>9} {:>8} {:>10} {:>10} {:>10} {:>8} {:>22} {:>22}",
        "gallery",
        "compressed",
        "exact",
        "exact/",
        "f32 rows",
        "f32 DRAM",
        "scan DRAM",
        "loaded",
        "enrolled: top-1 / all",
        "strangers: top-1 / all",
    );

    for &size in sizes {
        let mut normals = Normals(size as u64 ^ 0x9e37_79b9_7f4a_7c15);
        let loading = Instant::now();
        let (galleries, centres, rows) = synthetic_gallery(size, &mut normals);
        let timed = probes(TIMED_PROBES, &centres, &mut normals);
        // The first search refreshes the offsets: before timing, as loading.
        black_box(galleries.search(&0, MODEL, &timed[0]).expect("valid"));
        let loaded = loading.elapsed();

        let [compressed, exact, same_rows] = median_times([
            &mut |i| {
                let probe = &timed[i % timed.len()];
                black_box(
                    galleries
                        .search_compressed(&0, MODEL, probe)
                        .expect("valid"),
                );
            },
            &mut |i| {
                let probe = &timed[i % timed.len()];
                black_box(galleries.search_exact(&0, MODEL, probe).expect("valid"));
            },
            &mut |_| {
                black_box(stream(black_box(&rows)));
            },
        ]);
        let f32_dram = Duration::from_secs_f64((size * DIMENSIONS * 4) as f64 / bandwidth);
        let codes_dram = Duration::from_secs_f64((size * SCANNED_BYTES) as f64 / bandwidth);
        let agreement_set = probes(agreement_probes, &centres, &mut normals);
        let [enrolled, strangers] = agreement(&galleries, &agreement_set);
        let halves = [agreement_probes.div_ceil(2), agreement_probes / 2];
        let share = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
        println!(
            "{:>9} {:>10.1?} {:>9.1?} {:>8.2} {:>10.1?} {:>10.1?} {:>10.1?} {:>8.1?} {:>10.3}% / {:>7.3}% {:>10.3}% / {:>7.3}%   ({} + {} probes)",
            size,
            compressed,
            exact,
            exact.as_secs_f64() / compressed.as_secs_f64(),
            same_rows,
            f32_dram,
            codes_dram,
            loaded,
            share(enrolled.0, halves[0]),
            share(enrolled.1, halves[0]),
            share(strangers.0, halves[1]),
            share(strangers.1, halves[1]),
            halves[0],
            halves[1],
        );
    }
}
