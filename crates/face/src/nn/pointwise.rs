//! 1×1 convolutions on channel-padded maps ([`super::padded_channels`]
//! values a pixel, zero past the channels): one matrix product, a row per
//! pixel, with the bias, a PReLU and a residual sum applied as each tile is
//! stored, so the output is written once and never read back.
//!
//! The weights are packed once into column blocks of up to
//! [`MAX_VECTORS`] vectors of [`LANES`] columns, stored k-major: an output
//! of 13 channels takes one 16-wide block, 103 channels a 64- and a 48-wide
//! one. The AVX-512 tile keeps `R` pixels × `V` vectors of accumulators in
//! registers (24 of the 32), more pixels for narrower blocks, so each
//! weight vector loaded serves `R` multiply-adds.

use super::gemm::Kernel;
use super::{LANES, padded_channels};

/// Widest column block, in vectors.
const MAX_VECTORS: usize = 4;

/// A run of output columns packed together: `vectors * LANES` columns from
/// `first_column`, their `k x width` weights at `packed_at`.
#[derive(Debug)]
struct ColumnBlock {
    first_column: usize,
    vectors: usize,
    packed_at: usize,
}

/// A 1×1 convolution (stride 1, no padding) with a per-channel affine
/// folded in and an optional PReLU.
#[derive(Debug)]
pub struct Pointwise {
    in_channels: usize,
    out_channels: usize,
    /// Values per input pixel (the padded input channels).
    k: usize,
    /// Values per output pixel (the padded output channels).
    n: usize,
    blocks: Vec<ColumnBlock>,
    packed: Vec<f32>,
    /// `n` values, zero past the channels.
    bias: Vec<f32>,
    /// PReLU slopes, `n` values, or `None` for no activation.
    slopes: Option<Vec<f32>>,
}

impl Pointwise {
    /// `filters` is PyTorch's `out_channels x in_channels` (x 1 x 1);
    /// `scale` and `shift` the per-output affine after it (a folded batch
    /// norm); `prelu` the slopes of a PReLU after that, if any.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        filters: &[f32],
        (scale, shift): (&[f32], &[f32]),
        prelu: Option<&[f32]>,
    ) -> Self {
        let (k, n) = (padded_channels(in_channels), padded_channels(out_channels));
        let mut blocks = Vec::new();
        let mut packed = Vec::with_capacity(k * n);
        let mut first_column = 0;
        while first_column < n {
            let vectors = ((n - first_column) / LANES).min(MAX_VECTORS);
            let columns = first_column..first_column + vectors * LANES;
            blocks.push(ColumnBlock {
                first_column,
                vectors,
                packed_at: packed.len(),
            });
            for c in 0..k {
                packed.extend(columns.clone().map(|j| {
                    if c < in_channels && j < out_channels {
                        filters[j * in_channels + c] * scale[j]
                    } else {
                        0.0
                    }
                }));
            }
            first_column = columns.end;
        }
        let padded = |values: &[f32]| {
            let mut v = vec![0.0; n];
            v[..out_channels].copy_from_slice(&values[..out_channels]);
            v
        };
        Pointwise {
            in_channels,
            out_channels,
            k,
            n,
            blocks,
            packed,
            bias: padded(shift),
            slopes: prelu.map(padded),
        }
    }

    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Multiply-adds of the direct method over `pixels` pixels.
    pub fn multiply_adds(&self, pixels: usize) -> usize {
        pixels * self.in_channels * self.out_channels
    }

    /// `out = input * W + bias`, then the PReLU, then `+ residual`, for
    /// `pixels` pixels: `input` holds at least `pixels` padded input pixels,
    /// `out` and `residual` as many padded output pixels.
    pub fn forward(
        &self,
        kernel: Kernel,
        input: &[f32],
        pixels: usize,
        residual: Option<&[f32]>,
        out: &mut [f32],
    ) {
        // The kernels index these without further checks.
        let input = &input[..pixels * self.k];
        let out = &mut out[..pixels * self.n];
        let residual = residual.map(|r| &r[..pixels * self.n]);
        match kernel {
            // SAFETY: the variant exists only when `Kernel::detect` found
            // the features; the lengths were just checked.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::forward_avx512(self, input, pixels, residual, out) },
            // SAFETY: as above; the body is safe code compiled for them.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { self.forward_avx2(input, pixels, residual, out) },
            Kernel::Portable => self.forward_any(input, pixels, residual, out),
        }
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_avx2(
        &self,
        input: &[f32],
        pixels: usize,
        residual: Option<&[f32]>,
        out: &mut [f32],
    ) {
        self.forward_any(input, pixels, residual, out);
    }

    /// Plain code, one pixel and one column block at a time, vectorised by
    /// the compiler for whatever features the caller was compiled with.
    #[inline(always)]
    fn forward_any(&self, input: &[f32], pixels: usize, residual: Option<&[f32]>, out: &mut [f32]) {
        for block in &self.blocks {
            let width = block.vectors * LANES;
            let weights = &self.packed[block.packed_at..][..self.k * width];
            let columns = block.first_column..block.first_column + width;
            for p in 0..pixels {
                let mut acc = [0.0f32; MAX_VECTORS * LANES];
                let acc = &mut acc[..width];
                let a = &input[p * self.k..][..self.k];
                for (&a, w) in a.iter().zip(weights.chunks_exact(width)) {
                    for (s, &w) in acc.iter_mut().zip(w) {
                        *s = a.mul_add(w, *s);
                    }
                }
                let at = p * self.n + block.first_column;
                let bias = &self.bias[columns.clone()];
                for (s, &b) in acc.iter_mut().zip(bias) {
                    *s += b;
                }
                if let Some(slopes) = &self.slopes {
                    for (s, &slope) in acc.iter_mut().zip(&slopes[columns.clone()]) {
                        if *s < 0.0 {
                            *s *= slope;
                        }
                    }
                }
                if let Some(residual) = residual {
                    for (s, &r) in acc.iter_mut().zip(&residual[at..at + width]) {
                        *s += r;
                    }
                }
                out[at..at + width].copy_from_slice(acc);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{ColumnBlock, LANES, Pointwise};

    /// # Safety
    /// The CPU must support AVX-512F; `input` holds `pixels * conv.k`
    /// values, `out` and `residual` `pixels * conv.n`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn forward_avx512(
        conv: &Pointwise,
        input: &[f32],
        pixels: usize,
        residual: Option<&[f32]>,
        out: &mut [f32],
    ) {
        for block in &conv.blocks {
            let args = (conv, block, input, pixels, residual);
            // SAFETY: forwarded from the caller; `R` pixels of `V` vectors
            // keep 24 accumulators, leaving registers for the weights.
            unsafe {
                match block.vectors {
                    1 => column_block::<1, 16>(args, out),
                    2 => column_block::<2, 12>(args, out),
                    3 => column_block::<3, 8>(args, out),
                    _ => column_block::<4, 6>(args, out),
                }
            }
        }
    }

    type BlockArgs<'a> = (
        &'a Pointwise,
        &'a ColumnBlock,
        &'a [f32],
        usize,
        Option<&'a [f32]>,
    );

    /// # Safety
    /// As [`forward_avx512`]; `block.vectors == V`.
    #[target_feature(enable = "avx512f")]
    unsafe fn column_block<const V: usize, const R: usize>(
        (conv, block, input, pixels, residual): BlockArgs,
        out: &mut [f32],
    ) {
        let mut start = 0;
        while start < pixels {
            // The last tile ends at the last pixel, overlapping the one
            // before (with fewer than `R` pixels, the last one repeats):
            // those pixels are computed and stored again, to the same values.
            let first = start.min(pixels.saturating_sub(R));
            let rows: [usize; R] = std::array::from_fn(|i| (first + i).min(pixels - 1));
            // SAFETY: every row is below `pixels`; forwarded otherwise.
            unsafe { tile::<V, R>(conv, block, input, &rows, residual, out) };
            start += R;
        }
    }

    /// # Safety
    /// As [`column_block`]; every row is below the pixel count the slices
    /// were sized for.
    #[target_feature(enable = "avx512f")]
    unsafe fn tile<const V: usize, const R: usize>(
        conv: &Pointwise,
        block: &ColumnBlock,
        input: &[f32],
        rows: &[usize; R],
        residual: Option<&[f32]>,
        out: &mut [f32],
    ) {
        let (k, n, width) = (conv.k, conv.n, V * LANES);
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        // SAFETY: each row's `k` values lie inside `input`.
        let a: [*const f32; R] = rows.map(|p| unsafe { input.as_ptr().add(p * k) });
        // SAFETY: the block's `k x width` weights lie inside `packed`.
        let mut w_step = unsafe { conv.packed.as_ptr().add(block.packed_at) };
        for kk in 0..k {
            // SAFETY: `kk < k` stays inside each row; `w_step` advances one
            // `width`-wide step per `kk`, `k` times in all.
            unsafe {
                let mut w = [_mm512_setzero_ps(); V];
                for (v, w) in w.iter_mut().enumerate() {
                    *w = _mm512_loadu_ps(w_step.add(v * LANES));
                }
                for (acc_row, a_row) in acc.iter_mut().zip(&a) {
                    let av = _mm512_set1_ps(*a_row.add(kk));
                    for (s, &w) in acc_row.iter_mut().zip(&w) {
                        *s = _mm512_fmadd_ps(av, w, *s);
                    }
                }
                w_step = w_step.add(width);
            }
        }
        for (acc_row, &p) in acc.iter().zip(rows) {
            for (v, &sum) in acc_row.iter().enumerate() {
                let column = block.first_column + v * LANES;
                let at = p * n + column;
                // SAFETY: `column + LANES <= n`, the length of the bias and
                // slopes; `at + LANES <= pixels * n`, that of `out` and
                // `residual`.
                unsafe {
                    let mut x = _mm512_add_ps(sum, _mm512_loadu_ps(conv.bias.as_ptr().add(column)));
                    if let Some(slopes) = &conv.slopes {
                        let negative = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_setzero_ps());
                        let slope = _mm512_loadu_ps(slopes.as_ptr().add(column));
                        x = _mm512_mask_mul_ps(x, negative, x, slope);
                    }
                    if let Some(residual) = residual {
                        x = _mm512_add_ps(x, _mm512_loadu_ps(residual.as_ptr().add(at)));
                    }
                    _mm512_storeu_ps(out.as_mut_ptr().add(at), x);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_matches_the_definition() {
        // Output widths of one to five vectors (13 → 16, 40 → 48, 77 → 80,
        // 103 → 112), and pixel counts below, at and past a tile.
        for (in_channels, out_channels) in [(13, 13), (64, 40), (26, 77), (32, 103)] {
            for pixels in [1, 5, 25, 37] {
                for (prelu, residual) in [(false, false), (true, false), (false, true)] {
                    for kernel in Kernel::available() {
                        check(in_channels, out_channels, pixels, prelu, residual, kernel);
                    }
                }
            }
        }
    }

    fn check(
        in_channels: usize,
        out_channels: usize,
        pixels: usize,
        prelu: bool,
        with_residual: bool,
        kernel: Kernel,
    ) {
        let (k, n) = (padded_channels(in_channels), padded_channels(out_channels));
        let input: Vec<f32> = (0..pixels * k)
            .map(|i| {
                if i % k < in_channels {
                    ((i * 31 % 17) as f32 - 8.0) / 8.0
                } else {
                    0.0
                }
            })
            .collect();
        let filters: Vec<f32> = (0..out_channels * in_channels)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
            .collect();
        let scale: Vec<f32> = (0..out_channels).map(|c| (c % 5) as f32 - 1.5).collect();
        let shift: Vec<f32> = (0..out_channels).map(|c| c as f32 / 10.0).collect();
        let slopes: Vec<f32> = (0..out_channels).map(|c| 0.05 * c as f32).collect();
        let residual: Vec<f32> = (0..pixels * n)
            .map(|i| {
                if i % n < out_channels {
                    i as f32 / 50.0
                } else {
                    0.0
                }
            })
            .collect();
        let conv = Pointwise::new(
            in_channels,
            out_channels,
            &filters,
            (&scale, &shift),
            prelu.then_some(&slopes[..]),
        );
        let mut out = vec![f32::NAN; pixels * n];
        let residual = with_residual.then_some(&residual[..]);
        conv.forward(kernel, &input, pixels, residual, &mut out);
        for p in 0..pixels {
            for c in 0..n {
                let got = out[p * n + c];
                if c >= out_channels {
                    assert_eq!(got, 0.0, "{kernel:?}: padding stays zero");
                    continue;
                }
                let mut want = (0..in_channels)
                    .map(|i| f64::from(input[p * k + i]) * f64::from(filters[c * in_channels + i]))
                    .sum::<f64>()
                    * f64::from(scale[c])
                    + f64::from(shift[c]);
                if prelu && want < 0.0 {
                    want *= f64::from(slopes[c]);
                }
                if let Some(r) = residual {
                    want += f64::from(r[p * n + c]);
                }
                assert!(
                    (f64::from(got) - want).abs() < 1e-4,
                    "{kernel:?} {in_channels}→{out_channels}, {pixels} pixels: {got} vs {want}"
                );
            }
        }
    }
}
