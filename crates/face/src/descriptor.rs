//! 128-d face descriptors: dlib's face-recognition ResNet run in pure Rust.
//!
//! [`DescriptorNet::from_model`] turns the parsed model into a plan of
//! kernels: each convolution absorbs the affine (frozen batch norm) after it
//! and, where one follows, the ReLU; a ReLU after a residual sum is done in
//! the sum. The stride-1 3x3 convolutions on 35x35, 17x17 and 8x8 maps run
//! in the Winograd domain (`nn::winograd`: F(4x4, 3x3), or F(2x2, 3x3) on
//! 8x8), with about a third of the direct method's multiplications; the
//! others (the 7x7 input layer, the strided ones, the 4x4x256 ones whose
//! few output blocks would not repay their larger transformed weights) are
//! a packed GEMM that reads the (zero-padded) input in place; the 3x3
//! convolution on a 1x1 map reads only its centre taps. Every product runs
//! on a kernel chosen at run time (AVX-512, AVX2+FMA or portable), so one
//! binary runs on any x86-64.
//!
//! Cost of one descriptor by the direct method: 270,854,144 multiply-adds,
//! i.e. 541,708,288 FLOPs (29 convolutions and the final 256x128 fully
//! connected layer; pooling, sums and the input normalisation are not
//! counted). [`DescriptorNet::multiply_adds`] reports that count whatever
//! method runs, so that speed can be stated against it.
//!
//! The output is the fully connected layer's output as is: dlib's
//! `loss_metric` does not normalise it.
//!
//! Working memory is pooled per concurrent caller and reused. The
//! normalised chip is wiped after every run; deeper activations stay until
//! the next run overwrites them or the net is dropped, which wipes them.

use limen_dlib_format::dnn::{DnnModel, Layer};
use thiserror::Error;
use zeroize::Zeroize;

use crate::chip::{CHIP_SIZE, FaceChip};
use crate::nn::gemm::Kernel;
use crate::nn::ops::{Activation, ConvSpec, PackedConv, PoolSpec, add_padded, sum_shape};
use crate::nn::winograd::{Tile, WinogradConv, WinogradScratch};
use crate::nn::{ScratchPool, Shape, assign_buffers};

/// Length of dlib's face descriptor.
pub const DESCRIPTOR_LEN: usize = 128;

/// A face vector as a model version makes it (its length is the version's).
/// Zeroised on drop; its Debug hides the values.
#[derive(Clone, PartialEq)]
pub struct Descriptor(Vec<f32>);

impl Descriptor {
    pub fn from_vec(values: Vec<f32>) -> Self {
        Descriptor(values)
    }

    pub fn from_slice(values: &[f32]) -> Self {
        Descriptor(values.to_vec())
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The distance dlib's face matching thresholds (0.6 in `face_recognition`).
    pub fn euclidean_distance(&self, other: &Descriptor) -> f32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Descriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Descriptor({}-d)", self.0.len())
    }
}

/// Why a parsed model cannot be turned into a runnable network.
#[derive(Debug, Error, PartialEq)]
pub enum DescriptorError {
    #[error("the network input is {rows}x{cols}, chips are {CHIP_SIZE}x{CHIP_SIZE}")]
    InputSize { rows: usize, cols: usize },
    #[error("layer {index}: {reason}")]
    Unsupported { index: usize, reason: &'static str },
    #[error("layer {index}: it does not fit its {rows}x{cols}x{channels} input")]
    Shape {
        index: usize,
        rows: usize,
        cols: usize,
        channels: usize,
    },
    #[error("the network ends with {found} outputs, not {DESCRIPTOR_LEN}")]
    OutputSize { found: usize },
}

#[derive(Debug)]
enum Op {
    Conv(PackedConv),
    Winograd(WinogradConv),
    MaxPool(PoolSpec),
    AvgPool(PoolSpec),
    /// Adds a remembered value to the input, then optionally ReLU.
    Add {
        other: usize,
        relu: bool,
    },
}

/// Step `i` reads value `input` (and an `Add` also `other`) and writes
/// value `i + 1`; value 0 is the normalised chip.
#[derive(Debug)]
struct Step {
    op: Op,
    input: usize,
}

/// The final fully connected layer, weights rearranged to HWC input order.
#[derive(Debug)]
struct Output {
    input: usize,
    /// `inputs x DESCRIPTOR_LEN`.
    weights: Vec<f32>,
}

/// Per-thread working memory for one run.
#[derive(Default)]
struct Scratch {
    buffers: Vec<Vec<f32>>,
    padded: Vec<f32>,
    winograd: WinogradScratch,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for b in &mut self.buffers {
            b.zeroize();
        }
        self.padded.zeroize();
        for b in self.winograd.buffers() {
            b.zeroize();
        }
    }
}

/// The descriptor network, ready to run; `compute` can be called from many
/// threads at once.
pub struct DescriptorNet {
    kernel: Kernel,
    mean_rgb: [f32; 3],
    steps: Vec<Step>,
    output: Output,
    /// Shape of each value.
    shapes: Vec<Shape>,
    /// Which scratch buffer holds each value (reused once a value is dead).
    buffer_of: Vec<usize>,
    buffer_lens: Vec<usize>,
    multiply_adds: usize,
    scratch: ScratchPool<Scratch>,
}

impl std::fmt::Debug for DescriptorNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DescriptorNet")
            .field("kernel", &self.kernel)
            .field("steps", &self.steps.len())
            .field("multiply_adds", &self.multiply_adds)
            .finish()
    }
}

impl DescriptorNet {
    /// Builds the runnable network, checking every layer's shape.
    pub fn from_model(model: &DnnModel) -> Result<Self, DescriptorError> {
        if (model.input.rows, model.input.cols) != (CHIP_SIZE, CHIP_SIZE) {
            return Err(DescriptorError::InputSize {
                rows: model.input.rows,
                cols: model.input.cols,
            });
        }
        let unsupported = |index, reason| DescriptorError::Unsupported { index, reason };
        let shape_error = |index, s: Shape| DescriptorError::Shape {
            index,
            rows: s.rows,
            cols: s.cols,
            channels: s.channels,
        };

        let mut shapes = vec![Shape {
            rows: CHIP_SIZE,
            cols: CHIP_SIZE,
            channels: 3,
        }];
        let mut steps: Vec<Step> = Vec::new();
        let mut tags: Vec<(u32, usize)> = Vec::new();
        let mut current = 0;
        let mut multiply_adds = 0;
        let layers = &model.layers;
        let mut i = 0;
        let followed_by_relu = |at: usize| matches!(layers.get(at), Some(Layer::Relu));
        while i < layers.len() {
            let in_shape = shapes[current];
            let (op, out_shape) = match &layers[i] {
                Layer::Conv(conv) => {
                    let affine = match layers.get(i + 1) {
                        Some(Layer::Affine(a)) => Some(a),
                        _ => None,
                    };
                    let mut next = i + 1 + usize::from(affine.is_some());
                    let relu = followed_by_relu(next);
                    next += usize::from(relu);
                    let n = conv.num_filters;
                    let filter_len = [conv.in_channels, conv.rows, conv.cols]
                        .iter()
                        .try_fold(n, |acc, &d| acc.checked_mul(d));
                    // dlib's own constraints: non-empty kernels, positive
                    // strides, padding smaller than the kernel.
                    let sizes_ok = filter_len
                        .is_some_and(|len| len > 0 && conv.filters.len() == len)
                        && conv.biases.len() == n
                        && conv.stride_y > 0
                        && conv.stride_x > 0
                        && conv.padding_y < conv.rows
                        && conv.padding_x < conv.cols
                        && affine.is_none_or(|a| a.gamma.len() == n && a.beta.len() == n);
                    if !sizes_ok {
                        return Err(unsupported(i, "inconsistent convolution parameters"));
                    }
                    let spec = ConvSpec {
                        in_channels: conv.in_channels,
                        out_channels: n,
                        rows: conv.rows,
                        cols: conv.cols,
                        stride_y: conv.stride_y,
                        stride_x: conv.stride_x,
                        padding_y: conv.padding_y,
                        padding_x: conv.padding_x,
                        filters: &conv.filters,
                        biases: &conv.biases,
                    };
                    let affine = affine.map(|a| (a.gamma.as_slice(), a.beta.as_slice()));
                    let activation = if relu {
                        Activation::Relu
                    } else {
                        Activation::Identity
                    };
                    let out = spec
                        .output_shape(in_shape)
                        .ok_or_else(|| shape_error(i, in_shape))?;
                    // Counted as the direct method would do it, whatever runs.
                    multiply_adds += spec.multiply_adds(out);
                    let winograd = Tile::for_output(out.rows, out.cols)
                        .and_then(|tile| WinogradConv::new(&spec, affine, relu, tile));
                    let op = match (winograd, spec.centre_taps_of_1x1_input(in_shape)) {
                        (Some(conv), _) => Op::Winograd(conv),
                        (None, Some((filters, biases))) => Op::Conv(PackedConv::new(
                            &ConvSpec {
                                rows: 1,
                                cols: 1,
                                padding_y: 0,
                                padding_x: 0,
                                filters: &filters,
                                biases: &biases,
                                ..spec
                            },
                            affine,
                            activation,
                        )),
                        (None, None) => Op::Conv(PackedConv::new(&spec, affine, activation)),
                    };
                    i = next;
                    (op, out)
                }
                Layer::MaxPool(p) | Layer::AvgPool(p) => {
                    if p.padding_y != 0 || p.padding_x != 0 {
                        return Err(unsupported(i, "padded pooling"));
                    }
                    if p.stride_y == 0 || p.stride_x == 0 || (p.rows == 0) != (p.cols == 0) {
                        return Err(unsupported(i, "inconsistent pooling parameters"));
                    }
                    let spec = PoolSpec {
                        rows: p.rows,
                        cols: p.cols,
                        stride_y: p.stride_y,
                        stride_x: p.stride_x,
                    };
                    let out = spec
                        .output_shape(in_shape)
                        .ok_or_else(|| shape_error(i, in_shape))?;
                    let op = if matches!(layers[i], Layer::MaxPool(_)) {
                        Op::MaxPool(spec)
                    } else {
                        Op::AvgPool(spec)
                    };
                    i += 1;
                    (op, out)
                }
                Layer::Tag(id) => {
                    tags.retain(|(t, _)| t != id);
                    tags.push((*id, current));
                    i += 1;
                    continue;
                }
                Layer::Skip(id) => {
                    current = lookup(&tags, *id).ok_or_else(|| unsupported(i, "unknown tag"))?;
                    i += 1;
                    continue;
                }
                Layer::AddPrev(id) => {
                    let other = lookup(&tags, *id).ok_or_else(|| unsupported(i, "unknown tag"))?;
                    let relu = followed_by_relu(i + 1);
                    i += 1 + usize::from(relu);
                    (Op::Add { other, relu }, sum_shape(in_shape, shapes[other]))
                }
                Layer::FcNoBias(fc) => {
                    if i + 1 != layers.len() {
                        return Err(unsupported(i, "fully connected layer before the end"));
                    }
                    if fc.num_outputs != DESCRIPTOR_LEN {
                        return Err(DescriptorError::OutputSize {
                            found: fc.num_outputs,
                        });
                    }
                    if fc.num_inputs != in_shape.len()
                        || fc.num_inputs.checked_mul(DESCRIPTOR_LEN) != Some(fc.weights.len())
                    {
                        return Err(shape_error(i, in_shape));
                    }
                    let weights = fc_weights_in_hwc_order(&fc.weights, in_shape);
                    multiply_adds += fc.num_inputs * DESCRIPTOR_LEN;
                    let (buffer_of, buffer_lens) = assign_buffers(
                        steps.len(),
                        |i| {
                            let step = &steps[i];
                            let other = match step.op {
                                Op::Add { other, .. } => Some(other),
                                _ => None,
                            };
                            std::iter::once(step.input).chain(other)
                        },
                        &shapes,
                        current,
                    );
                    return Ok(DescriptorNet {
                        kernel: Kernel::detect(),
                        mean_rgb: model.input.mean_rgb,
                        steps,
                        output: Output {
                            input: current,
                            weights,
                        },
                        shapes,
                        buffer_of,
                        buffer_lens,
                        multiply_adds,
                        scratch: ScratchPool::default(),
                    });
                }
                Layer::Affine(_) => return Err(unsupported(i, "affine not after a convolution")),
                Layer::Relu => return Err(unsupported(i, "ReLU after a pooling layer")),
            };
            steps.push(Step { op, input: current });
            shapes.push(out_shape);
            current = shapes.len() - 1;
        }
        Err(DescriptorError::OutputSize {
            found: shapes[current].len(),
        })
    }

    /// Multiply-adds per descriptor (convolutions and the final layer) as
    /// the direct method does them.
    pub fn multiply_adds(&self) -> usize {
        self.multiply_adds
    }

    /// The descriptor of an aligned face chip.
    pub fn compute(&self, chip: &FaceChip) -> Descriptor {
        let mut scratch = self.take_scratch();
        let Scratch {
            buffers,
            padded,
            winograd,
        } = &mut scratch;

        let input = &mut buffers[self.buffer_of[0]];
        for (dst, px) in input.chunks_exact_mut(3).zip(chip.as_raw().chunks_exact(3)) {
            for ((d, &v), mean) in dst.iter_mut().zip(px).zip(self.mean_rgb) {
                *d = (f32::from(v) - mean) / 256.0;
            }
        }

        for (index, step) in self.steps.iter().enumerate() {
            let output = index + 1;
            let (in_shape, out_shape) = (self.shapes[step.input], self.shapes[output]);
            let (from, to) = (self.buffer_of[step.input], self.buffer_of[output]);
            match &step.op {
                Op::Conv(conv) => {
                    let (src, dst) = two_buffers(buffers, from, to);
                    conv.forward(self.kernel, src, in_shape, dst, out_shape, padded);
                }
                Op::Winograd(conv) => {
                    let (src, dst) = two_buffers(buffers, from, to);
                    conv.forward(self.kernel, src, in_shape, dst, winograd);
                }
                Op::MaxPool(p) => {
                    let (src, dst) = two_buffers(buffers, from, to);
                    p.max(src, in_shape, dst, out_shape);
                }
                Op::AvgPool(p) => {
                    let (src, dst) = two_buffers(buffers, from, to);
                    p.average(src, in_shape, dst, out_shape);
                }
                Op::Add { other, relu } => {
                    let b = (self.buffer_of[*other], self.shapes[*other]);
                    add_into(buffers, (from, in_shape), b, to, *relu);
                }
            }
        }

        let features = &buffers[self.buffer_of[self.output.input]];
        let mut out = [0.0f32; DESCRIPTOR_LEN];
        for (&x, row) in features
            .iter()
            .zip(self.output.weights.chunks_exact(DESCRIPTOR_LEN))
        {
            for (o, &w) in out.iter_mut().zip(row) {
                *o += x * w;
            }
        }
        // Wipe what later layers left of the normalised chip: it is the face
        // picture itself.
        buffers[self.buffer_of[0]].as_mut_slice().zeroize();
        self.scratch.give_back(scratch);
        let descriptor = Descriptor(out.to_vec());
        out.zeroize();
        descriptor
    }

    fn take_scratch(&self) -> Scratch {
        let mut scratch = self.scratch.take(Scratch::default);
        if scratch.buffers.len() != self.buffer_lens.len() {
            scratch.buffers = self.buffer_lens.iter().map(|&n| vec![0.0; n]).collect();
        }
        scratch
    }
}

fn lookup(tags: &[(u32, usize)], id: u32) -> Option<usize> {
    tags.iter().find(|(t, _)| *t == id).map(|&(_, v)| v)
}

/// dlib flattens a tensor channel-major (k, row, col); ours is (row, col, k).
fn fc_weights_in_hwc_order(weights: &[f32], shape: Shape) -> Vec<f32> {
    let mut out = vec![0.0; weights.len()];
    for c in 0..shape.channels {
        for y in 0..shape.rows {
            for x in 0..shape.cols {
                let dlib_row = (c * shape.rows + y) * shape.cols + x;
                let our_row = (y * shape.cols + x) * shape.channels + c;
                out[our_row * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN]
                    .copy_from_slice(&weights[dlib_row * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN]);
            }
        }
    }
    out
}

/// Splits out a shared source and a distinct mutable destination buffer.
fn two_buffers(buffers: &mut [Vec<f32>], src: usize, dst: usize) -> (&[f32], &mut [f32]) {
    debug_assert_ne!(src, dst);
    if src < dst {
        let (low, high) = buffers.split_at_mut(dst);
        (&low[src], &mut high[0])
    } else {
        let (low, high) = buffers.split_at_mut(src);
        (&high[0], &mut low[dst])
    }
}

/// `buffers[out] = a + b`; `out` is neither operand's buffer.
fn add_into(
    buffers: &mut [Vec<f32>],
    (a, a_shape): (usize, Shape),
    (b, b_shape): (usize, Shape),
    out: usize,
    relu: bool,
) {
    let mut out_buffer = std::mem::take(&mut buffers[out]);
    add_padded(
        &buffers[a],
        a_shape,
        &buffers[b],
        b_shape,
        &mut out_buffer,
        relu,
    );
    buffers[out] = out_buffer;
}
