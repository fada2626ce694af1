//! Convolution (packed GEMM reading the input in place), pooling, residual
//! addition.

use super::Shape;
use super::gemm::{Kernel, MR, NR, Rows, pack_b};

/// A convolution ready to run: weights packed for the GEMM kernel, with a
/// following per-channel affine folded in and an optional ReLU.
#[derive(Debug)]
pub struct PackedConv {
    in_channels: usize,
    out_channels: usize,
    rows: usize,
    cols: usize,
    stride_y: usize,
    stride_x: usize,
    padding_y: usize,
    padding_x: usize,
    /// `K x out_channels` with `K` ordered (filter row, filter col, channel).
    packed: Vec<f32>,
    bias: Vec<f32>,
    relu: bool,
}

/// Where a convolution's geometry comes from (dlib's `con_` record).
pub struct ConvSpec<'a> {
    pub in_channels: usize,
    pub out_channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub stride_y: usize,
    pub stride_x: usize,
    pub padding_y: usize,
    pub padding_x: usize,
    /// `out_channels x in_channels x rows x cols`.
    pub filters: &'a [f32],
    pub biases: &'a [f32],
}

impl ConvSpec<'_> {
    /// The weights as a `K x out_channels` row-major matrix, `K` ordered
    /// (filter row, filter col, channel), and the biases, with the
    /// per-output-channel (scale, shift) `affine` applied after the bias
    /// (dlib's `affine` layer) folded into both.
    pub fn folded(&self, affine: Option<(&[f32], &[f32])>) -> (Vec<f32>, Vec<f32>) {
        let k = self.rows * self.cols * self.in_channels;
        let n = self.out_channels;
        let mut b = vec![0.0; k * n];
        let mut bias = self.biases.to_vec();
        for f in 0..n {
            let scale = affine.map_or(1.0, |(g, _)| g[f]);
            if let Some((g, beta)) = affine {
                bias[f] = bias[f] * g[f] + beta[f];
            }
            for c in 0..self.in_channels {
                for y in 0..self.rows {
                    for x in 0..self.cols {
                        let src = ((f * self.in_channels + c) * self.rows + y) * self.cols + x;
                        let row = (y * self.cols + x) * self.in_channels + c;
                        b[row * n + f] = self.filters[src] * scale;
                    }
                }
            }
        }
        (b, bias)
    }

    /// The output shape, or `None` if the input does not fit.
    pub fn output_shape(&self, input: Shape) -> Option<Shape> {
        if input.channels != self.in_channels {
            return None;
        }
        Some(Shape {
            rows: (input.rows + 2 * self.padding_y).checked_sub(self.rows)? / self.stride_y + 1,
            cols: (input.cols + 2 * self.padding_x).checked_sub(self.cols)? / self.stride_x + 1,
            channels: self.out_channels,
        })
    }

    /// Multiply-adds of the direct method producing `output`.
    pub fn multiply_adds(&self, output: Shape) -> usize {
        output.len() * self.rows * self.cols * self.in_channels
    }

    /// A stride-1 convolution whose padding only ever reads zeros outside a
    /// 1x1 input, as the 1x1 convolution of its centre taps (the only ones
    /// that touch the input); `None` for any other geometry.
    pub fn centre_taps_of_1x1_input(&self, input: Shape) -> Option<(Vec<f32>, Vec<f32>)> {
        let centred = self.rows % 2 == 1
            && self.cols % 2 == 1
            && self.padding_y == self.rows / 2
            && self.padding_x == self.cols / 2;
        if !(centred
            && (self.stride_y, self.stride_x) == (1, 1)
            && (input.rows, input.cols) == (1, 1))
        {
            return None;
        }
        let (cy, cx) = (self.rows / 2, self.cols / 2);
        let filters = (0..self.out_channels * self.in_channels)
            .map(|fc| self.filters[(fc * self.rows + cy) * self.cols + cx])
            .collect();
        Some((filters, self.biases.to_vec()))
    }
}

impl PackedConv {
    /// `affine`: per-output-channel (scale, shift) applied after the bias
    /// (dlib's `affine` layer), folded into weights and bias.
    pub fn new(spec: &ConvSpec, affine: Option<(&[f32], &[f32])>, relu: bool) -> Self {
        let k = spec.rows * spec.cols * spec.in_channels;
        let n = spec.out_channels;
        let (b, bias) = spec.folded(affine);
        PackedConv {
            in_channels: spec.in_channels,
            out_channels: n,
            rows: spec.rows,
            cols: spec.cols,
            stride_y: spec.stride_y,
            stride_x: spec.stride_x,
            padding_y: spec.padding_y,
            padding_x: spec.padding_x,
            packed: pack_b(k, n, &b),
            bias,
            relu,
        }
    }

    /// Runs the convolution; `out` has the length of `ConvSpec::output_shape`.
    /// `padded` is working memory for a zero-bordered copy of the input.
    pub fn forward(
        &self,
        kernel: Kernel,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
        padded: &mut Vec<f32>,
    ) {
        let c = self.in_channels;
        let n = self.out_channels;
        let m = out_shape.rows * out_shape.cols;
        let data = if self.padding_y == 0 && self.padding_x == 0 {
            input
        } else {
            self.pad(input, in_shape, padded)
        };
        let data_cols = in_shape.cols + 2 * self.padding_x;
        // Where output pixel `p`'s receptive field starts in `data`.
        let field = |p: usize| {
            let (oy, ox) = (p / out_shape.cols, p % out_shape.cols);
            (oy * self.stride_y * data_cols + ox * self.stride_x) * c
        };
        let k = self.rows * self.cols * c;
        let mut tile = [0.0f32; MR * NR];
        for (panel_n, b_panel) in self.packed.chunks_exact(k * NR).enumerate() {
            let n0 = panel_n * NR;
            let cols = (n - n0).min(NR);
            let bias = &self.bias[n0..n0 + cols];
            for m0 in (0..m).step_by(MR) {
                // Rows past the last pixel repeat it; they are not stored.
                let rows = Rows {
                    data,
                    offsets: std::array::from_fn(|i| field((m0 + i).min(m - 1))),
                    segments: self.rows,
                    run: self.cols * c,
                    pitch: data_cols * c,
                };
                kernel.tile(&rows, b_panel, &mut tile);
                for (i, tile_row) in tile.chunks_exact(NR).take(m - m0).enumerate() {
                    let dst = &mut out[(m0 + i) * n + n0..(m0 + i) * n + n0 + cols];
                    for ((d, &t), &b) in dst.iter_mut().zip(tile_row).zip(bias) {
                        let v = t + b;
                        *d = if self.relu { v.max(0.0) } else { v };
                    }
                }
            }
        }
    }

    /// Copies the input into `buf` with a zero border of the padding's width.
    fn pad<'a>(&self, input: &[f32], in_shape: Shape, buf: &'a mut Vec<f32>) -> &'a [f32] {
        let c = in_shape.channels;
        let cols = in_shape.cols + 2 * self.padding_x;
        let len = (in_shape.rows + 2 * self.padding_y) * cols * c;
        buf.clear();
        buf.resize(len, 0.0);
        for (y, src) in input[..in_shape.len()]
            .chunks_exact(in_shape.cols * c)
            .enumerate()
        {
            let at = ((y + self.padding_y) * cols + self.padding_x) * c;
            buf[at..at + src.len()].copy_from_slice(src);
        }
        buf
    }
}

/// A pooling window without padding (`rows == 0` pools everything).
#[derive(Debug, Clone, Copy)]
pub struct PoolSpec {
    pub rows: usize,
    pub cols: usize,
    pub stride_y: usize,
    pub stride_x: usize,
}

impl PoolSpec {
    fn window(&self, input: Shape) -> (usize, usize) {
        if self.rows == 0 {
            (input.rows, input.cols)
        } else {
            (self.rows, self.cols)
        }
    }

    pub fn output_shape(&self, input: Shape) -> Option<Shape> {
        let (wr, wc) = self.window(input);
        Some(Shape {
            rows: input.rows.checked_sub(wr)? / self.stride_y + 1,
            cols: input.cols.checked_sub(wc)? / self.stride_x + 1,
            channels: input.channels,
        })
    }

    pub fn max(&self, input: &[f32], in_shape: Shape, out: &mut [f32], out_shape: Shape) {
        self.pool(
            input,
            in_shape,
            out,
            out_shape,
            f32::NEG_INFINITY,
            f32::max,
            |v, _| v,
        );
    }

    pub fn average(&self, input: &[f32], in_shape: Shape, out: &mut [f32], out_shape: Shape) {
        self.pool(
            input,
            in_shape,
            out,
            out_shape,
            0.0,
            |a, b| a + b,
            |v, count| v / count,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn pool(
        &self,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
        start: f32,
        combine: impl Fn(f32, f32) -> f32,
        finish: impl Fn(f32, f32) -> f32,
    ) {
        let c = in_shape.channels;
        let (wr, wc) = self.window(in_shape);
        let count = (wr * wc) as f32;
        for oy in 0..out_shape.rows {
            for ox in 0..out_shape.cols {
                let dst = &mut out[(oy * out_shape.cols + ox) * c..][..c];
                dst.fill(start);
                for y in oy * self.stride_y..oy * self.stride_y + wr {
                    for x in ox * self.stride_x..ox * self.stride_x + wc {
                        let src = &input[(y * in_shape.cols + x) * c..][..c];
                        for (d, &s) in dst.iter_mut().zip(src) {
                            *d = combine(*d, s);
                        }
                    }
                }
                for d in dst.iter_mut() {
                    *d = finish(*d, count);
                }
            }
        }
    }
}

/// The shape of a sum of two tensors as dlib's `add_prev` makes it: each
/// dimension the larger of the two.
pub fn sum_shape(a: Shape, b: Shape) -> Shape {
    Shape {
        rows: a.rows.max(b.rows),
        cols: a.cols.max(b.cols),
        channels: a.channels.max(b.channels),
    }
}

/// `out = a + b`, each operand read as zero outside its own shape.
pub fn add_padded(
    a: &[f32],
    a_shape: Shape,
    b: &[f32],
    b_shape: Shape,
    out: &mut [f32],
    relu: bool,
) {
    let shape = sum_shape(a_shape, b_shape);
    out[..shape.len()].fill(0.0);
    for (t, t_shape) in [(a, a_shape), (b, b_shape)] {
        for y in 0..t_shape.rows {
            for x in 0..t_shape.cols {
                let src = &t[(y * t_shape.cols + x) * t_shape.channels..][..t_shape.channels];
                let dst = &mut out[(y * shape.cols + x) * shape.channels..][..t_shape.channels];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
    }
    if relu {
        for v in &mut out[..shape.len()] {
            *v = v.max(0.0);
        }
    }
}

/// Convolution straight from the definition, with weights and biases as
/// [`ConvSpec::folded`] gives them: the scalar reference of the tests.
#[cfg(test)]
pub fn direct_reference(
    spec: &ConvSpec,
    weights: &[f32],
    bias: &[f32],
    input: &[f32],
    in_shape: Shape,
    out_shape: Shape,
) -> Vec<f32> {
    let n = spec.out_channels;
    let mut out = vec![0.0; out_shape.len()];
    for oy in 0..out_shape.rows {
        for ox in 0..out_shape.cols {
            for f in 0..n {
                let mut acc = f64::from(bias[f]);
                for fy in 0..spec.rows {
                    for fx in 0..spec.cols {
                        let iy = (oy * spec.stride_y + fy).checked_sub(spec.padding_y);
                        let ix = (ox * spec.stride_x + fx).checked_sub(spec.padding_x);
                        let (Some(iy), Some(ix)) = (iy, ix) else {
                            continue;
                        };
                        if iy >= in_shape.rows || ix >= in_shape.cols {
                            continue;
                        }
                        for c in 0..spec.in_channels {
                            let v = input[(iy * in_shape.cols + ix) * spec.in_channels + c];
                            let w = weights[((fy * spec.cols + fx) * spec.in_channels + c) * n + f];
                            acc += f64::from(v) * f64::from(w);
                        }
                    }
                }
                out[(oy * out_shape.cols + ox) * n + f] = acc as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_matches_the_definition_with_padding_and_stride() {
        for (stride, padding, size) in [(1, 1, 3), (2, 0, 3), (2, 0, 7)] {
            let in_shape = Shape {
                rows: 11,
                cols: 9,
                channels: 5,
            };
            let input: Vec<f32> = (0..in_shape.len())
                .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let filters: Vec<f32> = (0..40 * 5 * size * size)
                .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
                .collect();
            let biases: Vec<f32> = (0..40).map(|i| i as f32 / 10.0).collect();
            let spec = ConvSpec {
                in_channels: 5,
                out_channels: 40,
                rows: size,
                cols: size,
                stride_y: stride,
                stride_x: stride,
                padding_y: padding,
                padding_x: padding,
                filters: &filters,
                biases: &biases,
            };
            let conv = PackedConv::new(&spec, None, false);
            let out_shape = spec.output_shape(in_shape).expect("fits");
            let mut out = vec![0.0; out_shape.len()];
            let mut scratch = Vec::new();
            conv.forward(
                Kernel::detect(),
                &input,
                in_shape,
                &mut out,
                out_shape,
                &mut scratch,
            );
            let (folded, bias) = spec.folded(None);
            let want = direct_reference(&spec, &folded, &bias, &input, in_shape, out_shape);
            for (g, w) in out.iter().zip(&want) {
                assert!((g - w).abs() < 1e-3, "{g} vs {w}");
            }
        }
    }

    #[test]
    fn padded_add_keeps_the_larger_shape() {
        let a_shape = Shape {
            rows: 1,
            cols: 2,
            channels: 1,
        };
        let b_shape = Shape {
            rows: 2,
            cols: 2,
            channels: 2,
        };
        let mut out = vec![0.0; 8];
        add_padded(&[1.0, 2.0], a_shape, &[10.0; 8], b_shape, &mut out, false);
        assert_eq!(out, vec![11.0, 10.0, 12.0, 10.0, 10.0, 10.0, 10.0, 10.0]);
    }

    #[test]
    fn pools_follow_dlib_output_sizes() {
        let pool = PoolSpec {
            rows: 2,
            cols: 2,
            stride_y: 2,
            stride_x: 2,
        };
        let shape = Shape {
            rows: 35,
            cols: 35,
            channels: 1,
        };
        assert_eq!(pool.output_shape(shape).map(|s| s.rows), Some(17));
        let all = PoolSpec {
            rows: 0,
            cols: 0,
            stride_y: 1,
            stride_x: 1,
        };
        let small = Shape {
            rows: 2,
            cols: 2,
            channels: 1,
        };
        let mut out = [0.0];
        all.average(
            &[1.0, 2.0, 3.0, 6.0],
            small,
            &mut out,
            Shape {
                rows: 1,
                cols: 1,
                channels: 1,
            },
        );
        assert_eq!(out, [3.0]);
    }
}
