//! The detector's 1-D correlations (one pass of a separable filter), on
//! the instruction set chosen once by [`Kernel::detect`]: AVX-512 (one
//! register per block of 16 outputs), AVX2+FMA (two), or portable code.
//!
//! Every output sums its taps in order from zero, so the two fused kernels
//! give the same bits; the portable one rounds each product before adding
//! it, which moves scores by about 1e-7 relative, far below any decision
//! the detector makes.

use crate::fhog::COLUMN_BLOCK;
use crate::nn::gemm::Kernel;

/// One correlation over `rows` rows of `width` outputs (a multiple of
/// [`COLUMN_BLOCK`]), rows `stride` apart in both `src` and the output:
/// `out[r][c] (+)= sum_k src[r][c + k * tap_step] * taps[k]`, along a row
/// (`tap_step` 1) or down a column (`tap_step` = `stride`).
pub(super) struct Pass<'a> {
    pub src: &'a [f32],
    pub tap_step: usize,
    pub taps: &'a [f32],
    pub stride: usize,
    pub rows: usize,
    pub width: usize,
    /// Add to the output instead of overwriting it.
    pub add: bool,
}

impl Pass<'_> {
    /// Runs the pass into `out` with `kernel`.
    pub fn run(&self, kernel: Kernel, out: &mut [f32]) {
        assert!(self.width.is_multiple_of(COLUMN_BLOCK));
        if self.rows == 0 || self.width == 0 || self.taps.is_empty() {
            return;
        }
        // The kernels read and write without further checks: the last
        // row's last output and its last tap must lie inside the slices.
        let last_row = (self.rows - 1) * self.stride;
        assert!(last_row + (self.taps.len() - 1) * self.tap_step + self.width <= self.src.len());
        assert!(last_row + self.width <= out.len());
        match kernel {
            // SAFETY: the variant exists only when `Kernel::detect` found
            // AVX-512F; the extents were just checked.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::correlate_avx512(self, out) },
            // SAFETY: as above, for AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { x86::correlate_avx2(self, out) },
            Kernel::Portable => self.run_portable(out),
        }
    }

    fn run_portable(&self, out: &mut [f32]) {
        for r in 0..self.rows {
            for c in (0..self.width).step_by(COLUMN_BLOCK) {
                let mut acc = [0f32; COLUMN_BLOCK];
                for (k, &f) in self.taps.iter().enumerate() {
                    let s = &self.src[r * self.stride + k * self.tap_step + c..][..COLUMN_BLOCK];
                    for (a, &v) in acc.iter_mut().zip(s) {
                        *a += v * f;
                    }
                }
                let o = &mut out[r * self.stride + c..][..COLUMN_BLOCK];
                if self.add {
                    for (o, a) in o.iter_mut().zip(&acc) {
                        *o += a;
                    }
                } else {
                    o.copy_from_slice(&acc);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Pass;
    use std::arch::x86_64::*;

    const _: () = assert!(super::COLUMN_BLOCK == 16);

    /// # Safety
    /// The CPU must support AVX-512F; `out` and `pass.src` hold every value
    /// the pass touches (checked by [`Pass::run`]).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn correlate_avx512(pass: &Pass, out: &mut [f32]) {
        // Eight rows at a time keep eight independent sums in flight, as
        // many as two FMA units with four cycles' latency can take.
        let mut r = 0;
        while r + 8 <= pass.rows {
            // SAFETY: forwarded from the caller, rows r..r + 8 exist.
            unsafe { rows_avx512::<8>(pass, out, r) };
            r += 8;
        }
        while r + 4 <= pass.rows {
            // SAFETY: as above.
            unsafe { rows_avx512::<4>(pass, out, r) };
            r += 4;
        }
        while r < pass.rows {
            // SAFETY: as above.
            unsafe { rows_avx512::<1>(pass, out, r) };
            r += 1;
        }
    }

    /// # Safety
    /// As [`correlate_avx512`], and rows `r0..r0 + ROWS` exist.
    #[target_feature(enable = "avx512f")]
    unsafe fn rows_avx512<const ROWS: usize>(pass: &Pass, out: &mut [f32], r0: usize) {
        // SAFETY: every offset below stays inside the extents `Pass::run`
        // checked: rows below `pass.rows`, taps below `taps.len()`,
        // columns below `pass.width`.
        unsafe {
            let src = pass.src.as_ptr().add(r0 * pass.stride);
            let dst = out.as_mut_ptr().add(r0 * pass.stride);
            for c in (0..pass.width).step_by(16) {
                let mut acc = [_mm512_setzero_ps(); ROWS];
                for (k, &f) in pass.taps.iter().enumerate() {
                    let f = _mm512_set1_ps(f);
                    let s = src.add(k * pass.tap_step + c);
                    for (row, a) in acc.iter_mut().enumerate() {
                        *a = _mm512_fmadd_ps(_mm512_loadu_ps(s.add(row * pass.stride)), f, *a);
                    }
                }
                for (row, a) in acc.iter().enumerate() {
                    let o = dst.add(row * pass.stride + c);
                    let v = if pass.add {
                        _mm512_add_ps(_mm512_loadu_ps(o), *a)
                    } else {
                        *a
                    };
                    _mm512_storeu_ps(o, v);
                }
            }
        }
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; otherwise as [`correlate_avx512`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn correlate_avx2(pass: &Pass, out: &mut [f32]) {
        // Four rows of two registers: eight independent sums.
        let mut r = 0;
        while r + 4 <= pass.rows {
            // SAFETY: forwarded from the caller, rows r..r + 4 exist.
            unsafe { rows_avx2::<4>(pass, out, r) };
            r += 4;
        }
        while r < pass.rows {
            // SAFETY: as above.
            unsafe { rows_avx2::<1>(pass, out, r) };
            r += 1;
        }
    }

    /// # Safety
    /// As [`correlate_avx2`], and rows `r0..r0 + ROWS` exist.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows_avx2<const ROWS: usize>(pass: &Pass, out: &mut [f32], r0: usize) {
        // SAFETY: as in `rows_avx512`.
        unsafe {
            let src = pass.src.as_ptr().add(r0 * pass.stride);
            let dst = out.as_mut_ptr().add(r0 * pass.stride);
            for c in (0..pass.width).step_by(16) {
                let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
                for (k, &f) in pass.taps.iter().enumerate() {
                    let f = _mm256_set1_ps(f);
                    let s = src.add(k * pass.tap_step + c);
                    for (row, a) in acc.iter_mut().enumerate() {
                        let s = s.add(row * pass.stride);
                        a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(s), f, a[0]);
                        a[1] = _mm256_fmadd_ps(_mm256_loadu_ps(s.add(8)), f, a[1]);
                    }
                }
                for (row, a) in acc.iter().enumerate() {
                    for (half, a) in a.iter().enumerate() {
                        let o = dst.add(row * pass.stride + c + 8 * half);
                        let v = if pass.add {
                            _mm256_add_ps(_mm256_loadu_ps(o), *a)
                        } else {
                            *a
                        };
                        _mm256_storeu_ps(o, v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 13-row map of 3 blocks plus 9 columns of margin, filtered along
    /// rows and down columns with 10 taps, overwriting and adding.
    #[test]
    fn every_available_kernel_matches_the_definition() {
        let (taps_len, width) = (10, 3 * COLUMN_BLOCK);
        let stride = width + taps_len - 1;
        let rows = 13;
        let src: Vec<f32> = (0..(rows + taps_len) * stride)
            .map(|i| ((i * 7 % 23) as f32 - 11.0) / 9.0)
            .collect();
        let taps: Vec<f32> = (0..taps_len)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let start: Vec<f32> = (0..rows * stride).map(|i| (i % 5) as f32).collect();
        let mut fused = Vec::new();
        for tap_step in [1, stride] {
            for add in [false, true] {
                let pass = Pass {
                    src: &src,
                    tap_step,
                    taps: &taps,
                    stride,
                    rows,
                    width,
                    add,
                };
                for kernel in Kernel::available() {
                    let mut out = start.clone();
                    pass.run(kernel, &mut out);
                    for r in 0..rows {
                        for c in 0..stride {
                            let at = r * stride + c;
                            let got = out[at];
                            if c >= width {
                                assert_eq!(got, start[at], "{kernel:?} wrote past the width");
                                continue;
                            }
                            let sum: f64 = (0..taps_len)
                                .map(|k| f64::from(src[at + k * tap_step]) * f64::from(taps[k]))
                                .sum();
                            let want = sum + if add { f64::from(start[at]) } else { 0.0 };
                            assert!(
                                (f64::from(got) - want).abs() < 1e-5,
                                "{kernel:?} step {tap_step} add {add}: {got} vs {want}"
                            );
                        }
                    }
                    if kernel != Kernel::Portable {
                        fused.push((tap_step, add, out));
                    }
                }
            }
        }
        // The fused kernels agree to the bit.
        for pair in fused.windows(2) {
            if (pair[0].0, pair[0].1) == (pair[1].0, pair[1].1) {
                assert_eq!(pair[0].2, pair[1].2);
            }
        }
    }
}
