//! OpenVINO IR networks run in pure Rust: the layer types of Intel's Open
//! Model Zoo face models (ScaleShift, Convolution dense or depthwise, PReLU,
//! Pooling, sigmoid Activation, Eltwise sum and mul with a per-channel
//! broadcast), on single images in HWC layout.
//!
//! [`IrNet::from_model`] (in `build`) orders the graph, checks every
//! layer's output shape against the one the file declares, folds a PReLU
//! into the convolution before it and a squeeze-and-excitation gate into
//! the residual sum after it. Convolutions whose outputs are whole vectors
//! of channels run on the pointwise kernel of [`crate::nn::pointwise`]
//! (bias and PReLU fused): 1x1 ones directly, larger ones over gathered
//! receptive fields ([`crate::nn::fields`]); depthwise ones on
//! [`crate::nn::depthwise`]; the rest (the gates' narrow layers) on the
//! packed GEMM of [`crate::nn::gemm`]. Each kernel is chosen once by the
//! CPU's features.
//!
//! Working memory is pooled per concurrent caller; the input (a face
//! picture) and the gathered fields are wiped after every run, and every
//! buffer when the net drops.

use thiserror::Error;
use zeroize::Zeroize;

use crate::nn::depthwise::DepthwiseConv;
use crate::nn::fields::FieldConv;
use crate::nn::gemm::Kernel;
use crate::nn::ops::{Activation, PackedConv, PoolSpec};
use crate::nn::pointwise::Pointwise;
use crate::nn::{ScratchPool, Shape};

/// Why a parsed IR model cannot be run.
#[derive(Debug, Error, PartialEq)]
pub enum IrNetError {
    #[error("{layer}: {reason}")]
    Unsupported { layer: String, reason: String },
    #[error("{layer}: computed output {computed:?} but the file declares {declared:?}")]
    Shape {
        layer: String,
        computed: Vec<usize>,
        declared: Vec<usize>,
    },
    #[error("the graph {0}")]
    Graph(&'static str),
}

#[derive(Debug)]
enum Op {
    ScaleShift {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Dense(PackedConv),
    Pointwise(Pointwise),
    /// A dense convolution larger than 1x1 with whole vectors of output
    /// channels.
    Fields(FieldConv),
    Depthwise(DepthwiseConv),
    PRelu(Activation),
    MaxPool(PoolSpec),
    AvgPool(PoolSpec),
    Sigmoid,
    Sum,
    /// The first operand times the second, which is either the same shape
    /// or one value per channel.
    Mul,
    /// A squeeze-and-excitation gate and the residual sum after it: the
    /// first operand times the second (one value per channel), plus the
    /// third. Each product is rounded before the sum, as the two layers do.
    GatedSum,
}

/// Step `i` reads `inputs` (value ids) and writes value `i + 1`; value 0 is
/// the network input.
#[derive(Debug)]
struct Step {
    op: Op,
    inputs: Vec<usize>,
}

#[derive(Default)]
struct Scratch {
    buffers: Vec<Vec<f32>>,
    padded: Vec<f32>,
    /// Receptive fields of [`Op::Fields`], all zeros between steps.
    fields: Vec<f32>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for b in &mut self.buffers {
            b.zeroize();
        }
        self.padded.zeroize();
        self.fields.zeroize();
    }
}

/// A network ready to run; `run` can be called from many threads at once.
pub struct IrNet {
    kernel: Kernel,
    steps: Vec<Step>,
    shapes: Vec<Shape>,
    output: usize,
    buffer_of: Vec<usize>,
    buffer_lens: Vec<usize>,
    multiply_adds: usize,
    scratch: ScratchPool<Scratch>,
}

impl std::fmt::Debug for IrNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrNet")
            .field("input", &self.shapes[0])
            .field("output", &self.shapes[self.output])
            .field("steps", &self.steps.len())
            .field("multiply_adds", &self.multiply_adds)
            .finish()
    }
}

impl IrNet {
    /// The input shape (rows, columns, channels).
    pub fn input_shape(&self) -> (usize, usize, usize) {
        let s = self.shapes[0];
        (s.rows, s.cols, s.channels)
    }

    /// How many numbers a run returns.
    pub fn output_len(&self) -> usize {
        self.shapes[self.output].len()
    }

    /// Multiply-adds of one run (convolutions only).
    pub fn multiply_adds(&self) -> usize {
        self.multiply_adds
    }

    /// Runs the network on an HWC input of `input_shape()`; the output is
    /// in HWC order (for a 1x1 output, the channels in order).
    ///
    /// # Panics
    /// If `input` is not the input shape's length: callers build their
    /// input from the net's own shape.
    pub fn run(&self, input: &[f32]) -> Vec<f32> {
        assert_eq!(input.len(), self.shapes[0].len(), "input length");
        let mut scratch = self.scratch.take(Scratch::default);
        if scratch.buffers.len() != self.buffer_lens.len() {
            scratch.buffers = self.buffer_lens.iter().map(|&n| vec![0.0; n]).collect();
        }
        scratch.buffers[self.buffer_of[0]][..input.len()].copy_from_slice(input);
        let Scratch {
            buffers,
            padded,
            fields,
        } = &mut scratch;
        for (index, step) in self.steps.iter().enumerate() {
            let value = index + 1;
            let out_shape = self.shapes[value];
            let mut out = std::mem::take(&mut buffers[self.buffer_of[value]]);
            let operand = |k: usize| {
                let v = step.inputs[k];
                (
                    &buffers[self.buffer_of[v]][..self.shapes[v].len()],
                    self.shapes[v],
                )
            };
            let (x, x_shape) = operand(0);
            let dst = &mut out[..out_shape.len()];
            match &step.op {
                Op::ScaleShift { scale, shift } => {
                    for (d, s) in dst
                        .chunks_exact_mut(x_shape.channels)
                        .zip(x.chunks_exact(x_shape.channels))
                    {
                        for (((d, &s), &a), &b) in d.iter_mut().zip(s).zip(scale).zip(shift) {
                            *d = s * a + b;
                        }
                    }
                }
                Op::Dense(conv) => {
                    conv.forward(self.kernel, x, x_shape, dst, out_shape, padded);
                }
                Op::Pointwise(conv) => {
                    conv.forward(self.kernel, x, x_shape.rows * x_shape.cols, None, dst);
                }
                Op::Fields(conv) => conv.run(self.kernel, x, fields, dst),
                Op::Depthwise(conv) => {
                    conv.forward(self.kernel, x, x_shape, dst, out_shape);
                }
                Op::PRelu(activation) => {
                    dst.copy_from_slice(x);
                    for pixel in dst.chunks_exact_mut(x_shape.channels) {
                        activation.apply(pixel, 0);
                    }
                }
                Op::MaxPool(pool) => pool.max(x, x_shape, dst, out_shape),
                Op::AvgPool(pool) => pool.average(x, x_shape, dst, out_shape),
                Op::Sigmoid => {
                    for (d, &v) in dst.iter_mut().zip(x) {
                        *d = 1.0 / (1.0 + (-v).exp());
                    }
                }
                Op::Sum => {
                    let (y, _) = operand(1);
                    for ((d, &a), &b) in dst.iter_mut().zip(x).zip(y) {
                        *d = a + b;
                    }
                }
                Op::Mul => {
                    let (y, _) = operand(1);
                    // Either the same shape or one factor per channel.
                    let factors = y.len();
                    for (d, s) in dst.chunks_exact_mut(factors).zip(x.chunks_exact(factors)) {
                        for ((d, &a), &b) in d.iter_mut().zip(s).zip(y) {
                            *d = a * b;
                        }
                    }
                }
                Op::GatedSum => {
                    let ((gates, _), (residual, _)) = (operand(1), operand(2));
                    let channels = gates.len();
                    for ((d, s), r) in dst
                        .chunks_exact_mut(channels)
                        .zip(x.chunks_exact(channels))
                        .zip(residual.chunks_exact(channels))
                    {
                        for (((d, &a), &g), &r) in d.iter_mut().zip(s).zip(gates).zip(r) {
                            *d = a * g + r;
                        }
                    }
                }
            }
            buffers[self.buffer_of[value]] = out;
        }
        let result =
            buffers[self.buffer_of[self.output]][..self.shapes[self.output].len()].to_vec();
        // The input is the face picture itself: it does not wait in the pool.
        buffers[self.buffer_of[0]].as_mut_slice().zeroize();
        self.scratch.give_back(scratch);
        result
    }
}

mod build;
#[cfg(test)]
mod tests;
