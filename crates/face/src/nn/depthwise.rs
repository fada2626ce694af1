//! Depthwise convolution (one filter per channel, PyTorch's
//! `groups == in_channels == out_channels`) and small fully connected
//! layers, for the liveness networks.

use std::ops::Range;

use super::gemm::Kernel;
use super::ops::Activation;
use super::{LANES, Shape, filter_taps, padded_channels};

/// A square depthwise convolution with zero padding, a per-channel affine
/// folded in, then an activation.
#[derive(Debug)]
pub struct DepthwiseConv {
    channels: usize,
    /// Values per pixel of the input and output maps: `channels`, or more
    /// in a channel-padded map ([`DepthwiseConv::padded`]).
    pitch: usize,
    size: usize,
    stride: usize,
    padding: usize,
    /// `size x size x pitch`: channels contiguous, like the input; zero
    /// past `channels`.
    weights: Vec<f32>,
    /// `pitch` values, zero past `channels`.
    bias: Vec<f32>,
    activation: Activation,
}

impl DepthwiseConv {
    /// `filters` is PyTorch's `channels x 1 x size x size`; `scale` and
    /// `shift` the affine after it (a folded batch norm). Runs on maps of
    /// exactly `channels` values a pixel.
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
            pitch: channels,
            size,
            stride,
            padding,
            weights,
            bias: shift.to_vec(),
            activation,
        }
    }

    /// The same convolution on channel-padded maps ([`padded_channels`]
    /// values a pixel, zero past the channels), whose pixels it handles in
    /// whole vectors; the padding of the output stays zero.
    pub fn padded(self) -> Self {
        let pitch = padded_channels(self.channels);
        let mut weights = vec![0.0; self.size * self.size * pitch];
        for (dst, src) in weights
            .chunks_exact_mut(pitch)
            .zip(self.weights.chunks_exact(self.pitch))
        {
            dst[..src.len()].copy_from_slice(src);
        }
        let mut bias = vec![0.0; pitch];
        bias[..self.channels].copy_from_slice(&self.bias[..self.channels]);
        let activation = match self.activation {
            Activation::PRelu(mut slopes) => {
                slopes.resize(pitch, 0.0);
                Activation::PRelu(slopes)
            }
            other => other,
        };
        DepthwiseConv {
            pitch,
            weights,
            bias,
            activation,
            ..self
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

    /// `input` holds `in_shape`'s pixels and `out` `out_shape`'s, each
    /// pixel the convolution's pitch of values (see [`DepthwiseConv::padded`]).
    pub fn forward(
        &self,
        kernel: Kernel,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
    ) {
        // The AVX-512 kernel indexes these without further checks.
        let input = &input[..in_shape.rows * in_shape.cols * self.pitch];
        let out = &mut out[..out_shape.rows * out_shape.cols * self.pitch];
        assert!(self.weights.len() == self.size * self.size * self.pitch);
        assert!(self.bias.len() == self.pitch);
        match kernel {
            // SAFETY: the variant exists only when `Kernel::detect` found
            // the features; the slices were just sized.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { self.forward_avx512(input, in_shape, out, out_shape) },
            // SAFETY: the variant exists only when `Kernel::detect` found
            // the features; the body is safe code compiled for them.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { self.forward_avx2(input, in_shape, out, out_shape) },
            Kernel::Portable => {
                for oy in 0..out_shape.rows {
                    for ox in 0..out_shape.cols {
                        self.pixel(input, in_shape, out, out_shape, (oy, ox));
                    }
                }
            }
        }
    }

    /// [`filter_taps`] of this convolution.
    fn window(&self, o: usize, n: usize) -> (isize, Range<usize>) {
        filter_taps(o, n, self.size, self.stride, self.padding)
    }

    /// The output columns whose every filter tap lands inside an input
    /// row of `in_cols` values.
    fn interior(&self, in_cols: usize, out_cols: usize) -> Range<usize> {
        let end = (in_cols + self.padding)
            .checked_sub(self.size)
            .map_or(0, |room| (room / self.stride + 1).min(out_cols));
        self.padding.div_ceil(self.stride).min(end)..end
    }

    /// # Safety
    /// The CPU must support AVX-512F; `input` and `out` hold their shapes'
    /// pixels of `pitch` values.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn forward_avx512(
        &self,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
    ) {
        let interior = self.interior(in_shape.cols, out_shape.cols);
        let whole_vectors = self.pitch.is_multiple_of(LANES);
        for oy in 0..out_shape.rows {
            let mut ox = 0;
            while ox < out_shape.cols {
                let left = interior.end.saturating_sub(ox);
                if !whole_vectors || !interior.contains(&ox) || (left < 8 && interior.len() < 4) {
                    self.pixel(input, in_shape, out, out_shape, (oy, ox));
                    ox += 1;
                } else if left >= 8 {
                    // SAFETY: the pitch is whole vectors and the group's
                    // columns are interior; the slices are sized by the caller.
                    unsafe { self.interior_avx512::<8>(input, in_shape, out, out_shape, (oy, ox)) };
                    ox += 8;
                } else {
                    // The last group ends at the interior's end, starting
                    // earlier if need be: pixels computed twice are stored
                    // twice, to the same values.
                    let start = ox.min(interior.end - 4);
                    // SAFETY: as above.
                    unsafe {
                        self.interior_avx512::<4>(input, in_shape, out, out_shape, (oy, start))
                    };
                    ox = start + 4;
                }
            }
        }
    }

    /// `P` output pixels side by side from `(oy, ox)`, each vector of
    /// channels accumulating in its own register: `P` independent chains
    /// of fused multiply-adds rather than one. The same operations in the
    /// same order as [`DepthwiseConv::pixel`], so the same results.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; the pitch is a multiple of [`LANES`];
    /// `input` and `out` hold their shapes' pixels of `pitch` values;
    /// `oy` is an output row and `ox..ox + P` lie in
    /// [`DepthwiseConv::interior`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn interior_avx512<const P: usize>(
        &self,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
        (oy, ox): (usize, usize),
    ) {
        use std::arch::x86_64::*;
        let pitch = self.pitch;
        let (y0, taps_y) = self.window(oy, in_shape.rows);
        // Interior: the first tap column is inside the input.
        let x0 = ox * self.stride - self.padding;
        for block in (0..pitch).step_by(LANES) {
            // SAFETY (this block): `block + LANES <= pitch`; rows come from
            // the window, so lie inside the input; the columns
            // `x0 + p * stride + fx` are inside for interior pixels; the
            // output pixels are `oy`'s row, below its column count.
            unsafe {
                let mut acc = [_mm512_loadu_ps(self.bias.as_ptr().add(block)); P];
                for fy in taps_y.clone() {
                    let iy = (y0 + fy as isize) as usize;
                    let row = input
                        .as_ptr()
                        .add((iy * in_shape.cols + x0) * pitch + block);
                    let taps = self.weights.as_ptr().add(fy * self.size * pitch + block);
                    for fx in 0..self.size {
                        let w = _mm512_loadu_ps(taps.add(fx * pitch));
                        for (p, acc) in acc.iter_mut().enumerate() {
                            let x = _mm512_loadu_ps(row.add((p * self.stride + fx) * pitch));
                            *acc = _mm512_fmadd_ps(x, w, *acc);
                        }
                    }
                }
                for (p, &sum) in acc.iter().enumerate() {
                    let v = match &self.activation {
                        Activation::Identity => sum,
                        Activation::Relu => _mm512_max_ps(sum, _mm512_setzero_ps()),
                        Activation::PRelu(slopes) => {
                            let slopes = &slopes[block..block + LANES];
                            let negative =
                                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(sum, _mm512_setzero_ps());
                            _mm512_mask_mul_ps(sum, negative, sum, _mm512_loadu_ps(slopes.as_ptr()))
                        }
                    };
                    let at = (oy * out_shape.cols + ox + p) * pitch + block;
                    _mm512_storeu_ps(out.as_mut_ptr().add(at), v);
                }
            }
        }
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
        for oy in 0..out_shape.rows {
            for ox in 0..out_shape.cols {
                self.pixel(input, in_shape, out, out_shape, (oy, ox));
            }
        }
    }

    /// One output pixel in plain code, vectorised by the compiler for
    /// whatever features the caller was compiled with: its channels in
    /// blocks of [`LANES`] held in registers over the taps, then any
    /// remainder.
    #[inline(always)]
    fn pixel(
        &self,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        out_shape: Shape,
        (oy, ox): (usize, usize),
    ) {
        let pitch = self.pitch;
        let whole = pitch - pitch % LANES;
        let (y0, taps_y) = self.window(oy, in_shape.rows);
        let (x0, taps_x) = self.window(ox, in_shape.cols);
        // Where tap (fy, fx) reads the input and its weights.
        let tap = |fy: usize, fx: usize| {
            let iy = (y0 + fy as isize) as usize;
            let ix = (x0 + fx as isize) as usize;
            (
                (iy * in_shape.cols + ix) * pitch,
                (fy * self.size + fx) * pitch,
            )
        };
        let dst = &mut out[(oy * out_shape.cols + ox) * pitch..][..pitch];
        for block in (0..whole).step_by(LANES) {
            let mut acc = [0.0f32; LANES];
            acc.copy_from_slice(&self.bias[block..block + LANES]);
            for fy in taps_y.clone() {
                for fx in taps_x.clone() {
                    let (src, w) = tap(fy, fx);
                    let src = &input[src + block..][..LANES];
                    let w = &self.weights[w + block..][..LANES];
                    for ((a, &s), &w) in acc.iter_mut().zip(src).zip(w) {
                        *a = s.mul_add(w, *a);
                    }
                }
            }
            dst[block..block + LANES].copy_from_slice(&acc);
        }
        let rest = &mut dst[whole..];
        rest.copy_from_slice(&self.bias[whole..]);
        for fy in taps_y.clone() {
            for fx in taps_x.clone() {
                let (src, w) = tap(fy, fx);
                let src = &input[src + whole..src + pitch];
                let w = &self.weights[w + whole..w + pitch];
                for ((d, &s), &w) in rest.iter_mut().zip(src).zip(w) {
                    *d = s.mul_add(w, *d);
                }
            }
        }
        self.activation.apply(dst, 0);
    }
}

/// `y = W x + b`, then an activation.
#[derive(Debug)]
pub struct Dense {
    inputs: usize,
    /// `W` transposed, `inputs x outputs`: each input's weights are
    /// contiguous, so the outputs accumulate side by side in vectors, each
    /// still summing its terms in input order.
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
        let outputs = shift.len();
        let mut transposed = vec![0.0; inputs * outputs];
        for (o, (row, &s)) in weights.chunks_exact(inputs).zip(scale).enumerate() {
            for (i, &w) in row.iter().enumerate() {
                transposed[i * outputs + o] = w * s;
            }
        }
        Dense {
            inputs,
            weights: transposed,
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
        let outputs = self.outputs();
        let out = &mut out[..outputs];
        out.fill(0.0);
        for (&x, column) in input[..self.inputs]
            .iter()
            .zip(self.weights.chunks_exact(outputs))
        {
            for (o, &w) in out.iter_mut().zip(column) {
                *o += w * x;
            }
        }
        for (o, &b) in out.iter_mut().zip(&self.bias) {
            *o += b;
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
    fn every_kernel_matches_the_definition_with_padding_stride_and_layout() {
        // 5 channels: the remainder path alone; 21: a whole block and a
        // remainder, or two whole blocks once padded.
        for channels in [5, 21] {
            for (size, stride, padding) in [(3, 1, 1), (3, 2, 1), (5, 1, 0)] {
                for padded in [false, true] {
                    for activation in ["prelu", "relu", "identity"] {
                        for kernel in Kernel::available() {
                            let geometry = (size, stride, padding);
                            check_depthwise(channels, geometry, padded, activation, kernel);
                        }
                    }
                }
            }
        }
    }

    fn check_depthwise(
        channels: usize,
        (size, stride, padding): (usize, usize, usize),
        padded: bool,
        activation: &str,
        kernel: Kernel,
    ) {
        // Wide enough for groups of 8 and 4 interior pixels at stride 1.
        let in_shape = Shape {
            rows: 7,
            cols: 19,
            channels,
        };
        let pitch = if padded {
            padded_channels(channels)
        } else {
            channels
        };
        let value = |i: usize| ((i * 31 % 17) as f32 - 8.0) / 8.0;
        let input: Vec<f32> = (0..in_shape.rows * in_shape.cols * pitch)
            .map(|i| if i % pitch < channels { value(i) } else { 0.0 })
            .collect();
        let filters: Vec<f32> = (0..channels * size * size)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
            .collect();
        let scale: Vec<f32> = (0..channels).map(|c| (c % 4) as f32 - 1.5).collect();
        let shift: Vec<f32> = (0..channels).map(|c| c as f32 / 10.0).collect();
        let slopes: Vec<f32> = match activation {
            "prelu" => (0..channels).map(|c| 0.1 * c as f32).collect(),
            "relu" => vec![0.0; channels],
            _ => vec![1.0; channels],
        };
        let conv = DepthwiseConv::new(
            channels,
            size,
            stride,
            padding,
            &filters,
            (&scale, &shift),
            match activation {
                "prelu" => Activation::PRelu(slopes.clone()),
                "relu" => Activation::Relu,
                _ => Activation::Identity,
            },
        );
        let conv = if padded { conv.padded() } else { conv };
        let out_shape = conv.output_shape(in_shape).expect("fits");
        let mut out = vec![f32::NAN; out_shape.rows * out_shape.cols * pitch];
        conv.forward(kernel, &input, in_shape, &mut out, out_shape);
        for oy in 0..out_shape.rows {
            for ox in 0..out_shape.cols {
                for c in 0..pitch {
                    let got = out[(oy * out_shape.cols + ox) * pitch + c];
                    if c >= channels {
                        assert_eq!(got, 0.0, "{kernel:?}: padding stays zero");
                        continue;
                    }
                    let mut want = 0.0;
                    for fy in 0..size {
                        for fx in 0..size {
                            let iy = (oy * stride + fy) as isize - padding as isize;
                            let ix = (ox * stride + fx) as isize - padding as isize;
                            if (0..7).contains(&iy) && (0..19).contains(&ix) {
                                want += input[(iy as usize * 19 + ix as usize) * pitch + c]
                                    * filters[(c * size + fy) * size + fx];
                            }
                        }
                    }
                    want = want * scale[c] + shift[c];
                    if want < 0.0 {
                        want *= slopes[c];
                    }
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{kernel:?} {channels} channels, padded {padded}, {activation}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn dense_matches_the_definition() {
        let (inputs, outputs) = (7, 5);
        let weights: Vec<f32> = (0..inputs * outputs)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
            .collect();
        let scale = [1.0, 2.0, 0.5, -1.0, 3.0];
        let shift = [0.1, 0.2, 0.3, 0.4, 0.5];
        let input: Vec<f32> = (0..inputs).map(|i| i as f32 / 3.0 - 1.0).collect();
        let dense = Dense::new(inputs, &weights, (&scale, &shift), Activation::Relu);
        let mut out = [f32::NAN; 5];
        dense.forward(&input, &mut out);
        for (o, got) in out.iter().enumerate() {
            let sum: f32 = (0..inputs)
                .map(|i| weights[o * inputs + i] * input[i])
                .sum();
            let want = (sum * scale[o] + shift[o]).max(0.0);
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
    }

    #[test]
    fn prelu_scales_only_negative_values() {
        let mut v = [-2.0, 3.0, -1.0];
        Activation::PRelu(vec![0.5, 0.5, -1.0]).apply(&mut v, 0);
        assert_eq!(v, [-1.0, 3.0, 1.0]);
    }
}
