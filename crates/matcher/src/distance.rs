//! The search kernel: squared euclidean distances of one probe to every row
//! of a contiguous row-major matrix, keeping the two smallest.
//!
//! The portable loop keeps 16 independent accumulators per row so the
//! compiler can vectorise it without reassociating floating-point sums. On
//! x86-64, where the baseline only guarantees SSE2, the CPU is asked at run
//! time: with AVX-512 an explicit kernel runs (the auto-vectorised one came
//! out differently from build to build), with AVX the portable loop
//! compiled for AVX.

use crate::{DIMENSIONS, Descriptor};

const LANES: usize = 16;
const ROWS_PER_BLOCK: usize = 4;

/// Index of the nearest row and the two smallest squared distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scan {
    pub best_index: usize,
    pub best: f32,
    /// `f32::INFINITY` when there is only one row.
    pub second: f32,
}

/// Scans `rows` (a multiple of [`DIMENSIONS`] long); `None` when empty.
pub(crate) fn scan(rows: &[f32], probe: &Descriptor) -> Option<Scan> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU was just checked to support AVX-512F.
        return unsafe { scan_avx512(rows, probe) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU was just checked to support AVX.
        return unsafe { scan_avx(rows, probe) };
    }
    scan_portable(rows, probe)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn scan_avx(rows: &[f32], probe: &Descriptor) -> Option<Scan> {
    scan_portable(rows, probe)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn scan_avx512(rows: &[f32], probe: &Descriptor) -> Option<Scan> {
    use std::arch::x86_64::{
        __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_reduce_add_ps, _mm512_setzero_ps,
        _mm512_sub_ps,
    };
    const REGISTERS: usize = DIMENSIONS / 16;
    // SAFETY: reads floats 16 * i .. 16 * i + 16 of DIMENSIONS, i < REGISTERS.
    let probe: [__m512; REGISTERS] =
        std::array::from_fn(|i| unsafe { _mm512_loadu_ps(probe.as_ptr().add(16 * i)) });
    scan_rows(rows, |row| {
        let row: &Descriptor = row.try_into().expect("scan_rows passes whole rows");
        let mut sum = _mm512_setzero_ps();
        for (i, probe) in probe.iter().enumerate() {
            // SAFETY: as above, within one row.
            let values = unsafe { _mm512_loadu_ps(row.as_ptr().add(16 * i)) };
            let difference = _mm512_sub_ps(*probe, values);
            sum = _mm512_fmadd_ps(difference, difference, sum);
        }
        _mm512_reduce_add_ps(sum)
    })
}

#[inline(always)]
fn scan_portable(rows: &[f32], probe: &Descriptor) -> Option<Scan> {
    scan_rows(rows, |row| squared_distance(probe, row))
}

#[inline(always)]
fn scan_rows(rows: &[f32], squared_distance: impl Fn(&[f32]) -> f32) -> Option<Scan> {
    if rows.len() < DIMENSIONS {
        return None;
    }
    let mut scan = Scan {
        best_index: 0,
        best: f32::INFINITY,
        second: f32::INFINITY,
    };
    // Four rows per step: their independent sums keep more loads in flight,
    // which a large, memory-bound gallery needs to reach full bandwidth.
    let mut blocks = rows.chunks_exact(ROWS_PER_BLOCK * DIMENSIONS);
    let mut first_row = 0;
    for block in &mut blocks {
        let distances = [
            squared_distance(&block[..DIMENSIONS]),
            squared_distance(&block[DIMENSIONS..2 * DIMENSIONS]),
            squared_distance(&block[2 * DIMENSIONS..3 * DIMENSIONS]),
            squared_distance(&block[3 * DIMENSIONS..]),
        ];
        for (offset, distance) in distances.into_iter().enumerate() {
            scan.offer(first_row + offset, distance);
        }
        first_row += ROWS_PER_BLOCK;
    }
    for (offset, row) in blocks.remainder().chunks_exact(DIMENSIONS).enumerate() {
        scan.offer(first_row + offset, squared_distance(row));
    }
    Some(scan)
}

impl Scan {
    #[inline(always)]
    fn offer(&mut self, index: usize, distance: f32) {
        if distance < self.best {
            self.second = self.best;
            self.best = distance;
            self.best_index = index;
        } else if distance < self.second {
            self.second = distance;
        }
    }
}

#[inline(always)]
fn squared_distance(probe: &Descriptor, row: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    for (p, r) in probe.chunks_exact(LANES).zip(row.chunks_exact(LANES)) {
        for lane in 0..LANES {
            let d = p[lane] - r[lane];
            lanes[lane] += d * d;
        }
    }
    // Pairwise halving rather than a left-to-right sum: a short dependency
    // chain the compiler does with vector shuffles.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for lane in 0..width {
            lanes[lane] += lanes[lane + width];
        }
    }
    lanes[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: f32) -> Descriptor {
        [value; DIMENSIONS]
    }

    #[test]
    fn finds_nearest_and_second_nearest() {
        let rows: Vec<f32> = [row(3.0), row(0.5), row(-1.0), row(0.25)].concat();
        let scan = scan(&rows, &row(0.0)).expect("non-empty");
        assert_eq!(scan.best_index, 3);
        assert_eq!(scan.best, 0.0625 * DIMENSIONS as f32);
        assert_eq!(scan.second, 0.25 * DIMENSIONS as f32);
    }

    #[test]
    fn agrees_with_a_plain_sum_on_uneven_values() {
        let mut probe = [0.0f32; DIMENSIONS];
        let mut other = [0.0f32; DIMENSIONS];
        for i in 0..DIMENSIONS {
            probe[i] = (i as f32 * 0.37).sin();
            other[i] = (i as f32 * 0.11).cos();
        }
        let plain: f32 = probe
            .iter()
            .zip(&other)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        let scan = scan(&other, &probe).expect("one row");
        assert!((scan.best - plain).abs() < 1e-4 * plain);
        assert_eq!(scan.second, f32::INFINITY);
    }

    #[test]
    fn rows_past_the_last_block_of_four_are_searched() {
        let values = [5.0, 0.5, 4.0, 3.0, 6.0, 2.0, 0.25];
        let rows: Vec<f32> = values.iter().map(|&v| row(v)).collect::<Vec<_>>().concat();
        let scan = scan(&rows, &row(0.0)).expect("non-empty");
        assert_eq!(scan.best_index, 6);
        assert_eq!(scan.best, 0.0625 * DIMENSIONS as f32);
        assert_eq!(scan.second, 0.25 * DIMENSIONS as f32);
        // And the nearest inside a block, found again after the remainder.
        let scan = super::scan(&rows, &row(3.9)).expect("non-empty");
        assert_eq!(scan.best_index, 2);
    }

    /// The CPU-specific kernels agree with the portable one, which on a CPU
    /// like this one's would otherwise go untested.
    #[test]
    fn every_kernel_finds_the_same() {
        let mut rows = Vec::new();
        for i in 0..1001 {
            rows.extend(
                (0..DIMENSIONS).map(|j| ((i * j + i * 131 + j * 7) % 997) as f32 / 997.0 - 0.5),
            );
        }
        let probe: Descriptor = std::array::from_fn(|j| ((j * 13) % 31) as f32 / 31.0 - 0.5);
        let portable = scan_portable(&rows, &probe).expect("non-empty");
        let dispatched = scan(&rows, &probe).expect("non-empty");
        assert_eq!(dispatched.best_index, portable.best_index);
        assert!((dispatched.best - portable.best).abs() <= 1e-4 * portable.best);
        assert!((dispatched.second - portable.second).abs() <= 1e-4 * portable.second);
    }

    #[test]
    fn empty_rows_have_no_nearest() {
        assert_eq!(scan(&[], &row(1.0)), None);
    }
}
