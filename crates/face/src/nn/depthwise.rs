//! Depthwise convolution (one filter per channel, PyTorch's
//! `groups == in_channels == out_channels`) and small fully connected
//! layers, for the liveness networks.

use super::Shape;
use super::gemm::Kernel;
use super::ops::Activation;

/// A square depthwise convolution with zero padding, a per-channel affine
/// folded in, then an activation.
#[derive(Debug)]
pub struct DepthwiseConv {
    channels: usize,
    size: usize,
    stride: usize,
    padding: usize,
    /// `size x size x channels`: channels contiguous, like the input.
    weights: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
}

impl DepthwiseConv {
    /// `filters` is PyTorch's `channels x 1 x size x size`; `scale` and
    /// `shift` the affine after it (a folded batch norm).
    pub fn new(
        channels: usize,
        size: usize,
        stride: usize,
        padding: usize,
        filters: &[f32],
        (scale, shift): (&[f32], &[f32]),
        activation: Activation,
    ) -> Self {
        let mut weights = vec![0.0; size * size * channels];
        for c in 0..channels {
            for tap in 0..size * size {
                weights[tap * channels + c] = filters[c * size * size + tap] * scale[c];
            }
        }
        DepthwiseConv {
            channels,
            size,
            stride,
            padding,
            weights,
            bias: shift.to_vec(),
            activation,
        }
    }

    /// The output shape, or `None` if the input does not fit.
    pub fn output_shape(&self, input: Shape) -> Option<Shape> {
        if input.channels != self.channels || self.stride == 0 {
            return None;
        }
        let out = |n: usize| Some((n + 2 * self.padding).checked_sub(self.size)? / self.stride + 1);
        Some(Shape {
            rows: out(input.rows)?,
            cols: out(input.cols)?,
            channels: self.channels,
        })
    }

    pub fn multiply_adds(&self, output: Shape) -> usize {
        output.len() * self.size * self.size
    }

    /// `out` has `output_shape(in_shape)`'s length.
    pub fn forward(
        &self,
        kernel: Kernel,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
    ) {
        match kernel {
            // SAFETY: the variant exists only when `Kernel::detect` found
            // the features; the body is safe code compiled for them.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { self.forward_avx512(input, in_shape, out, out_shape) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { self.forward_avx2(input, in_shape, out, out_shape) },
            Kernel::Portable => self.forward_any(input, in_shape, out, out_shape),
        }
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn forward_avx512(
        &self,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
    ) {
        self.forward_any(input, in_shape, out, out_shape);
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_avx2(
        &self,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
    ) {
        self.forward_any(input, in_shape, out, out_shape);
    }

    /// Plain code, vectorised over channels by the compiler for whatever
    /// features the caller was compiled with.
    #[inline(always)]
    fn forward_any(&self, input: &[f32], in_shape: Shape, out: &mut [f32], out_shape: Shape) {
        let c = self.channels;
        let window = |o: usize, n: usize| {
            // Filter taps of output position `o` that land inside `0..n`.
            let start = (o * self.stride) as isize - self.padding as isize;
            let first = (-start).max(0) as usize;
            let last = (n as isize - start).clamp(0, self.size as isize) as usize;
            (start, first..last)
        };
        for oy in 0..out_shape.rows {
            let (y0, taps_y) = window(oy, in_shape.rows);
            for ox in 0..out_shape.cols {
                let (x0, taps_x) = window(ox, in_shape.cols);
                let dst = &mut out[(oy * out_shape.cols + ox) * c..][..c];
                dst.copy_from_slice(&self.bias);
                for fy in taps_y.clone() {
                    let iy = (y0 + fy as isize) as usize;
                    for fx in taps_x.clone() {
                        let ix = (x0 + fx as isize) as usize;
                        let src = &input[(iy * in_shape.cols + ix) * c..][..c];
                        let w = &self.weights[(fy * self.size + fx) * c..][..c];
                        for ((d, &s), &w) in dst.iter_mut().zip(src).zip(w) {
                            *d = s.mul_add(w, *d);
                        }
                    }
                }
                self.activation.apply(dst, 0);
            }
        }
    }
}

/// `y = W x + b`, then an activation; `W` is `outputs x inputs`, row-major.
#[derive(Debug)]
pub struct Dense {
    inputs: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
}

impl Dense {
    /// `weights` is PyTorch's `outputs x inputs`; `affine` a per-output
    /// (scale, shift) after it, folded in.
    pub fn new(
        inputs: usize,
        weights: &[f32],
        (scale, shift): (&[f32], &[f32]),
        activation: Activation,
    ) -> Self {
        let weights = weights
            .chunks_exact(inputs)
            .zip(scale)
            .flat_map(|(row, &s)| row.iter().map(move |w| w * s))
            .collect();
        Dense {
            inputs,
            weights,
            bias: shift.to_vec(),
            activation,
        }
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// Writes `outputs()` values at the start of `out`; `input` has
    /// `inputs()` values.
    pub fn forward(&self, input: &[f32], out: &mut [f32]) {
        let out = &mut out[..self.outputs()];
        for ((o, row), &b) in out
            .iter_mut()
            .zip(self.weights.chunks_exact(self.inputs))
            .zip(&self.bias)
        {
            *o = b + row.iter().zip(input).map(|(w, x)| w * x).sum::<f32>();
        }
        self.activation.apply(out, 0);
    }
}

/// A batch norm's running statistics as a per-channel (scale, shift).
pub fn fold_batch_norm(
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
) -> (Vec<f32>, Vec<f32>) {
    let scale: Vec<f32> = gamma
        .iter()
        .zip(var)
        .map(|(g, v)| g / (v + eps).sqrt())
        .collect();
    let shift = beta
        .iter()
        .zip(mean)
        .zip(&scale)
        .map(|((b, m), s)| b - m * s)
        .collect();
    (scale, shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depthwise_matches_the_definition_with_padding_and_stride() {
        let channels = 5;
        for (size, stride, padding) in [(3, 1, 1), (3, 2, 1), (5, 1, 0)] {
            let in_shape = Shape {
                rows: 7,
                cols: 6,
                channels,
            };
            let input: Vec<f32> = (0..in_shape.len())
                .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let filters: Vec<f32> = (0..channels * size * size)
                .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
                .collect();
            let scale = [1.0, 2.0, 0.5, -1.0, 3.0];
            let shift = [0.1, 0.2, 0.3, 0.4, 0.5];
            let conv = DepthwiseConv::new(
                channels,
                size,
                stride,
                padding,
                &filters,
                (&scale, &shift),
                Activation::Identity,
            );
            let out_shape = conv.output_shape(in_shape).expect("fits");
            let mut out = vec![0.0; out_shape.len()];
            conv.forward(Kernel::detect(), &input, in_shape, &mut out, out_shape);
            for oy in 0..out_shape.rows {
                for ox in 0..out_shape.cols {
                    for c in 0..channels {
                        let mut want = 0.0;
                        for fy in 0..size {
                            for fx in 0..size {
                                let iy = (oy * stride + fy) as isize - padding as isize;
                                let ix = (ox * stride + fx) as isize - padding as isize;
                                if (0..7).contains(&iy) && (0..6).contains(&ix) {
                                    want += input[(iy as usize * 6 + ix as usize) * channels + c]
                                        * filters[(c * size + fy) * size + fx];
                                }
                            }
                        }
                        want = want * scale[c] + shift[c];
                        let got = out[(oy * out_shape.cols + ox) * channels + c];
                        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn prelu_scales_only_negative_values() {
        let mut v = [-2.0, 3.0, -1.0];
        Activation::PRelu(vec![0.5, 0.5, -1.0]).apply(&mut v, 0);
        assert_eq!(v, [-1.0, 3.0, 1.0]);
    }
}
