//! Dense (ungrouped) convolution on HWC tensors through the packed GEMM of
//! [`super::gemm`], with padding that may differ before and after, and an
//! epilogue of bias and optional PReLU: the convolutions of Open Model Zoo
//! networks.

use super::Shape;
use super::gemm::{Kernel, MR, NR, Rows, pack_b};

/// What follows a convolution's bias, applied as its output is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    Identity,
    /// `max(v, 0) + slope[c] * min(v, 0)`, one slope per output channel.
    PRelu(Vec<f32>),
}

impl Activation {
    /// Applies the activation to `values`, which start at channel `c0`.
    #[inline]
    pub fn apply(&self, values: &mut [f32], c0: usize) {
        if let Activation::PRelu(slopes) = self {
            for (v, &s) in values.iter_mut().zip(&slopes[c0..]) {
                if *v < 0.0 {
                    *v *= s;
                }
            }
        }
    }
}

/// A convolution's geometry: kernel, strides, and padding before (top,
/// left) and after (bottom, right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub rows: usize,
    pub cols: usize,
    pub stride_y: usize,
    pub stride_x: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub pad_bottom: usize,
    pub pad_right: usize,
}

impl Window {
    /// The output rows and columns over an input of `rows x cols`, or
    /// `None` if the window does not fit or a stride is zero.
    pub fn output(&self, rows: usize, cols: usize) -> Option<(usize, usize)> {
        if self.stride_y == 0 || self.stride_x == 0 || self.rows == 0 || self.cols == 0 {
            return None;
        }
        let padded_rows = rows
            .checked_add(self.pad_top)?
            .checked_add(self.pad_bottom)?;
        let padded_cols = cols
            .checked_add(self.pad_left)?
            .checked_add(self.pad_right)?;
        Some((
            padded_rows.checked_sub(self.rows)? / self.stride_y + 1,
            padded_cols.checked_sub(self.cols)? / self.stride_x + 1,
        ))
    }

    pub fn is_padded(&self) -> bool {
        self.pad_top + self.pad_left + self.pad_bottom + self.pad_right > 0
    }

    /// Copies an HWC input into `buf` with the padding as a zero border and
    /// returns it with its padded shape.
    pub fn pad<'a>(
        &self,
        input: &[f32],
        shape: Shape,
        buf: &'a mut Vec<f32>,
    ) -> (&'a [f32], Shape) {
        let padded = Shape {
            rows: shape.rows + self.pad_top + self.pad_bottom,
            cols: shape.cols + self.pad_left + self.pad_right,
            channels: shape.channels,
        };
        buf.clear();
        buf.resize(padded.len(), 0.0);
        let c = shape.channels;
        for (y, src) in input[..shape.len()]
            .chunks_exact(shape.cols * c)
            .enumerate()
        {
            let at = ((y + self.pad_top) * padded.cols + self.pad_left) * c;
            buf[at..at + src.len()].copy_from_slice(src);
        }
        (buf, padded)
    }
}

/// A dense convolution ready to run.
#[derive(Debug)]
pub struct DenseConv {
    in_channels: usize,
    out_channels: usize,
    window: Window,
    /// `K x out_channels` panels, `K` ordered (filter row, filter col,
    /// channel).
    packed: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
}

impl DenseConv {
    /// `filters` are `out x in x rows x cols` (OpenVINO's and dlib's
    /// order); the caller has checked the lengths.
    pub fn new(
        in_channels: usize,
        window: Window,
        filters: &[f32],
        bias: Vec<f32>,
        activation: Activation,
    ) -> Self {
        let n = bias.len();
        let taps = window.rows * window.cols;
        let k = taps * in_channels;
        let mut b = vec![0.0; k * n];
        for (f, filter) in filters.chunks_exact(k).enumerate() {
            for (c, per_channel) in filter.chunks_exact(taps).enumerate() {
                for (tap, &w) in per_channel.iter().enumerate() {
                    b[(tap * in_channels + c) * n + f] = w;
                }
            }
        }
        DenseConv {
            in_channels,
            out_channels: n,
            window,
            packed: pack_b(k, n, &b),
            bias,
            activation,
        }
    }

    pub fn output_shape(&self, input: Shape) -> Option<Shape> {
        if input.channels != self.in_channels {
            return None;
        }
        let (rows, cols) = self.window.output(input.rows, input.cols)?;
        Some(Shape {
            rows,
            cols,
            channels: self.out_channels,
        })
    }

    pub fn multiply_adds(&self, output: Shape) -> usize {
        output.len() * self.window.rows * self.window.cols * self.in_channels
    }

    /// Runs the convolution into `out` (`output_shape(in_shape)`'s length).
    /// `padded` is working memory for the zero-bordered input.
    pub fn forward(
        &self,
        kernel: Kernel,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
        padded: &mut Vec<f32>,
    ) {
        let (data, data_shape) = if self.window.is_padded() {
            self.window.pad(input, in_shape, padded)
        } else {
            (input, in_shape)
        };
        let c = self.in_channels;
        let n = self.out_channels;
        let w = &self.window;
        let pixels = out_shape.rows * out_shape.cols;
        let k = w.rows * w.cols * c;
        let origin = |p: usize| {
            let (oy, ox) = (p / out_shape.cols, p % out_shape.cols);
            (oy * w.stride_y * data_shape.cols + ox * w.stride_x) * c
        };
        let mut tile = [0.0f32; MR * NR];
        for (panel, b_panel) in self.packed.chunks_exact(k * NR).enumerate() {
            let n0 = panel * NR;
            let cols = (n - n0).min(NR);
            let bias = &self.bias[n0..n0 + cols];
            for m0 in (0..pixels).step_by(MR) {
                // Rows past the last pixel repeat it; they are not stored.
                let rows = Rows {
                    data,
                    offsets: std::array::from_fn(|i| origin((m0 + i).min(pixels - 1))),
                    segments: w.rows,
                    run: w.cols * c,
                    pitch: data_shape.cols * c,
                };
                kernel.tile(&rows, b_panel, &mut tile);
                for (i, tile_row) in tile.chunks_exact(NR).take(pixels - m0).enumerate() {
                    let dst = &mut out[(m0 + i) * n + n0..][..cols];
                    for ((d, &t), &b) in dst.iter_mut().zip(tile_row).zip(bias) {
                        *d = t + b;
                    }
                    self.activation.apply(dst, n0);
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A convolution straight from its definition: NCHW-ordered filters,
    /// groups of `in / groups` channels, zero padding.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn naive_conv(
        input: &[f32],
        in_shape: Shape,
        filters: &[f32],
        bias: &[f32],
        window: Window,
        groups: usize,
        out_shape: Shape,
        slopes: Option<&[f32]>,
    ) -> Vec<f32> {
        let per_group_in = in_shape.channels / groups;
        let per_group_out = out_shape.channels / groups;
        let mut out = vec![0.0; out_shape.len()];
        for oy in 0..out_shape.rows {
            for ox in 0..out_shape.cols {
                for f in 0..out_shape.channels {
                    let g = f / per_group_out;
                    let mut acc = bias[f];
                    for ci in 0..per_group_in {
                        let c = g * per_group_in + ci;
                        for fy in 0..window.rows {
                            for fx in 0..window.cols {
                                let iy =
                                    (oy * window.stride_y + fy) as isize - window.pad_top as isize;
                                let ix =
                                    (ox * window.stride_x + fx) as isize - window.pad_left as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= in_shape.rows as isize
                                    || ix >= in_shape.cols as isize
                                {
                                    continue;
                                }
                                let v = input[(iy as usize * in_shape.cols + ix as usize)
                                    * in_shape.channels
                                    + c];
                                acc += v * filters[((f * per_group_in + ci) * window.rows + fy)
                                    * window.cols
                                    + fx];
                            }
                        }
                    }
                    if let Some(s) = slopes
                        && acc < 0.0
                    {
                        acc *= s[f];
                    }
                    out[(oy * out_shape.cols + ox) * out_shape.channels + f] = acc;
                }
            }
        }
        out
    }

    pub(crate) fn square_window(size: usize, stride: usize, before: usize, after: usize) -> Window {
        Window {
            rows: size,
            cols: size,
            stride_y: stride,
            stride_x: stride,
            pad_top: before,
            pad_left: before,
            pad_bottom: after,
            pad_right: after,
        }
    }

    /// Operands of a test convolution: input, filters, bias, PReLU slopes.
    pub(crate) struct Operands {
        pub input: Vec<f32>,
        pub filters: Vec<f32>,
        pub bias: Vec<f32>,
        pub slopes: Vec<f32>,
    }

    impl Operands {
        pub(crate) fn new(in_shape: Shape, filter_len: usize, out_channels: usize) -> Self {
            Operands {
                input: values(in_shape.len(), 1),
                filters: values(filter_len, 2),
                bias: values(out_channels, 3),
                slopes: values(out_channels, 4),
            }
        }

        /// Asserts that each of `outputs` (label, values) is the
        /// definition's output within 1e-4.
        pub(crate) fn assert_outputs(
            &self,
            in_shape: Shape,
            window: Window,
            groups: usize,
            out_shape: Shape,
            outputs: &[(String, Vec<f32>)],
        ) {
            let want = naive_conv(
                &self.input,
                in_shape,
                &self.filters,
                &self.bias,
                window,
                groups,
                out_shape,
                Some(&self.slopes),
            );
            for (what, got) in outputs {
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-4, "{what}: {g} vs {w}");
                }
            }
        }
    }

    pub(crate) fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 31 + seed * 7) % 23) as f32 - 11.0) / 9.0)
            .collect()
    }

    #[test]
    fn dense_conv_matches_the_definition() {
        // (kernel, stride, padding before, padding after) as in the models,
        // plus uneven padding and a 1x1 over many channels.
        for (size, stride, before, after, c_in, c_out) in [
            (3, 2, 1, 1, 3, 40),
            (3, 1, 1, 1, 5, 33),
            (1, 1, 0, 0, 70, 64),
            (3, 2, 0, 1, 4, 8),
        ] {
            let in_shape = Shape {
                rows: 11,
                cols: 9,
                channels: c_in,
            };
            let window = square_window(size, stride, before, after);
            let ops = Operands::new(in_shape, c_out * c_in * size * size, c_out);
            let conv = DenseConv::new(
                c_in,
                window,
                &ops.filters,
                ops.bias.clone(),
                Activation::PRelu(ops.slopes.clone()),
            );
            let out_shape = conv.output_shape(in_shape).expect("fits");
            let outputs: Vec<(String, Vec<f32>)> = [Kernel::Portable, Kernel::detect()]
                .into_iter()
                .map(|kernel| {
                    let mut out = vec![f32::NAN; out_shape.len()];
                    let scratch = &mut Vec::new();
                    conv.forward(kernel, &ops.input, in_shape, &mut out, out_shape, scratch);
                    (format!("{kernel:?} {size}x{size}/{stride}"), out)
                })
                .collect();
            ops.assert_outputs(in_shape, window, 1, out_shape, &outputs);
        }
    }
}
