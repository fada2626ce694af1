//! Single-precision matrix products for convolutions: `C = A * B` with `A`
//! the im2col'd input (one row per output pixel) and `B` the weights (one
//! column per output channel).
//!
//! Both operands are packed into panels so the inner kernel reads memory
//! contiguously: `A` in panels of [`MR`] rows stored k-major, `B` in panels of
//! [`NR`] columns stored k-major. The kernel computes one `MR x NR` tile; the
//! instruction set is picked at run time (AVX-512, AVX2+FMA, or portable).

/// Rows of `A` (output pixels) per panel and per kernel call.
pub const MR: usize = 8;
/// Columns of `B` (output channels) per panel and per kernel call.
pub const NR: usize = 32;

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

    /// `tile = a_panel * b_panel` over `k` steps: `a_panel` holds `k * MR`
    /// values, `b_panel` `k * NR`; the tile is row-major `MR x NR`.
    #[inline]
    pub fn tile(self, k: usize, a_panel: &[f32], b_panel: &[f32], tile: &mut [f32; MR * NR]) {
        let a_panel = &a_panel[..k * MR];
        let b_panel = &b_panel[..k * NR];
        match self {
            // SAFETY: the variant exists only when `detect` found the
            // features; the slices were just bounds-checked to `k` steps.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::tile_avx512(k, a_panel, b_panel, tile) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { x86::tile_avx2(k, a_panel, b_panel, tile) },
            Kernel::Portable => tile_portable(k, a_panel, b_panel, tile),
        }
    }
}

fn tile_portable(k: usize, a_panel: &[f32], b_panel: &[f32], tile: &mut [f32; MR * NR]) {
    tile.fill(0.0);
    for step in 0..k {
        let a = &a_panel[step * MR..step * MR + MR];
        let b = &b_panel[step * NR..step * NR + NR];
        for (row, &av) in tile.chunks_exact_mut(NR).zip(a) {
            for (t, &bv) in row.iter_mut().zip(b) {
                *t += av * bv;
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
    use super::{MR, NR};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX-512F; `a` holds `k * MR` and `b` `k * NR` values.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn tile_avx512(k: usize, a: &[f32], b: &[f32], tile: &mut [f32; MR * NR]) {
        debug_assert!(a.len() >= k * MR && b.len() >= k * NR);
        let (a, b) = (a.as_ptr(), b.as_ptr());
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        for step in 0..k {
            // SAFETY: `step < k`, so both reads stay inside the panels.
            unsafe {
                let b0 = _mm512_loadu_ps(b.add(step * NR));
                let b1 = _mm512_loadu_ps(b.add(step * NR + 16));
                let a_step = a.add(step * MR);
                for (row, acc_row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*a_step.add(row));
                    acc_row[0] = _mm512_fmadd_ps(av, b0, acc_row[0]);
                    acc_row[1] = _mm512_fmadd_ps(av, b1, acc_row[1]);
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
    /// The CPU must support AVX2 and FMA; `a` holds `k * MR` and `b` `k * NR` values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile_avx2(k: usize, a: &[f32], b: &[f32], tile: &mut [f32; MR * NR]) {
        debug_assert!(a.len() >= k * MR && b.len() >= k * NR);
        // 16 ymm registers hold a 4 x 16 sub-tile at a time.
        for row0 in [0, 4] {
            for col0 in [0, 16] {
                // SAFETY: forwarded from the caller; offsets stay inside the tile.
                unsafe { quarter_avx2(k, a.as_ptr(), b.as_ptr(), row0, col0, tile) };
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn quarter_avx2(
        k: usize,
        a: *const f32,
        b: *const f32,
        row0: usize,
        col0: usize,
        tile: &mut [f32; MR * NR],
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        for step in 0..k {
            // SAFETY: `step < k`; row0 + 3 < MR and col0 + 15 < NR.
            unsafe {
                let b0 = _mm256_loadu_ps(b.add(step * NR + col0));
                let b1 = _mm256_loadu_ps(b.add(step * NR + col0 + 8));
                let a_step = a.add(step * MR + row0);
                for (row, acc_row) in acc.iter_mut().enumerate() {
                    let av = _mm256_set1_ps(*a_step.add(row));
                    acc_row[0] = _mm256_fmadd_ps(av, b0, acc_row[0]);
                    acc_row[1] = _mm256_fmadd_ps(av, b1, acc_row[1]);
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

    fn reference(k: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; MR * NR];
        for i in 0..MR {
            for j in 0..NR {
                out[i * NR + j] = (0..k).map(|s| a[s * MR + i] * b[s * NR + j]).sum();
            }
        }
        out
    }

    #[test]
    fn every_available_kernel_matches_the_definition() {
        let k = 37;
        let a: Vec<f32> = (0..k * MR)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
            .collect();
        let b: Vec<f32> = (0..k * NR)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let want = reference(k, &a, &b);
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
        for kernel in kernels {
            let mut tile = [f32::NAN; MR * NR];
            kernel.tile(k, &a, &b, &mut tile);
            for (got, want) in tile.iter().zip(&want) {
                assert!((got - want).abs() < 1e-4, "{kernel:?}: {got} vs {want}");
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
