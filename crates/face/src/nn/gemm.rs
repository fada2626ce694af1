//! Single-precision matrix products for convolutions: `C = A * B` with `A`
//! the input's receptive fields (one row per output pixel) and `B` the
//! weights (one column per output channel).
//!
//! `A` is never materialised (no im2col): a row of `A` is a few runs of the
//! (zero-padded) HWC input, one run per filter row, read in place. `B` is
//! packed once into panels of [`NR`] columns stored k-major. The kernel
//! computes one `MR x NR` tile; the instruction set is picked at run time
//! (AVX-512, AVX2+FMA, or portable).

/// Rows of `A` (output pixels) per panel and per kernel call.
pub const MR: usize = 8;
/// Columns of `B` (output channels) per panel and per kernel call.
pub const NR: usize = 32;

/// How far ahead of the step being multiplied the x86 kernels ask for
/// `B`, in values. The weights of the descriptor's deep layers (megabytes,
/// read once a face) come from beyond the L2 cache, and the hardware
/// prefetchers stop at every 4 KiB page; asking a page ahead keeps the
/// stream flowing.
#[cfg(target_arch = "x86_64")]
const PREFETCH_AHEAD: usize = 1024;

/// The tile kernel available on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    Portable,
}

impl Kernel {
    /// The fastest kernel the running CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Kernel::Avx2Fma;
            }
        }
        Kernel::Portable
    }

    /// Every kernel the running CPU supports, for tests to compare.
    #[cfg(test)]
    pub fn available() -> Vec<Self> {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                kernels.push(Kernel::Avx512);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                kernels.push(Kernel::Avx2Fma);
            }
        }
        kernels
    }

    /// `tile = A * b_panel` over the `K = rows.segments * rows.run` steps;
    /// `b_panel` holds `K * NR` values; the tile is row-major `MR x NR`.
    #[inline]
    pub fn tile(self, rows: &Rows, b_panel: &[f32], tile: &mut [f32; MR * NR]) {
        let k = rows.segments * rows.run;
        let b_panel = &b_panel[..k * NR];
        // Every run of every row must lie inside the data: the kernels read
        // without further checks.
        if k > 0 {
            let span = (rows.segments - 1) * rows.pitch + rows.run;
            assert!(rows.offsets.iter().all(|&o| o + span <= rows.data.len()));
        }
        match self {
            // SAFETY: the variant exists only when `detect` found the
            // features; the runs and the panel were just bounds-checked.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::tile_avx512(rows, b_panel, tile) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { x86::tile_avx2(rows, b_panel, tile) },
            Kernel::Portable => tile_portable(rows, b_panel, tile),
        }
    }
}

/// Where a tile's `MR` rows of `A` are: row `i` is the concatenation, over
/// `s` in `0..segments`, of `data[offsets[i] + s * pitch..][..run]`.
pub struct Rows<'a> {
    pub data: &'a [f32],
    pub offsets: [usize; MR],
    pub segments: usize,
    pub run: usize,
    pub pitch: usize,
}

fn tile_portable(rows: &Rows, b_panel: &[f32], tile: &mut [f32; MR * NR]) {
    tile.fill(0.0);
    for s in 0..rows.segments {
        for j in 0..rows.run {
            let b = &b_panel[(s * rows.run + j) * NR..][..NR];
            for (out_row, &offset) in tile.chunks_exact_mut(NR).zip(&rows.offsets) {
                let av = rows.data[offset + s * rows.pitch + j];
                for (t, &bv) in out_row.iter_mut().zip(b) {
                    *t += av * bv;
                }
            }
        }
    }
}

/// Packs a `k x n` row-major matrix into zero-padded panels of [`NR`] columns.
pub fn pack_b(k: usize, n: usize, b: &[f32]) -> Vec<f32> {
    let panels = n.div_ceil(NR);
    let mut packed = vec![0.0; panels * k * NR];
    for (p, panel) in packed.chunks_exact_mut(k * NR).enumerate() {
        for (step, dst) in panel.chunks_exact_mut(NR).enumerate() {
            let cols = (n - p * NR).min(NR);
            let src = &b[step * n + p * NR..step * n + p * NR + cols];
            dst[..cols].copy_from_slice(src);
        }
    }
    packed
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{MR, NR, PREFETCH_AHEAD, Rows};
    use std::arch::x86_64::*;

    /// Asks for the two cache lines of the `B` step `PREFETCH_AHEAD` values
    /// after `b_step` to be brought into L2.
    #[inline(always)]
    fn prefetch_b(b_step: *const f32) {
        let ahead = b_step.wrapping_add(PREFETCH_AHEAD);
        // SAFETY: a prefetch is a hint: it never faults and reads nothing
        // the program sees, so any address will do (`wrapping_add` makes
        // one without claiming it is inside the allocation).
        unsafe {
            _mm_prefetch::<_MM_HINT_T1>(ahead.cast());
            _mm_prefetch::<_MM_HINT_T1>(ahead.wrapping_add(16).cast());
        }
    }

    /// # Safety
    /// The CPU must support AVX-512F; every run of `rows` lies inside
    /// `rows.data` and `b` holds `segments * run * NR` values.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn tile_avx512(rows: &Rows, b: &[f32], tile: &mut [f32; MR * NR]) {
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        let mut b_step = b.as_ptr();
        for s in 0..rows.segments {
            // SAFETY: the caller checked each run's bounds.
            let a: [*const f32; MR] = rows
                .offsets
                .map(|o| unsafe { rows.data.as_ptr().add(o + s * rows.pitch) });
            for j in 0..rows.run {
                prefetch_b(b_step);
                // SAFETY: `j < run` stays inside each run; `b_step` advances
                // one NR-wide step per k, `segments * run` times in all.
                unsafe {
                    let b0 = _mm512_loadu_ps(b_step);
                    let b1 = _mm512_loadu_ps(b_step.add(16));
                    for (acc_row, a_row) in acc.iter_mut().zip(&a) {
                        let av = _mm512_set1_ps(*a_row.add(j));
                        acc_row[0] = _mm512_fmadd_ps(av, b0, acc_row[0]);
                        acc_row[1] = _mm512_fmadd_ps(av, b1, acc_row[1]);
                    }
                    b_step = b_step.add(NR);
                }
            }
        }
        let out = tile.as_mut_ptr();
        for (row, acc_row) in acc.iter().enumerate() {
            // SAFETY: the tile has MR rows of NR = 32 values.
            unsafe {
                _mm512_storeu_ps(out.add(row * NR), acc_row[0]);
                _mm512_storeu_ps(out.add(row * NR + 16), acc_row[1]);
            }
        }
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; otherwise as [`tile_avx512`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile_avx2(rows: &Rows, b: &[f32], tile: &mut [f32; MR * NR]) {
        // 16 ymm registers hold a 4 x 16 sub-tile at a time.
        for row0 in [0, 4] {
            for col0 in [0, 16] {
                // SAFETY: forwarded from the caller.
                unsafe { quarter_avx2(rows, b, row0, col0, tile) };
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn quarter_avx2(
        rows: &Rows,
        b: &[f32],
        row0: usize,
        col0: usize,
        tile: &mut [f32; MR * NR],
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        // SAFETY: col0 + 16 <= NR, so every load stays in its NR-wide step.
        let mut b_step = unsafe { b.as_ptr().add(col0) };
        for s in 0..rows.segments {
            let a: [*const f32; 4] = std::array::from_fn(|i| {
                // SAFETY: the caller checked each run's bounds.
                unsafe {
                    rows.data
                        .as_ptr()
                        .add(rows.offsets[row0 + i] + s * rows.pitch)
                }
            });
            for j in 0..rows.run {
                prefetch_b(b_step);
                // SAFETY: as in `tile_avx512`.
                unsafe {
                    let b0 = _mm256_loadu_ps(b_step);
                    let b1 = _mm256_loadu_ps(b_step.add(8));
                    for (acc_row, a_row) in acc.iter_mut().zip(&a) {
                        let av = _mm256_set1_ps(*a_row.add(j));
                        acc_row[0] = _mm256_fmadd_ps(av, b0, acc_row[0]);
                        acc_row[1] = _mm256_fmadd_ps(av, b1, acc_row[1]);
                    }
                    b_step = b_step.add(NR);
                }
            }
        }
        let out = tile.as_mut_ptr();
        for (row, acc_row) in acc.iter().enumerate() {
            // SAFETY: inside the MR x NR tile.
            unsafe {
                _mm256_storeu_ps(out.add((row0 + row) * NR + col0), acc_row[0]);
                _mm256_storeu_ps(out.add((row0 + row) * NR + col0 + 8), acc_row[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_available_kernel_matches_the_definition() {
        // Rows of 2 runs of 7 values, 11 apart, at scattered offsets.
        let (segments, run, pitch) = (2, 7, 11);
        let k = segments * run;
        let data: Vec<f32> = (0..200)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
            .collect();
        let offsets = [0, 3, 50, 51, 90, 120, 7, 160];
        let b: Vec<f32> = (0..k * NR)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let a_value = |i: usize, kk: usize| data[offsets[i] + (kk / run) * pitch + kk % run];
        let rows = Rows {
            data: &data,
            offsets,
            segments,
            run,
            pitch,
        };
        for kernel in Kernel::available() {
            let mut tile = [f32::NAN; MR * NR];
            kernel.tile(&rows, &b, &mut tile);
            for i in 0..MR {
                for j in 0..NR {
                    let want: f32 = (0..k).map(|kk| a_value(i, kk) * b[kk * NR + j]).sum();
                    let got = tile[i * NR + j];
                    assert!((got - want).abs() < 1e-4, "{kernel:?}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn packing_pads_columns_with_zeros() {
        // 2 x 3 matrix -> one panel of 2 steps x NR.
        let packed = pack_b(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(packed.len(), 2 * NR);
        assert_eq!(&packed[..4], &[1.0, 2.0, 3.0, 0.0]);
        assert_eq!(&packed[NR..NR + 4], &[4.0, 5.0, 6.0, 0.0]);
    }
}
