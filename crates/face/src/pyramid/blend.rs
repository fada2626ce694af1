//! dlib's f32 bilinear blend of one output row of one channel, on the
//! instruction set chosen once by [`Kernel::detect`]: AVX-512 (16 columns
//! a step), AVX2 (8), or portable code.
//!
//! The vector kernels fetch each output column's two source samples of a
//! row with one gather of the four bytes starting at the left one, and
//! compute every column with the same f32 operations in the same order as
//! the portable code (no fused multiply-add), so all three give the same
//! bytes.

use crate::nn::gemm::Kernel;

/// The f32 columns of one output row of one channel: column `i` blends
/// source columns `left[i]` and `left[i] + 1` of the rows starting at
/// `top` and `bottom` in `plane`, weighted `inv_lr[i]` / `lr[i]` across
/// and `inv_tb` / `tb` down.
pub(super) struct BlendRow<'a> {
    pub plane: &'a [u8],
    pub top: usize,
    pub bottom: usize,
    pub left: &'a [u32],
    pub lr: &'a [f32],
    pub inv_lr: &'a [f32],
    pub tb: f32,
    pub inv_tb: f32,
}

impl BlendRow<'_> {
    /// Blends `out.len()` columns into `out` with `kernel`.
    pub fn run(&self, kernel: Kernel, out: &mut [u8]) {
        let n = out.len();
        assert!(self.left.len() >= n && self.lr.len() >= n && self.inv_lr.len() >= n);
        let done = match kernel {
            // SAFETY: the variant exists only when `Kernel::detect` found
            // AVX-512F; the kernel checks every gathered address itself.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::blend_avx512(self, out) },
            // SAFETY: as above, for AVX2.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { x86::blend_avx2(self, out) },
            Kernel::Portable => 0,
        };
        self.run_portable(out, done);
    }

    /// Columns `from..` of the row: dlib's blend, truncated.
    fn run_portable(&self, out: &mut [u8], from: usize) {
        let px = |row: usize, column: usize| f32::from(self.plane[row + column]);
        for (i, o) in out.iter_mut().enumerate().skip(from) {
            let l = self.left[i] as usize;
            let (lr, inv_lr) = (self.lr[i], self.inv_lr[i]);
            let v = (self.inv_tb * inv_lr) * px(self.top, l)
                + (self.inv_tb * lr) * px(self.top, l + 1)
                + (self.tb * inv_lr) * px(self.bottom, l)
                + (self.tb * lr) * px(self.bottom, l + 1);
            // dlib truncates to int32, then keeps the low byte.
            *o = v as i32 as u8;
        }
    }

    /// The largest `left` value whose four bytes from `left` lie inside
    /// the plane in both rows, `None` if there is none.
    #[cfg(target_arch = "x86_64")]
    fn gather_limit(&self) -> Option<u32> {
        let end = self.top.max(self.bottom).checked_add(4)?;
        let limit = self.plane.len().checked_sub(end)?;
        // Offsets are signed 32-bit in a gather.
        Some(limit.min(i32::MAX as usize) as u32)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::BlendRow;
    use std::arch::x86_64::*;

    /// Blends as many columns as it can (all but those whose four bytes
    /// would leave the plane) and returns how many, from the first.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; `row.left`, `row.lr` and
    /// `row.inv_lr` hold at least `out.len()` values (checked by
    /// [`BlendRow::run`]).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn blend_avx512(row: &BlendRow, out: &mut [u8]) -> usize {
        let Some(limit) = row.gather_limit() else {
            return 0;
        };
        let n = out.len();
        let limit = _mm512_set1_epi32(limit as i32);
        let byte = _mm512_set1_epi32(0xff);
        let (tb, inv_tb) = (_mm512_set1_ps(row.tb), _mm512_set1_ps(row.inv_tb));
        let mut i = 0;
        while i < n {
            let lanes: __mmask16 = if n - i >= 16 {
                0xffff
            } else {
                (1 << (n - i)) - 1
            };
            // SAFETY: the masked loads and the store touch only columns
            // i..n, inside the slices; every gathered lane's four bytes
            // start at most `limit` past either row, so end inside the
            // plane (checked just below, before any gather).
            unsafe {
                let left = _mm512_maskz_loadu_epi32(lanes, row.left.as_ptr().add(i).cast());
                if _mm512_mask_cmple_epu32_mask(lanes, left, limit) != lanes {
                    break;
                }
                let gather = |start: usize| {
                    let base = row.plane.as_ptr().add(start);
                    _mm512_mask_i32gather_epi32::<1>(
                        _mm512_setzero_si512(),
                        lanes,
                        left,
                        base.cast(),
                    )
                };
                let (t, b) = (gather(row.top), gather(row.bottom));
                let low = |v: __m512i| _mm512_cvtepi32_ps(_mm512_and_si512(v, byte));
                let high = |v: __m512i| {
                    _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32::<8>(v), byte))
                };
                let lr = _mm512_maskz_loadu_ps(lanes, row.lr.as_ptr().add(i));
                let inv_lr = _mm512_maskz_loadu_ps(lanes, row.inv_lr.as_ptr().add(i));
                let v = _mm512_add_ps(
                    _mm512_add_ps(
                        _mm512_add_ps(
                            _mm512_mul_ps(_mm512_mul_ps(inv_tb, inv_lr), low(t)),
                            _mm512_mul_ps(_mm512_mul_ps(inv_tb, lr), high(t)),
                        ),
                        _mm512_mul_ps(_mm512_mul_ps(tb, inv_lr), low(b)),
                    ),
                    _mm512_mul_ps(_mm512_mul_ps(tb, lr), high(b)),
                );
                _mm512_mask_cvtepi32_storeu_epi8(
                    out.as_mut_ptr().add(i).cast(),
                    lanes,
                    _mm512_cvttps_epi32(v),
                );
            }
            i += 16;
        }
        i.min(n)
    }

    /// As [`blend_avx512`], eight columns a step, leaving the last
    /// columns short of a step to the portable code.
    ///
    /// # Safety
    /// The CPU must support AVX2; otherwise as [`blend_avx512`].
    #[target_feature(enable = "avx2")]
    pub unsafe fn blend_avx2(row: &BlendRow, out: &mut [u8]) -> usize {
        let Some(limit) = row.gather_limit() else {
            return 0;
        };
        let n = out.len();
        let limit = _mm256_set1_epi32(limit as i32);
        let byte = _mm256_set1_epi32(0xff);
        let (tb, inv_tb) = (_mm256_set1_ps(row.tb), _mm256_set1_ps(row.inv_tb));
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: columns i..i + 8 lie inside the slices; every
            // gathered lane's four bytes start at most `limit` past either
            // row, so end inside the plane (checked just below).
            unsafe {
                let left = _mm256_loadu_si256(row.left.as_ptr().add(i).cast());
                // Unsigned left <= limit.
                let inside = _mm256_cmpeq_epi32(_mm256_max_epu32(left, limit), limit);
                if _mm256_movemask_epi8(inside) != -1 {
                    break;
                }
                let gather = |start: usize| {
                    let base = row.plane.as_ptr().add(start);
                    _mm256_i32gather_epi32::<1>(base.cast(), left)
                };
                let (t, b) = (gather(row.top), gather(row.bottom));
                let low = |v: __m256i| _mm256_cvtepi32_ps(_mm256_and_si256(v, byte));
                let high = |v: __m256i| {
                    _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32::<8>(v), byte))
                };
                let lr = _mm256_loadu_ps(row.lr.as_ptr().add(i));
                let inv_lr = _mm256_loadu_ps(row.inv_lr.as_ptr().add(i));
                let v = _mm256_add_ps(
                    _mm256_add_ps(
                        _mm256_add_ps(
                            _mm256_mul_ps(_mm256_mul_ps(inv_tb, inv_lr), low(t)),
                            _mm256_mul_ps(_mm256_mul_ps(inv_tb, lr), high(t)),
                        ),
                        _mm256_mul_ps(_mm256_mul_ps(tb, inv_lr), low(b)),
                    ),
                    _mm256_mul_ps(_mm256_mul_ps(tb, lr), high(b)),
                );
                // The low byte of each truncated value, packed: per
                // 128-bit half, four bytes.
                let q = _mm256_and_si256(_mm256_cvttps_epi32(v), byte);
                let words = _mm256_packus_epi32(q, q);
                let bytes = _mm256_packus_epi16(words, words);
                let lo = _mm256_cvtsi256_si32(bytes) as u32;
                let hi = _mm_cvtsi128_si32(_mm256_extracti128_si256::<1>(bytes)) as u32;
                out.as_mut_ptr()
                    .add(i)
                    .cast::<u64>()
                    .write_unaligned(u64::from(lo) | (u64::from(hi) << 32));
            }
            i += 8;
        }
        i
    }
}
