//! The neighbourhoods' kernel: squared euclidean distances between a few
//! vectors and every row of a row-major matrix (the cohort, or the
//! gallery), several vectors per pass over the matrix.
//!
//! Measuring a loaded gallery's neighbourhoods is a small matrix product:
//! every row against every cohort vector. One vector at a time reads the
//! whole cohort (a megabyte at 256 numbers) from cache per row; eight at a
//! time read it once per eight rows.
//!
//! A distance is the two squared norms less twice the dot product: one
//! multiply-add per pair and number, half the arithmetic of summing
//! differences squared. Its rounding error, about 1e-7 of the norms, is
//! far below anything a neighbourhood's mean distance to other people can
//! tell; the search's own distances (`distance.rs`) still sum differences
//! squared, exact however close two vectors are. Every kernel sums one
//! pair the same way whether it came in a block or alone, and a norm the
//! same way wherever it is taken, so a distance measured at loading equals
//! the one measured when a person joins the cohort later, and the distance
//! from a to b equals the distance from b to a.

use crate::distance::{LANES, sum_pairwise};

/// Vectors measured together in one pass over the matrix: each row loaded
/// (from the second-level cache, where a cohort of a megabyte sits) serves
/// eight vectors held in the first-level cache.
const VECTORS_PER_PASS: usize = 8;
/// Matrix rows per step of a pass: with eight vectors, sixteen sums.
const ROWS_PER_STEP: usize = 2;

/// The kernel the running CPU supports, detected once per gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx,
    Portable,
}

/// The squared distance of two vectors from their squared norms and dot
/// product, never below zero (two equal vectors may round to a hair less).
#[inline(always)]
fn from_dot(vector_norm: f32, row_norm: f32, dot: f32) -> f32 {
    ((vector_norm + row_norm) - 2.0 * dot).max(0.0)
}

impl Kernel {
    pub(super) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if is_x86_feature_detected!("avx") {
                return Kernel::Avx;
            }
        }
        Kernel::Portable
    }

    /// Every kernel the running CPU supports, for tests to compare.
    #[cfg(test)]
    fn available() -> Vec<Self> {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx") {
                kernels.push(Kernel::Avx);
            }
            if is_x86_feature_detected!("avx512f") {
                kernels.push(Kernel::Avx512);
            }
        }
        kernels
    }

    /// Whether this kernel's wide path takes vectors of `dimensions`.
    fn wide(self, dimensions: usize) -> bool {
        #[cfg(target_arch = "x86_64")]
        if self == Kernel::Avx512 {
            return dimensions.is_multiple_of(LANES) && dimensions > 0;
        }
        let _ = dimensions;
        false
    }

    /// `vector`'s squared norm, summed as this kernel sums a dot product:
    /// what [`Kernel::for_each_squared_distance`] takes as a norm.
    pub(super) fn squared_norm(self, vector: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if self.wide(vector.len()) {
            // SAFETY: `wide` holds only for the variant `detect` returns
            // when it found AVX-512F, and lengths that are multiples of 16.
            return unsafe { x86::pass_avx512([vector], vector, vector.len())[0][0] };
        }
        portable_dot(vector, vector)
    }

    /// Calls `visit(vector, row, squared distance)` for every vector of
    /// `vectors` and every row of `matrix` (rows of the vectors' length),
    /// `vector_norms` and `row_norms` holding each one's
    /// [`Kernel::squared_norm`]; each vector meets the rows in order.
    pub(super) fn for_each_squared_distance(
        self,
        vectors: &[&[f32]],
        vector_norms: &[f32],
        matrix: &[f32],
        row_norms: &[f32],
        mut visit: impl FnMut(usize, usize, f32),
    ) {
        let Some(dimensions) = vectors.first().map(|v| v.len()) else {
            return;
        };
        assert!(
            vectors.iter().all(|v| v.len() == dimensions),
            "vectors of one length"
        );
        if dimensions == 0 {
            return;
        }
        assert_eq!(matrix.len() % dimensions, 0, "whole rows");
        assert_eq!(matrix.len() / dimensions, row_norms.len(), "a norm per row");
        assert_eq!(vectors.len(), vector_norms.len(), "a norm per vector");
        #[cfg(target_arch = "x86_64")]
        if self.wide(dimensions) {
            // SAFETY: as in `squared_norm`; every vector and row was just
            // checked to be `dimensions` long.
            return unsafe {
                x86::passes_avx512(
                    vectors,
                    vector_norms,
                    matrix,
                    row_norms,
                    dimensions,
                    &mut visit,
                )
            };
        }
        #[cfg(target_arch = "x86_64")]
        if self == Kernel::Avx || self == Kernel::Avx512 {
            // SAFETY: either variant exists only when `detect` found AVX.
            return unsafe { passes_avx(vectors, matrix, vector_norms, row_norms, &mut visit) };
        }
        passes_portable(vectors, matrix, vector_norms, row_norms, &mut visit)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn passes_avx(
    vectors: &[&[f32]],
    matrix: &[f32],
    vector_norms: &[f32],
    row_norms: &[f32],
    visit: &mut impl FnMut(usize, usize, f32),
) {
    passes_portable(vectors, matrix, vector_norms, row_norms, visit)
}

/// Without wide registers to keep a block's sums in, a pass per vector.
#[inline(always)]
fn passes_portable(
    vectors: &[&[f32]],
    matrix: &[f32],
    vector_norms: &[f32],
    row_norms: &[f32],
    visit: &mut impl FnMut(usize, usize, f32),
) {
    let dimensions = vectors.first().map_or(0, |v| v.len());
    for (index, vector) in vectors.iter().enumerate() {
        for (row, values) in matrix.chunks_exact(dimensions).enumerate() {
            let dot = portable_dot(vector, values);
            visit(
                index,
                row,
                from_dot(vector_norms[index], row_norms[row], dot),
            );
        }
    }
}

/// A dot product in sixteen independent sums (which the compiler may
/// vectorise without reassociating), added pairwise, then the tail.
#[inline(always)]
fn portable_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let (a_blocks, b_blocks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_blocks
        .remainder()
        .iter()
        .zip(b_blocks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_blocks.zip(b_blocks) {
        for lane in 0..LANES {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    sum_pairwise(lanes) + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_setzero_ps,
        _mm512_shuffle_f32x4, _mm512_shuffle_ps, _mm512_storeu_ps,
    };

    use super::{LANES, ROWS_PER_STEP, VECTORS_PER_PASS, from_dot};

    /// Eight vectors per pass over the matrix, then the rest one by one;
    /// each pass two rows per step, then the rest one by one.
    ///
    /// # Safety
    /// The CPU supports AVX-512F; every vector and every row of `matrix`
    /// is `dimensions` long, a non-zero multiple of 16; a norm per vector
    /// and per row.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn passes_avx512(
        vectors: &[&[f32]],
        vector_norms: &[f32],
        matrix: &[f32],
        row_norms: &[f32],
        dimensions: usize,
        visit: &mut impl FnMut(usize, usize, f32),
    ) {
        let mut groups = vectors.chunks_exact(VECTORS_PER_PASS);
        let mut first = 0;
        for group in &mut groups {
            let group: [&[f32]; VECTORS_PER_PASS] = std::array::from_fn(|v| group[v]);
            let norms = &vector_norms[first..first + VECTORS_PER_PASS];
            // SAFETY: forwarded from the caller.
            unsafe { pass(group, norms, first, matrix, row_norms, dimensions, visit) };
            first += VECTORS_PER_PASS;
        }
        for vector in groups.remainder() {
            let norms = &vector_norms[first..=first];
            // SAFETY: forwarded from the caller.
            unsafe {
                pass(
                    [*vector],
                    norms,
                    first,
                    matrix,
                    row_norms,
                    dimensions,
                    visit,
                )
            };
            first += 1;
        }
    }

    /// One pass of `V` vectors (numbered from `first`) over the matrix.
    ///
    /// # Safety
    /// As [`passes_avx512`].
    #[inline(always)]
    unsafe fn pass<const V: usize>(
        vectors: [&[f32]; V],
        vector_norms: &[f32],
        first: usize,
        matrix: &[f32],
        row_norms: &[f32],
        dimensions: usize,
        visit: &mut impl FnMut(usize, usize, f32),
    ) {
        let mut steps = matrix.chunks_exact(ROWS_PER_STEP * dimensions);
        let mut row = 0;
        for step in &mut steps {
            // SAFETY: forwarded from the caller; `step` holds
            // ROWS_PER_STEP whole rows.
            let dots = unsafe { block::<V, ROWS_PER_STEP>(vectors, step, dimensions) };
            for (v, dots) in dots.iter().enumerate() {
                for (r, &dot) in dots.iter().enumerate() {
                    let squared = from_dot(vector_norms[v], row_norms[row + r], dot);
                    visit(first + v, row + r, squared);
                }
            }
            row += ROWS_PER_STEP;
        }
        for values in steps.remainder().chunks_exact(dimensions) {
            // SAFETY: as above, one whole row.
            let dots = unsafe { block::<V, 1>(vectors, values, dimensions) };
            for (v, dots) in dots.iter().enumerate() {
                visit(
                    first + v,
                    row,
                    from_dot(vector_norms[v], row_norms[row], dots[0]),
                );
            }
            row += 1;
        }
    }

    /// `vectors`' dot products with `row` alone, as a block sums them.
    ///
    /// # Safety
    /// As [`passes_avx512`], `row` one row.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn pass_avx512<const V: usize>(
        vectors: [&[f32]; V],
        row: &[f32],
        dimensions: usize,
    ) -> [[f32; 1]; V] {
        // SAFETY: forwarded from the caller.
        unsafe { block::<V, 1>(vectors, row, dimensions) }
    }

    /// Dot products of `V` vectors with the `R` rows of `rows` (V × R at
    /// most 16), with the sums held in registers: sixteen lanes per pair
    /// summed in order, then [`sum_lanes`].
    ///
    /// # Safety
    /// The CPU supports AVX-512F; every vector is `dimensions` long and
    /// `rows` holds `R` rows of it, `dimensions` a multiple of 16.
    #[inline(always)]
    unsafe fn block<const V: usize, const R: usize>(
        vectors: [&[f32]; V],
        rows: &[f32],
        dimensions: usize,
    ) -> [[f32; R]; V] {
        debug_assert!(
            V * R <= LANES
                && rows.len() == R * dimensions
                && vectors.iter().all(|v| v.len() == dimensions)
        );
        // Plain loops, no closures: a closure does not take on this
        // function's target features, so an intrinsic called in one (in
        // `array::map`, say) is a function call rather than an instruction.
        // SAFETY (whole function): the CPU supports AVX-512F (caller), and
        // every load reads 16 floats at `offset` < `dimensions` of one
        // vector or row, `dimensions` being a multiple of 16.
        let zero = unsafe { _mm512_setzero_ps() };
        let mut sums = [zero; LANES];
        let mut values = [zero; R];
        for offset in (0..dimensions).step_by(LANES) {
            for (r, values) in values.iter_mut().enumerate() {
                *values = unsafe { _mm512_loadu_ps(rows.as_ptr().add(r * dimensions + offset)) };
            }
            for (v, vector) in vectors.iter().enumerate() {
                let vector = unsafe { _mm512_loadu_ps(vector.as_ptr().add(offset)) };
                for (r, values) in values.iter().enumerate() {
                    let sum = &mut sums[v * R + r];
                    *sum = unsafe { _mm512_fmadd_ps(vector, *values, *sum) };
                }
            }
        }
        let totals = unsafe { sum_lanes(sums) };
        let mut dots = [[0.0; R]; V];
        for (v, dots) in dots.iter_mut().enumerate() {
            for (r, dot) in dots.iter_mut().enumerate() {
                let s = v * R + r;
                // `sum_lanes` leaves register s's total in lane 4 (s % 4) + s / 4.
                *dot = totals[4 * (s % 4) + s / 4];
            }
        }
        dots
    }

    /// The lane sums of sixteen registers at once, each register's lanes
    /// added in one fixed tree (lane i with i + 8, then i + 4, i + 2,
    /// i + 1) whatever the other registers hold: fifteen additions instead
    /// of sixteen horizontal sums. Register s's total ends in lane
    /// 4 (s % 4) + s / 4.
    ///
    /// # Safety
    /// The CPU supports AVX-512F.
    #[inline(always)]
    unsafe fn sum_lanes(registers: [__m512; LANES]) -> [f32; LANES] {
        // SAFETY (whole function): register shuffles and additions only;
        // the store writes 16 floats into a 16-float array.
        // Lanes i and i + 8: two registers' halves side by side.
        let mut halves = [unsafe { _mm512_setzero_ps() }; 8];
        for (j, half) in halves.iter_mut().enumerate() {
            let (a, b) = (registers[2 * j], registers[2 * j + 1]);
            let low = unsafe { _mm512_shuffle_f32x4::<0b01_00_01_00>(a, b) };
            let high = unsafe { _mm512_shuffle_f32x4::<0b11_10_11_10>(a, b) };
            *half = unsafe { _mm512_add_ps(low, high) };
        }
        // Lanes i and i + 4: four registers' quarters, one per 128 bits.
        let mut quarters = [unsafe { _mm512_setzero_ps() }; 4];
        for (j, quarter) in quarters.iter_mut().enumerate() {
            let (a, b) = (halves[2 * j], halves[2 * j + 1]);
            let low = unsafe { _mm512_shuffle_f32x4::<0b10_00_10_00>(a, b) };
            let high = unsafe { _mm512_shuffle_f32x4::<0b11_01_11_01>(a, b) };
            *quarter = unsafe { _mm512_add_ps(low, high) };
        }
        // Lanes i and i + 2, within each 128 bits.
        let mut pairs = [unsafe { _mm512_setzero_ps() }; 2];
        for (j, pair) in pairs.iter_mut().enumerate() {
            let (a, b) = (quarters[2 * j], quarters[2 * j + 1]);
            let low = unsafe { _mm512_shuffle_ps::<0b01_00_01_00>(a, b) };
            let high = unsafe { _mm512_shuffle_ps::<0b11_10_11_10>(a, b) };
            *pair = unsafe { _mm512_add_ps(low, high) };
        }
        // Lanes i and i + 1.
        let low = unsafe { _mm512_shuffle_ps::<0b10_00_10_00>(pairs[0], pairs[1]) };
        let high = unsafe { _mm512_shuffle_ps::<0b11_01_11_01>(pairs[0], pairs[1]) };
        let mut totals = [0.0f32; LANES];
        unsafe { _mm512_storeu_ps(totals.as_mut_ptr(), _mm512_add_ps(low, high)) };
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uneven values, different for every row and column.
    fn matrix(rows: usize, dimensions: usize, seed: usize) -> Vec<f32> {
        (0..rows * dimensions)
            .map(|i| ((i * 7919 + seed * 104_729) % 1009) as f32 / 1009.0 - 0.5)
            .collect()
    }

    /// Every distance of every kernel against the plain definition, for
    /// whole and partial groups of vectors and steps of rows, and a length
    /// no vector kernel is made for; and the same pair gets the same bits
    /// in a block as alone, either way round.
    #[test]
    fn every_kernel_agrees_with_the_definition_and_with_itself_alone() {
        for dimensions in [256, 128, 48, 100] {
            let rows = 23;
            let cohort = matrix(rows, dimensions, 1);
            let others = matrix(7, dimensions, 2);
            let vectors: Vec<&[f32]> = others.chunks_exact(dimensions).collect();
            for kernel in Kernel::available() {
                let norms: Vec<f32> = cohort
                    .chunks_exact(dimensions)
                    .map(|row| kernel.squared_norm(row))
                    .collect();
                let vector_norms: Vec<f32> =
                    vectors.iter().map(|v| kernel.squared_norm(v)).collect();
                let mut seen = vec![None; vectors.len() * rows];
                let mut next_row = vec![0; vectors.len()];
                let visit = |v: usize, r: usize, d: f32| {
                    assert_eq!(r, next_row[v], "{kernel:?}: rows in order");
                    next_row[v] += 1;
                    seen[v * rows + r] = Some(d);
                };
                kernel.for_each_squared_distance(&vectors, &vector_norms, &cohort, &norms, visit);
                assert!(next_row.iter().all(|&n| n == rows), "{kernel:?}");
                for (v, vector) in vectors.iter().enumerate() {
                    for (r, row) in cohort.chunks_exact(dimensions).enumerate() {
                        let found = seen[v * rows + r].expect("visited");
                        let plain = vector
                            .iter()
                            .zip(row)
                            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                            .sum::<f64>() as f32;
                        // The method's error is a few units in the last
                        // place of the norms, not of the distance.
                        let vector_norm = vector_norms[v];
                        let scale = vector_norm + norms[r];
                        assert!(
                            (found - plain).abs() <= 1e-6 * scale,
                            "{kernel:?}: {found} for {plain}"
                        );
                        let mut alone = None;
                        kernel.for_each_squared_distance(
                            &[row],
                            &[norms[r]],
                            vector,
                            &[vector_norm],
                            |_, _, d| {
                                alone = Some(d);
                            },
                        );
                        assert_eq!(alone, Some(found), "{kernel:?}: the pair alone, reversed");
                    }
                }
            }
        }
    }

    #[test]
    fn nothing_to_measure_visits_nothing() {
        let kernel = Kernel::detect();
        kernel.for_each_squared_distance(&[], &[], &[1.0; 16], &[16.0], |_, _, _| {
            panic!("no vectors")
        });
        kernel.for_each_squared_distance(&[&[1.0; 16]], &[16.0], &[], &[], |_, _, _| {
            panic!("no rows")
        });
    }

    /// Two equal vectors are at distance zero, not a hair below it, and
    /// the norm is the sum of squares.
    #[test]
    fn equal_vectors_are_at_zero_and_norms_are_sums_of_squares() {
        let vector = matrix(1, 256, 3);
        for kernel in Kernel::available() {
            let norm = kernel.squared_norm(&vector);
            let plain: f32 = vector.iter().map(|x| x * x).sum();
            assert!((norm - plain).abs() <= 1e-5 * plain, "{kernel:?}");
            let mut distance = None;
            kernel.for_each_squared_distance(&[&vector], &[norm], &vector, &[norm], |_, _, d| {
                distance = Some(d);
            });
            let distance = distance.expect("visited");
            assert!((0.0..1e-4).contains(&distance), "{kernel:?}: {distance}");
        }
    }
}
