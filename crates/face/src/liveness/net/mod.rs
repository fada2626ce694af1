//! A MiniFASNet (Minivision's silent anti-spoofing network) built from its
//! PyTorch state dict and run in pure Rust.
//!
//! The layer structure follows upstream's `src/model_lib/MiniFASNet.py`: a
//! strided 3×3 convolution and a depthwise 3×3, then inverted-residual
//! blocks (1×1 expand, depthwise 3×3, 1×1 project; the residual ones add
//! their input, and in the SE variant the last block of each stage first
//! rescales its channels by a squeeze-and-excitation gate), a 1×1 to 512
//! channels, a depthwise convolution over the whole remaining map, a linear
//! embedding and a 3-class linear classifier. Channel counts and the number
//! of blocks per stage are read from the tensors' shapes, and every tensor
//! in the file must be used, so a file of another architecture is refused.
//!
//! Every batch norm is folded into the convolution or linear layer before
//! it (PyTorch's eval mode: running statistics, eps 1e-5); dropout is the
//! identity at inference.

use limen_torch_format::StateDict;
use thiserror::Error;
use zeroize::Zeroize;

use crate::nn::depthwise::{Dense, DepthwiseConv};
use crate::nn::fields::FieldConv;
use crate::nn::gemm::Kernel;
use crate::nn::pointwise::Pointwise;
use crate::nn::{ScratchPool, Shape, padded_channels};
use weights::Weights;

mod weights;

/// Side of the square input both shipped networks take.
pub const INPUT_SIZE: usize = 80;

/// Classes the networks output; upstream's label 1 is a live face.
pub const CLASSES: usize = 3;

/// PyTorch's default batch-norm epsilon, which upstream keeps.
const BATCH_NORM_EPS: f32 = 1e-5;

/// Why a state dict is not a MiniFASNet this runtime can run.
#[derive(Debug, Error, PartialEq)]
pub enum MiniFasNetError {
    #[error("missing tensor {0}")]
    Missing(String),
    #[error("tensor {name} has shape {found:?}, expected {expected:?}")]
    Shape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("tensor {0} does not hold 32-bit floats")]
    NotF32(String),
    #[error("layer {0} does not fit its input")]
    Geometry(String),
    #[error("tensor {0} belongs to no layer of a MiniFASNet")]
    Unused(String),
}

/// An input crop for the liveness networks: 80×80 pixels, BGR bytes
/// (upstream feeds OpenCV's BGR bytes as floats, unnormalised). Zeroised on
/// drop; its Debug hides the pixels.
pub struct LivenessInput(Vec<u8>);

impl LivenessInput {
    /// From 80×80×3 bytes in BGR order.
    pub fn from_bgr(bgr: &[u8]) -> Option<LivenessInput> {
        (bgr.len() == INPUT_SIZE * INPUT_SIZE * 3).then(|| LivenessInput(bgr.to_vec()))
    }

    pub fn as_bgr(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for LivenessInput {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for LivenessInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LivenessInput({INPUT_SIZE}x{INPUT_SIZE})")
    }
}

/// A depthwise convolution with its input and output shapes.
#[derive(Debug)]
struct DepthwiseLayer {
    conv: DepthwiseConv,
    input: Shape,
    output: Shape,
}

impl DepthwiseLayer {
    fn run(&self, kernel: Kernel, input: &[f32], out: &mut [f32]) {
        self.conv
            .forward(kernel, input, self.input, out, self.output);
    }
}

/// A 1×1 convolution over the pixels of a map.
#[derive(Debug)]
struct PointwiseLayer {
    conv: Pointwise,
    input: Shape,
}

impl PointwiseLayer {
    fn output(&self) -> Shape {
        Shape {
            channels: self.conv.out_channels(),
            ..self.input
        }
    }

    fn run(&self, kernel: Kernel, input: &[f32], residual: Option<&[f32]>, out: &mut [f32]) {
        let pixels = self.input.rows * self.input.cols;
        self.conv.forward(kernel, input, pixels, residual, out);
    }
}

/// Squeeze and excitation: channel means through two small layers and a
/// sigmoid give each channel's gain.
#[derive(Debug)]
struct Squeeze {
    reduce: Dense,
    expand: Dense,
}

/// Upstream's inverted residual: every map in it channel-padded.
#[derive(Debug)]
struct Block {
    expand: PointwiseLayer,
    depthwise: DepthwiseLayer,
    project: PointwiseLayer,
    squeeze: Option<Squeeze>,
    residual: bool,
}

/// Per-caller working memory; wiped on drop.
#[derive(Default)]
struct Scratch {
    /// The current activation and three temporaries, each of the largest
    /// activation's size.
    buffers: [Vec<f32>; 4],
    /// The stem's receptive fields: the face picture itself, wiped after
    /// each run.
    fields: Vec<f32>,
    small: [Vec<f32>; 3],
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for b in self.buffers.iter_mut().chain(self.small.iter_mut()) {
            b.zeroize();
        }
        self.fields.zeroize();
    }
}

/// A MiniFASNet ready to run; `probabilities` may be called from many
/// threads at once. Every map after the crop is channel-padded
/// ([`padded_channels`]), so the kernels work in whole vectors.
pub struct MiniFasNet {
    kernel: Kernel,
    /// The first, dense convolution of the crop.
    stem: FieldConv,
    stem_depthwise: DepthwiseLayer,
    blocks: Vec<Block>,
    head: PointwiseLayer,
    head_depthwise: DepthwiseLayer,
    embed: Dense,
    classify: Dense,
    /// Values of the largest map.
    largest: usize,
    /// The most values a pixel or a feature vector has.
    widest: usize,
    multiply_adds: usize,
    scratch: ScratchPool<Scratch>,
}

impl std::fmt::Debug for MiniFasNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniFasNet")
            .field("kernel", &self.kernel)
            .field("blocks", &self.blocks.len())
            .field("multiply_adds", &self.multiply_adds)
            .finish()
    }
}

/// The stages after the stem: a strided block, then residual blocks.
const STAGES: [(&str, &str); 3] = [
    ("conv_23", "conv_3"),
    ("conv_34", "conv_4"),
    ("conv_45", "conv_5"),
];

impl MiniFasNet {
    /// Builds the network from a MiniFASNet state dict (saved with or
    /// without `DataParallel`'s `module.` prefix), for 80×80 inputs.
    pub fn from_state_dict(dict: &StateDict) -> Result<MiniFasNet, MiniFasNetError> {
        let weights = Weights::new(dict);
        let input = Shape {
            rows: INPUT_SIZE,
            cols: INPUT_SIZE,
            channels: 3,
        };
        let stem = weights.stem("conv1", input, 2, 1)?;
        let stem_depthwise = weights.depthwise("conv2_dw", stem.output(), 1, 1, true)?;
        let mut blocks = Vec::new();
        let mut shape = stem_depthwise.output;
        for (strided, residual) in STAGES {
            let block = weights.block(strided, shape, 2, false)?;
            shape = block.project.output();
            blocks.push(block);
            let mut i = 0;
            while weights.has(&format!("{residual}.model.{i}.conv.conv.weight")) {
                let block = weights.block(&format!("{residual}.model.{i}"), shape, 1, true)?;
                blocks.push(block);
                i += 1;
            }
        }
        let head = weights.pointwise("conv_6_sep", shape, true)?;
        let head_depthwise = weights.depthwise("conv_6_dw", head.output(), 1, 0, false)?;
        let features = head_depthwise.output;
        if (features.rows, features.cols) != (1, 1) {
            return Err(MiniFasNetError::Geometry("conv_6_dw".into()));
        }
        let embed = weights.linear("linear", Some("bn"), features.channels)?;
        let classify = weights.linear("prob", None, embed.outputs())?;
        if classify.outputs() != CLASSES {
            return Err(MiniFasNetError::Geometry("prob".into()));
        }
        weights.all_used()?;

        let depthwise_layers = || {
            [&stem_depthwise, &head_depthwise]
                .into_iter()
                .chain(blocks.iter().map(|b| &b.depthwise))
        };
        let pointwise_layers = || {
            [&head]
                .into_iter()
                .chain(blocks.iter().flat_map(|b| [&b.expand, &b.project]))
        };
        let maps = || {
            depthwise_layers()
                .flat_map(|l| [l.input, l.output])
                .chain(pointwise_layers().flat_map(|l| [l.input, l.output()]))
                .chain([stem.output()])
        };
        let largest = maps().map(|m| m.padded_len()).max().unwrap_or(0);
        let widest = maps()
            .map(|m| padded_channels(m.channels))
            .chain([embed.inputs(), embed.outputs()])
            .max()
            .unwrap_or(0);
        let multiply_adds = stem.multiply_adds()
            + depthwise_layers()
                .map(|l| l.conv.multiply_adds(l.output))
                .sum::<usize>()
            + pointwise_layers()
                .map(|l| l.conv.multiply_adds(l.input.rows * l.input.cols))
                .sum::<usize>()
            + embed.inputs() * embed.outputs()
            + classify.inputs() * classify.outputs();
        Ok(MiniFasNet {
            kernel: Kernel::detect(),
            stem,
            stem_depthwise,
            blocks,
            head,
            head_depthwise,
            embed,
            classify,
            largest,
            widest,
            multiply_adds,
            scratch: ScratchPool::default(),
        })
    }

    /// Multiply-adds per run (convolutions and linear layers).
    pub fn multiply_adds(&self) -> usize {
        self.multiply_adds
    }

    /// The softmax over the three classes for one crop.
    pub fn probabilities(&self, input: &LivenessInput) -> [f32; CLASSES] {
        let kernel = self.kernel;
        let mut scratch = self.take_scratch();
        let Scratch {
            buffers: [x, a, b, c],
            fields,
            small: [pooled, hidden, gains],
        } = &mut scratch;

        self.stem.run(kernel, &input.0[..], fields, a);
        self.stem_depthwise.run(kernel, a, x);
        for block in &self.blocks {
            block.expand.run(kernel, x, None, a);
            block.depthwise.run(kernel, a, b);
            // Without a gate in between, the residual is summed as the
            // projection is stored.
            let fused = block.residual && block.squeeze.is_none();
            block.project.run(kernel, b, fused.then_some(&x[..]), c);
            let out = block.project.output();
            let sum = &mut c[..out.padded_len()];
            if let Some(squeeze) = &block.squeeze {
                let (channels, pitch) = (out.channels, padded_channels(out.channels));
                channel_means(sum, pitch, &mut pooled[..pitch]);
                squeeze.reduce.forward(&pooled[..channels], hidden);
                squeeze
                    .expand
                    .forward(&hidden[..squeeze.reduce.outputs()], gains);
                let gains = &mut gains[..channels];
                for g in gains.iter_mut() {
                    *g = 1.0 / (1.0 + (-*g).exp());
                }
                for px in sum.chunks_exact_mut(pitch) {
                    for (v, g) in px.iter_mut().zip(gains.iter()) {
                        *v *= g;
                    }
                }
                if block.residual {
                    for (v, s) in sum.iter_mut().zip(x.iter()) {
                        *v += s;
                    }
                }
            }
            std::mem::swap(x, c);
        }
        self.head.run(kernel, x, None, a);
        self.head_depthwise.run(kernel, a, b);
        let features = &b[..self.head_depthwise.output.channels];
        self.embed.forward(features, hidden);
        let mut logits = [0.0; CLASSES];
        self.classify
            .forward(&hidden[..self.embed.outputs()], &mut logits);
        self.scratch.give_back(scratch);
        softmax(logits)
    }

    fn take_scratch(&self) -> Scratch {
        self.scratch.take(|| Scratch {
            buffers: std::array::from_fn(|_| vec![0.0; self.largest]),
            fields: Vec::new(),
            small: std::array::from_fn(|_| vec![0.0; self.widest]),
        })
    }
}

/// Per-channel means of an HWC tensor of `pitch` values a pixel; `out` has
/// one value per channel.
fn channel_means(values: &[f32], pitch: usize, out: &mut [f32]) {
    out.fill(0.0);
    for px in values.chunks_exact(pitch) {
        for (o, v) in out.iter_mut().zip(px) {
            *o += v;
        }
    }
    let n = (values.len() / pitch).max(1) as f32;
    out.iter_mut().for_each(|o| *o /= n);
}

fn softmax(logits: [f32; CLASSES]) -> [f32; CLASSES] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp = logits.map(|l| (l - max).exp());
    let sum: f32 = exp.iter().sum();
    exp.map(|e| e / sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> MiniFasNet {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/liveness/2.7_80x80_MiniFASNetV2.pth"
        );
        let bytes = std::fs::read(path).expect("model");
        MiniFasNet::from_state_dict(&StateDict::parse(&bytes).expect("parses")).expect("builds")
    }

    #[test]
    fn the_crop_is_wiped_from_working_memory_after_a_run() {
        let net = network();
        let input = LivenessInput::from_bgr(&[200u8; INPUT_SIZE * INPUT_SIZE * 3]).expect("input");
        let p = net.probabilities(&input);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{p:?}");
        let scratch = net.scratch.take(|| panic!("the run returned its scratch"));
        assert!(!scratch.fields.is_empty() && scratch.fields.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_state_dict_missing_a_layer_is_refused() {
        let mut bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/liveness/2.7_80x80_MiniFASNetV2.pth"
        ))
        .expect("model");
        let name = b"module.prob.weight";
        let at = bytes
            .windows(name.len())
            .position(|w| w == name)
            .expect("the classifier's name");
        bytes[at + 12] = b'x';
        let dict = StateDict::parse(&bytes).expect("still a state dict");
        assert_eq!(
            MiniFasNet::from_state_dict(&dict).map(|_| ()),
            Err(MiniFasNetError::Missing("module.prob.weight".into()))
        );
    }
}
