//! Depthwise convolution (one filter per channel) on HWC tensors, with the
//! bias and PReLU epilogue of [`super::dense`].
//!
//! Channels are contiguous in HWC, so the kernel vectorises across them:
//! eight channels of one output pixel are one register, accumulated over the
//! filter's taps. The instruction set is picked at run time (AVX2+FMA or
//! portable).

use super::Shape;
use super::dense::{Activation, Window};

/// The depthwise kernel available on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthwiseKernel {
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    Portable,
}

impl DepthwiseKernel {
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return DepthwiseKernel::Avx2Fma;
            }
        }
        DepthwiseKernel::Portable
    }
}

/// A depthwise convolution ready to run.
#[derive(Debug)]
pub struct DepthwiseConv {
    channels: usize,
    window: Window,
    /// `taps x channels`: the filters transposed so that one tap's weights
    /// for all channels are contiguous.
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// Per-channel PReLU slopes; 1 (identity) without an activation.
    slopes: Vec<f32>,
}

/// Where one run reads and writes; every offset checked against `data`.
struct Plan<'a> {
    data: &'a [f32],
    data_cols: usize,
    channels: usize,
    window: Window,
    /// Offset of each tap from the receptive field's top-left.
    taps: Vec<usize>,
    weights: &'a [f32],
    bias: &'a [f32],
    slopes: &'a [f32],
}

impl DepthwiseConv {
    /// `filters` are `channels x rows x cols` (OpenVINO's grouped layout
    /// with one channel a group); the caller has checked the lengths.
    pub fn new(window: Window, filters: &[f32], bias: Vec<f32>, activation: Activation) -> Self {
        let channels = bias.len();
        let taps = window.rows * window.cols;
        let mut weights = vec![0.0; taps * channels];
        for (c, filter) in filters.chunks_exact(taps).enumerate() {
            for (tap, &w) in filter.iter().enumerate() {
                weights[tap * channels + c] = w;
            }
        }
        let slopes = match activation {
            Activation::Identity => vec![1.0; channels],
            Activation::PRelu(slopes) => slopes,
        };
        DepthwiseConv {
            channels,
            window,
            weights,
            bias,
            slopes,
        }
    }

    pub fn output_shape(&self, input: Shape) -> Option<Shape> {
        if input.channels != self.channels {
            return None;
        }
        let (rows, cols) = self.window.output(input.rows, input.cols)?;
        Some(Shape {
            rows,
            cols,
            channels: self.channels,
        })
    }

    pub fn multiply_adds(&self, output: Shape) -> usize {
        output.len() * self.window.rows * self.window.cols
    }

    /// Runs the convolution into `out` (`output_shape(in_shape)`'s length).
    pub fn forward(
        &self,
        kernel: DepthwiseKernel,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
        padded: &mut Vec<f32>,
    ) {
        let (data, data_shape) = if self.window.is_padded() {
            self.window.pad(input, in_shape, padded)
        } else {
            (&input[..in_shape.len()], in_shape)
        };
        let c = self.channels;
        let w = self.window;
        let taps: Vec<usize> = (0..w.rows)
            .flat_map(|ky| (0..w.cols).map(move |kx| (ky * data_shape.cols + kx) * c))
            .collect();
        // The last output pixel's field reaches furthest: if it fits, every
        // read of every pixel is inside `data`.
        let last = ((out_shape.rows - 1) * w.stride_y * data_shape.cols
            + (out_shape.cols - 1) * w.stride_x)
            * c;
        assert!(last + taps[taps.len() - 1] + c <= data.len());
        assert!(out.len() >= out_shape.len() && out_shape.channels == c);
        let plan = Plan {
            data,
            data_cols: data_shape.cols,
            channels: c,
            window: w,
            taps,
            weights: &self.weights,
            bias: &self.bias,
            slopes: &self.slopes,
        };
        for (oy, out_row) in out[..out_shape.len()]
            .chunks_exact_mut(out_shape.cols * c)
            .enumerate()
        {
            match kernel {
                // SAFETY: the variant exists only when `detect` found AVX2
                // and FMA; the reads were bounds-checked above.
                #[cfg(target_arch = "x86_64")]
                DepthwiseKernel::Avx2Fma => unsafe { x86::row_avx2(&plan, oy, out_row) },
                DepthwiseKernel::Portable => row_portable(&plan, oy, out_row),
            }
        }
    }
}

impl Plan<'_> {
    /// Where output pixel (oy, ox)'s receptive field starts in `data`.
    #[inline]
    fn origin(&self, oy: usize, ox: usize) -> usize {
        (oy * self.window.stride_y * self.data_cols + ox * self.window.stride_x) * self.channels
    }
}

#[inline]
fn prelu(v: f32, slope: f32) -> f32 {
    if v < 0.0 { v * slope } else { v }
}

fn row_portable(plan: &Plan, oy: usize, out_row: &mut [f32]) {
    let c = plan.channels;
    for (ox, dst) in out_row.chunks_exact_mut(c).enumerate() {
        let origin = plan.origin(oy, ox);
        dst.copy_from_slice(plan.bias);
        for (&tap, weights) in plan.taps.iter().zip(plan.weights.chunks_exact(c)) {
            let src = &plan.data[origin + tap..][..c];
            for ((d, &s), &w) in dst.iter_mut().zip(src).zip(weights) {
                *d += s * w;
            }
        }
        for (d, &slope) in dst.iter_mut().zip(plan.slopes) {
            *d = prelu(*d, slope);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Plan, prelu};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2 and FMA; every receptive field of the row
    /// lies inside `plan.data`, and `out_row` holds whole pixels.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn row_avx2(plan: &Plan, oy: usize, out_row: &mut [f32]) {
        let c = plan.channels;
        let vector_end = c - c % 8;
        let data = plan.data.as_ptr();
        let zero = _mm256_setzero_ps();
        for (ox, dst) in out_row.chunks_exact_mut(c).enumerate() {
            let origin = plan.origin(oy, ox);
            let mut ch = 0;
            while ch < vector_end {
                // SAFETY: ch + 8 <= c, and bias, slopes and each tap's
                // weights hold c values; `origin + tap + ch + 8 <= data.len()`
                // by the caller's check.
                unsafe {
                    let mut acc = _mm256_loadu_ps(plan.bias.as_ptr().add(ch));
                    for (t, &tap) in plan.taps.iter().enumerate() {
                        let x = _mm256_loadu_ps(data.add(origin + tap + ch));
                        let w = _mm256_loadu_ps(plan.weights.as_ptr().add(t * c + ch));
                        acc = _mm256_fmadd_ps(x, w, acc);
                    }
                    let slope = _mm256_loadu_ps(plan.slopes.as_ptr().add(ch));
                    let negative = _mm256_mul_ps(_mm256_min_ps(acc, zero), slope);
                    let v = _mm256_add_ps(_mm256_max_ps(acc, zero), negative);
                    _mm256_storeu_ps(dst.as_mut_ptr().add(ch), v);
                }
                ch += 8;
            }
            for (ch, d) in dst.iter_mut().enumerate().skip(vector_end) {
                let mut acc = plan.bias[ch];
                for (t, &tap) in plan.taps.iter().enumerate() {
                    acc += plan.data[origin + tap + ch] * plan.weights[t * c + ch];
                }
                *d = prelu(acc, plan.slopes[ch]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::dense::tests::{Operands, square_window};

    #[test]
    fn depthwise_conv_matches_the_definition() {
        // The models' shapes (3x3 stride 1 and 2, the global 8x8 filter)
        // and channel counts with a tail past the last full register.
        for (size, stride, pad, rows, channels) in [
            (3, 1, 1, 9, 64),
            (3, 2, 1, 9, 21),
            (8, 1, 0, 8, 48),
            (3, 1, 1, 5, 3),
        ] {
            let in_shape = Shape {
                rows,
                cols: rows + 2,
                channels,
            };
            let window = square_window(size, stride, pad, pad);
            let ops = Operands::new(in_shape, channels * size * size, channels);
            let conv = DepthwiseConv::new(
                window,
                &ops.filters,
                ops.bias.clone(),
                Activation::PRelu(ops.slopes.clone()),
            );
            let out_shape = conv.output_shape(in_shape).expect("fits");
            let outputs: Vec<(String, Vec<f32>)> =
                [DepthwiseKernel::Portable, DepthwiseKernel::detect()]
                    .into_iter()
                    .map(|kernel| {
                        let mut out = vec![f32::NAN; out_shape.len()];
                        let scratch = &mut Vec::new();
                        conv.forward(kernel, &ops.input, in_shape, &mut out, out_shape, scratch);
                        (format!("{kernel:?} {size}x{size}/{stride}"), out)
                    })
                    .collect();
            ops.assert_outputs(in_shape, window, channels, out_shape, &outputs);
        }
    }
}
