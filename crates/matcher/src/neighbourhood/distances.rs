//! The neighbourhoods' kernel: squared euclidean distances between a few
//! vectors and every row of a row-major matrix (the cohort, or the
//! gallery), several vectors per pass over the matrix.
//!
//! Measuring a loaded gallery's neighbourhoods is a small matrix product:
//! every row against every cohort vector. One vector at a time reads the
//! whole cohort (a megabyte at 256 numbers) from cache per row; four at a
//! time read it once per four rows, and each cohort row loaded serves four
//! vectors from registers. The distances are summed as differences
//! squared, not as norms less twice the dot product, so that two nearly
//! equal vectors keep their small distance exactly; and every kernel sums
//! one pair the same way whether it came in a block or alone, so a
//! distance measured at loading equals the one measured when a person
//! joins the cohort later.

use crate::distance::squared_distance;

/// Vectors measured together in one pass over the matrix.
const VECTORS_PER_PASS: usize = 4;
/// Matrix rows per step of a pass.
const ROWS_PER_STEP: usize = 4;
/// Floats per AVX-512 register.
const LANES: usize = 16;

/// The kernel the running CPU supports, detected once per gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx,
    Portable,
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

    /// Calls `visit(vector, row, squared distance)` for every vector of
    /// `vectors` and every row of `matrix` (rows of the vectors' length);
    /// each vector meets the rows in order.
    pub(super) fn for_each_squared_distance(
        self,
        vectors: &[&[f32]],
        matrix: &[f32],
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
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 if dimensions % LANES == 0 => {
                // SAFETY: the variant exists only when `detect` found
                // AVX-512F; every vector and row was just checked to be
                // `dimensions` long, a multiple of 16.
                unsafe { x86::passes_avx512(vectors, matrix, dimensions, &mut visit) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 | Kernel::Avx => {
                // SAFETY: either variant exists only when `detect` found AVX.
                unsafe { passes_avx(vectors, matrix, dimensions, &mut visit) }
            }
            Kernel::Portable => passes_portable(vectors, matrix, dimensions, &mut visit),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn passes_avx(
    vectors: &[&[f32]],
    matrix: &[f32],
    dimensions: usize,
    visit: &mut impl FnMut(usize, usize, f32),
) {
    passes_portable(vectors, matrix, dimensions, visit)
}

/// Without wide registers to keep a block's sums in, a pass per vector.
#[inline(always)]
fn passes_portable(
    vectors: &[&[f32]],
    matrix: &[f32],
    dimensions: usize,
    visit: &mut impl FnMut(usize, usize, f32),
) {
    for (index, vector) in vectors.iter().enumerate() {
        for (row, values) in matrix.chunks_exact(dimensions).enumerate() {
            visit(index, row, squared_distance(vector, values));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_reduce_add_ps, _mm512_setzero_ps, _mm512_sub_ps,
    };

    use super::{ROWS_PER_STEP, VECTORS_PER_PASS};

    /// Four vectors per pass over the matrix, then the rest one by one;
    /// each pass four rows per step, then the rest one by one.
    ///
    /// # Safety
    /// The CPU supports AVX-512F; every vector and every row of `matrix`
    /// is `dimensions` long, a non-zero multiple of 16.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn passes_avx512(
        vectors: &[&[f32]],
        matrix: &[f32],
        dimensions: usize,
        visit: &mut impl FnMut(usize, usize, f32),
    ) {
        let mut groups = vectors.chunks_exact(VECTORS_PER_PASS);
        let mut first = 0;
        for group in &mut groups {
            let group: [&[f32]; VECTORS_PER_PASS] = std::array::from_fn(|v| group[v]);
            // SAFETY: forwarded from the caller.
            unsafe { pass(group, first, matrix, dimensions, visit) };
            first += VECTORS_PER_PASS;
        }
        for vector in groups.remainder() {
            // SAFETY: forwarded from the caller.
            unsafe { pass([*vector], first, matrix, dimensions, visit) };
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
        first: usize,
        matrix: &[f32],
        dimensions: usize,
        visit: &mut impl FnMut(usize, usize, f32),
    ) {
        let mut steps = matrix.chunks_exact(ROWS_PER_STEP * dimensions);
        let mut row = 0;
        for step in &mut steps {
            // SAFETY: forwarded from the caller; `step` holds
            // ROWS_PER_STEP whole rows.
            let sums = unsafe { block::<V, ROWS_PER_STEP>(vectors, step, dimensions) };
            for (v, sums) in sums.iter().enumerate() {
                for (r, &sum) in sums.iter().enumerate() {
                    visit(first + v, row + r, sum);
                }
            }
            row += ROWS_PER_STEP;
        }
        for values in steps.remainder().chunks_exact(dimensions) {
            // SAFETY: as above, one whole row.
            let sums = unsafe { block::<V, 1>(vectors, values, dimensions) };
            for (v, sums) in sums.iter().enumerate() {
                visit(first + v, row, sums[0]);
            }
            row += 1;
        }
    }

    /// Squared distances of `V` vectors to the `R` rows of `rows`, with
    /// `V × R` sums held in registers; each pair summed as the one-row
    /// case sums it (sixteen lanes of differences squared, in order, then
    /// one horizontal sum).
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
            rows.len() == R * dimensions && vectors.iter().all(|v| v.len() == dimensions)
        );
        // Plain loops, no closures: a closure does not take on this
        // function's target features, so an intrinsic called in one (in
        // `array::map`, say) is a function call rather than an instruction.
        // SAFETY (whole function): the CPU supports AVX-512F (caller), and
        // every load reads 16 floats at `offset` < `dimensions` of one
        // vector or row, `dimensions` being a multiple of 16.
        let zero = unsafe { _mm512_setzero_ps() };
        let mut sums = [[zero; R]; V];
        let mut values = [zero; R];
        for offset in (0..dimensions).step_by(16) {
            for (r, values) in values.iter_mut().enumerate() {
                *values = unsafe { _mm512_loadu_ps(rows.as_ptr().add(r * dimensions + offset)) };
            }
            for (vector, sums) in vectors.iter().zip(&mut sums) {
                let vector = unsafe { _mm512_loadu_ps(vector.as_ptr().add(offset)) };
                for (sum, values) in sums.iter_mut().zip(&values) {
                    let difference = unsafe { _mm512_sub_ps(vector, *values) };
                    *sum = unsafe { _mm512_fmadd_ps(difference, difference, *sum) };
                }
            }
        }
        let mut distances = [[0.0; R]; V];
        for (distances, sums) in distances.iter_mut().zip(&sums) {
            for (distance, sum) in distances.iter_mut().zip(sums) {
                *distance = unsafe { _mm512_reduce_add_ps(*sum) };
            }
        }
        distances
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
    /// in a block as alone.
    #[test]
    fn every_kernel_agrees_with_the_definition_and_with_itself_alone() {
        for dimensions in [256, 128, 48, 100] {
            let rows = 23;
            let cohort = matrix(rows, dimensions, 1);
            let others = matrix(7, dimensions, 2);
            let vectors: Vec<&[f32]> = others.chunks_exact(dimensions).collect();
            for kernel in Kernel::available() {
                let mut seen = vec![None; vectors.len() * rows];
                let mut next_row = vec![0; vectors.len()];
                kernel.for_each_squared_distance(&vectors, &cohort, |v, r, d| {
                    assert_eq!(r, next_row[v], "{kernel:?}: rows in order");
                    next_row[v] += 1;
                    seen[v * rows + r] = Some(d);
                });
                assert!(next_row.iter().all(|&n| n == rows), "{kernel:?}");
                for (v, vector) in vectors.iter().enumerate() {
                    for (r, row) in cohort.chunks_exact(dimensions).enumerate() {
                        let found = seen[v * rows + r].expect("visited");
                        let plain: f32 =
                            vector.iter().zip(row).map(|(a, b)| (a - b) * (a - b)).sum();
                        assert!((found - plain).abs() <= 1e-5 * plain, "{kernel:?}");
                        let mut alone = None;
                        kernel.for_each_squared_distance(&[row], vector, |_, _, d| {
                            alone = Some(d);
                        });
                        assert_eq!(alone, Some(found), "{kernel:?}: the pair alone, reversed");
                    }
                }
            }
        }
    }

    #[test]
    fn nothing_to_measure_visits_nothing() {
        let kernel = Kernel::detect();
        kernel.for_each_squared_distance(&[], &[1.0; 16], |_, _, _| panic!("no vectors"));
        kernel.for_each_squared_distance(&[&[1.0; 16]], &[], |_, _, _| panic!("no rows"));
    }
}
