//! The search kernel: squared euclidean distances of one probe to every row
//! of a contiguous row-major matrix, each handed to a visitor in row order.
//!
//! The portable loop keeps 16 independent accumulators per row so the
//! compiler can vectorise it without reassociating floating-point sums. On
//! x86-64, where the baseline only guarantees SSE2, the CPU is asked at run
//! time: with AVX-512 an explicit kernel runs (the auto-vectorised one came
//! out differently from build to build), with AVX the portable loop
//! compiled for AVX.

pub(crate) const LANES: usize = 16;
const ROWS_PER_BLOCK: usize = 4;

/// Calls `visit(row, squared distance)` for every row of `rows`, a
/// row-major matrix whose rows have the probe's length, in order.
pub(crate) fn for_each_distance(rows: &[f32], probe: &[f32], visit: impl FnMut(usize, f32)) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY (both): the CPU was just checked to support AVX-512F, and
        // the probe has the kernel's length.
        match probe.len() {
            128 => return unsafe { scan_avx512::<8>(rows, probe, visit) },
            256 => return unsafe { scan_avx512::<16>(rows, probe, visit) },
            _ => {}
        }
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU was just checked to support AVX.
        return unsafe { scan_avx(rows, probe, visit) };
    }
    scan_portable(rows, probe, visit)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn scan_avx(rows: &[f32], probe: &[f32], visit: impl FnMut(usize, f32)) {
    scan_portable(rows, probe, visit)
}

/// `REGISTERS` 16-float registers per row: the probe must be
/// `16 * REGISTERS` long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn scan_avx512<const REGISTERS: usize>(rows: &[f32], probe: &[f32], visit: impl FnMut(usize, f32)) {
    use std::arch::x86_64::{
        __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_reduce_add_ps, _mm512_setzero_ps,
        _mm512_sub_ps,
    };
    let dimensions = 16 * REGISTERS;
    assert_eq!(probe.len(), dimensions, "the kernel's length");
    // SAFETY: reads floats 16 * i .. 16 * i + 16 of the probe, i < REGISTERS.
    let probe: [__m512; REGISTERS] =
        std::array::from_fn(|i| unsafe { _mm512_loadu_ps(probe.as_ptr().add(16 * i)) });
    scan_rows(rows, dimensions, visit, |row| {
        let mut sum = _mm512_setzero_ps();
        for (i, probe) in probe.iter().enumerate() {
            // SAFETY: `scan_rows` passes whole rows of `dimensions` floats.
            let values = unsafe { _mm512_loadu_ps(row.as_ptr().add(16 * i)) };
            let difference = _mm512_sub_ps(*probe, values);
            sum = _mm512_fmadd_ps(difference, difference, sum);
        }
        _mm512_reduce_add_ps(sum)
    })
}

#[inline(always)]
fn scan_portable(rows: &[f32], probe: &[f32], visit: impl FnMut(usize, f32)) {
    scan_rows(rows, probe.len(), visit, |row| squared_distance(probe, row))
}

#[inline(always)]
fn scan_rows(
    rows: &[f32],
    dimensions: usize,
    mut visit: impl FnMut(usize, f32),
    squared_distance: impl Fn(&[f32]) -> f32,
) {
    if dimensions == 0 {
        return;
    }
    // Four rows per step: their independent sums keep more loads in flight,
    // which a large, memory-bound gallery needs to reach full bandwidth.
    let mut blocks = rows.chunks_exact(ROWS_PER_BLOCK * dimensions);
    let mut first_row = 0;
    for block in &mut blocks {
        let distances = [
            squared_distance(&block[..dimensions]),
            squared_distance(&block[dimensions..2 * dimensions]),
            squared_distance(&block[2 * dimensions..3 * dimensions]),
            squared_distance(&block[3 * dimensions..]),
        ];
        for (offset, distance) in distances.into_iter().enumerate() {
            visit(first_row + offset, distance);
        }
        first_row += ROWS_PER_BLOCK;
    }
    for (offset, row) in blocks.remainder().chunks_exact(dimensions).enumerate() {
        visit(first_row + offset, squared_distance(row));
    }
}

/// The portable loop's distance of one row.
#[inline(always)]
pub(crate) fn squared_distance(probe: &[f32], row: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let (probe_blocks, row_blocks) = (probe.chunks_exact(LANES), row.chunks_exact(LANES));
    let tail: f32 = probe_blocks
        .remainder()
        .iter()
        .zip(row_blocks.remainder())
        .map(|(p, r)| (p - r) * (p - r))
        .sum();
    for (p, r) in probe_blocks.zip(row_blocks) {
        for lane in 0..LANES {
            let d = p[lane] - r[lane];
            lanes[lane] += d * d;
        }
    }
    sum_pairwise(lanes) + tail
}

/// Sixteen lanes' sums added pairwise (lane i with i + 8, then i + 4, i + 2,
/// i + 1) rather than left to right: a short dependency chain the compiler
/// does with vector shuffles.
#[inline(always)]
pub(crate) fn sum_pairwise(mut lanes: [f32; LANES]) -> f32 {
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

    const DIMENSIONS: usize = 128;

    fn row(value: f32) -> Vec<f32> {
        vec![value; DIMENSIONS]
    }

    fn distances(rows: &[f32], probe: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        for_each_distance(rows, probe, |index, d| {
            assert_eq!(index, out.len(), "rows come in order");
            out.push(d);
        });
        out
    }

    #[test]
    fn every_row_is_visited_in_order_past_the_last_block_of_four() {
        let values = [5.0, 0.5, 4.0, 3.0, 6.0, 2.0, 0.25];
        let rows: Vec<f32> = values.iter().map(|&v| row(v)).collect::<Vec<_>>().concat();
        let expected: Vec<f32> = values.iter().map(|v| v * v * DIMENSIONS as f32).collect();
        assert_eq!(distances(&rows, &row(0.0)), expected);
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
        let found = distances(&other, &probe);
        assert!((found[0] - plain).abs() < 1e-4 * plain);
    }

    /// The CPU-specific kernels agree with the portable one, which on a CPU
    /// like this one's would otherwise go untested; for each vector length
    /// a model has, and one no kernel is made for.
    #[test]
    fn every_kernel_finds_the_same() {
        for dimensions in [128, 256, 100] {
            let mut rows = Vec::new();
            for i in 0..1001 {
                rows.extend(
                    (0..dimensions).map(|j| ((i * j + i * 131 + j * 7) % 997) as f32 / 997.0 - 0.5),
                );
            }
            let probe: Vec<f32> = (0..dimensions)
                .map(|j| ((j * 13) % 31) as f32 / 31.0 - 0.5)
                .collect();
            let mut portable = Vec::new();
            scan_portable(&rows, &probe, |_, d| portable.push(d));
            let plain: f32 = probe
                .iter()
                .zip(&rows)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            assert!((portable[0] - plain).abs() <= 1e-4 * plain);
            let dispatched = distances(&rows, &probe);
            assert_eq!(dispatched.len(), 1001);
            for (a, b) in dispatched.iter().zip(&portable) {
                assert!((a - b).abs() <= 1e-4 * b);
            }
        }
    }

    #[test]
    fn empty_rows_visit_nothing() {
        assert!(distances(&[], &row(1.0)).is_empty());
    }
}
