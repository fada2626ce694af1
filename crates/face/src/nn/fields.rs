//! A dense square convolution run as a 1×1 convolution over receptive
//! fields: each output pixel's input values under the filter are gathered
//! into one row, ordered (filter row, filter column, channel), and the rows
//! go through the pointwise kernel ([`super::pointwise`]), bias and PReLU
//! fused. Each output sums the same products in the same order as the
//! packed GEMM of [`super::ops::PackedConv`] (zero taps included), so the
//! two give the same floats.
//!
//! The gathered rows are working memory the caller keeps between runs,
//! all zeros between them: the taps outside the input read those zeros,
//! and the rows are wiped after each run (they may be a face picture).

use zeroize::Zeroize;

use super::gemm::Kernel;
use super::pointwise::Pointwise;
use super::{Shape, filter_taps, padded_channels};

#[derive(Debug)]
pub struct FieldConv {
    /// Over `size x size x channels` inputs a pixel.
    conv: Pointwise,
    size: usize,
    stride: usize,
    padding: usize,
    input: Shape,
    output: Shape,
}

impl FieldConv {
    /// A `size x size` convolution of `input` (HWC, its channels as they
    /// are) with `filters` in PyTorch's and OpenVINO's `out x in x rows x
    /// cols` order, the per-output affine (`scale`, `shift`) after it and
    /// an optional PReLU; its output map is channel-padded
    /// ([`padded_channels`]). `None` if the filters do not fit the input.
    pub fn new(
        input: Shape,
        (size, stride, padding): (usize, usize, usize),
        filters: &[f32],
        (scale, shift): (&[f32], &[f32]),
        prelu: Option<&[f32]>,
    ) -> Option<FieldConv> {
        let in_channels = input.channels;
        let field = size * size * in_channels;
        let out_channels = shift.len();
        if size == 0
            || stride == 0
            || padding >= size
            || filters.len() != out_channels * field
            || scale.len() != out_channels
            || prelu.is_some_and(|s| s.len() != out_channels)
        {
            return None;
        }
        let side = |n: usize| Some((n + 2 * padding).checked_sub(size)? / stride + 1);
        let output = Shape {
            rows: side(input.rows)?,
            cols: side(input.cols)?,
            channels: out_channels,
        };
        // Each filter's (channel, row, column) order becomes the fields'
        // (row, column, channel).
        let mut reordered = vec![0.0; out_channels * field];
        for (o, filter) in reordered.chunks_exact_mut(field).enumerate() {
            for c in 0..in_channels {
                for tap in 0..size * size {
                    filter[tap * in_channels + c] =
                        filters[(o * in_channels + c) * size * size + tap];
                }
            }
        }
        Some(FieldConv {
            conv: Pointwise::new(field, out_channels, &reordered, (scale, shift), prelu),
            size,
            stride,
            padding,
            input,
            output,
        })
    }

    pub fn output(&self) -> Shape {
        self.output
    }

    /// Multiply-adds of the direct method.
    pub fn multiply_adds(&self) -> usize {
        self.conv.multiply_adds(self.output.rows * self.output.cols)
    }

    /// Runs the convolution of `input` (the input shape's values) into
    /// `out` (at least the output's padded length); `fields` is the
    /// caller's working memory, all zeros on entry and on return.
    pub fn run<T: Copy + Into<f32>>(
        &self,
        kernel: Kernel,
        input: &[T],
        fields: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let (shape, channels) = (self.input, self.input.channels);
        let input = &input[..shape.len()];
        let row = padded_channels(self.size * self.size * channels);
        let pixels = self.output.rows * self.output.cols;
        if fields.len() != pixels * row {
            fields.clear();
            fields.resize(pixels * row, 0.0);
        }
        let window = |o: usize, n: usize| filter_taps(o, n, self.size, self.stride, self.padding);
        for (p, field) in fields.chunks_exact_mut(row).enumerate() {
            let (y0, taps_y) = window(p / self.output.cols, shape.rows);
            let (x0, taps_x) = window(p % self.output.cols, shape.cols);
            // The taps of one filter row inside the input are one run of it.
            let run = taps_x.len() * channels;
            let ix = (x0 + taps_x.start as isize) as usize;
            for fy in taps_y {
                let iy = (y0 + fy as isize) as usize;
                let src = &input[(iy * shape.cols + ix) * channels..][..run];
                let dst = &mut field[(fy * self.size + taps_x.start) * channels..][..run];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = s.into();
                }
            }
        }
        self.conv.forward(kernel, fields, pixels, None, out);
        fields.as_mut_slice().zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strided and not, padded and not, channels of a vector and not, with
    /// and without a PReLU: the definition, on every kernel, and the
    /// working memory zero after each run.
    #[test]
    fn every_kernel_computes_the_definition() {
        for (size, stride, padding, in_channels, out_channels) in [
            (3, 2, 1, 3, 64),
            (3, 1, 1, 16, 32),
            (5, 1, 0, 2, 16),
            (3, 1, 2, 5, 20),
        ] {
            let input = Shape {
                rows: 7,
                cols: 6,
                channels: in_channels,
            };
            let filters: Vec<f32> = (0..out_channels * in_channels * size * size)
                .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
                .collect();
            let scale: Vec<f32> = (0..out_channels).map(|c| (c % 3) as f32 + 0.5).collect();
            let shift: Vec<f32> = (0..out_channels).map(|c| c as f32 / 10.0 - 1.0).collect();
            let slopes: Vec<f32> = (0..out_channels).map(|c| 0.05 * c as f32).collect();
            let values: Vec<f32> = (0..input.len())
                .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
                .collect();
            for prelu in [None, Some(&slopes[..])] {
                let conv = FieldConv::new(
                    input,
                    (size, stride, padding),
                    &filters,
                    (&scale, &shift),
                    prelu,
                )
                .expect("fits");
                let output = conv.output();
                let n = padded_channels(out_channels);
                for kernel in Kernel::available() {
                    let mut fields = Vec::new();
                    let mut out = vec![f32::NAN; output.rows * output.cols * n];
                    conv.run(kernel, &values, &mut fields, &mut out);
                    assert!(fields.iter().all(|&v| v == 0.0), "wiped");
                    for oy in 0..output.rows {
                        for ox in 0..output.cols {
                            for o in 0..n {
                                let got = f64::from(out[(oy * output.cols + ox) * n + o]);
                                if o >= out_channels {
                                    assert_eq!(got, 0.0, "padding channels stay zero");
                                    continue;
                                }
                                let mut want = 0.0f64;
                                for fy in 0..size {
                                    for fx in 0..size {
                                        let iy = (oy * stride + fy) as isize - padding as isize;
                                        let ix = (ox * stride + fx) as isize - padding as isize;
                                        if iy < 0
                                            || ix < 0
                                            || iy >= input.rows as isize
                                            || ix >= input.cols as isize
                                        {
                                            continue;
                                        }
                                        for c in 0..in_channels {
                                            let v = values[(iy as usize * input.cols
                                                + ix as usize)
                                                * in_channels
                                                + c];
                                            let w = filters
                                                [((o * in_channels + c) * size + fy) * size + fx];
                                            want += f64::from(v) * f64::from(w);
                                        }
                                    }
                                }
                                want = want * f64::from(scale[o]) + f64::from(shift[o]);
                                if let (Some(slopes), true) = (prelu, want < 0.0) {
                                    want *= f64::from(slopes[o]);
                                }
                                assert!(
                                    (got - want).abs() < 1e-4,
                                    "{kernel:?} {size}x{size}/{stride} pad {padding}, \
                                     {in_channels}→{out_channels}: {got} vs {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn filters_that_do_not_fit_are_refused() {
        let input = Shape {
            rows: 2,
            cols: 2,
            channels: 1,
        };
        let ones = [1.0; 16];
        // Larger than the padded input.
        assert!(FieldConv::new(input, (3, 1, 0), &ones[..9], (&[1.0], &[0.0]), None).is_none());
        // Padding as wide as the kernel.
        assert!(FieldConv::new(input, (2, 1, 2), &ones[..4], (&[1.0], &[0.0]), None).is_none());
        // Weights of another size.
        assert!(FieldConv::new(input, (2, 1, 0), &ones[..5], (&[1.0], &[0.0]), None).is_none());
    }
}
