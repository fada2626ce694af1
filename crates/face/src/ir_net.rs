//! OpenVINO IR networks run in pure Rust: the layer types of Intel's Open
//! Model Zoo face models (ScaleShift, Convolution dense or depthwise, PReLU,
//! Pooling, sigmoid Activation, Eltwise sum and mul with a per-channel
//! broadcast), on single images in HWC layout.
//!
//! [`IrNet::from_model`] orders the graph, checks every layer's output
//! shape against the one the file declares, and folds a PReLU into the
//! convolution before it. Convolutions run through the packed GEMM of
//! [`crate::nn::gemm`], the 1x1 kernel of [`crate::nn::pointwise`] (whole
//! vectors of channels in and out, bias and PReLU fused) or the depthwise
//! kernel of [`crate::nn::depthwise`], each chosen once by the CPU's
//! features.
//!
//! Working memory is pooled per concurrent caller; the input (a face
//! picture) is wiped after every run and every buffer when the net drops.

use limen_openvino_format::{IrModel, Layer};
use thiserror::Error;
use zeroize::Zeroize;

use crate::nn::depthwise::DepthwiseConv;
use crate::nn::gemm::Kernel;
use crate::nn::ops::{Activation, ConvSpec, PackedConv, PoolSpec};
use crate::nn::pointwise::Pointwise;
use crate::nn::{LANES, ScratchPool, Shape, assign_buffers};

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
    Depthwise(DepthwiseConv),
    PRelu(Activation),
    MaxPool(PoolSpec),
    AvgPool(PoolSpec),
    Sigmoid,
    Sum,
    /// The first operand times the second, which is either the same shape
    /// or one value per channel.
    Mul,
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
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for b in &mut self.buffers {
            b.zeroize();
        }
        self.padded.zeroize();
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

/// No tensor of a face model comes near this many values; a file that
/// declares one is refused before anything is allocated for it.
const MAX_TENSOR_LEN: usize = 1 << 24;

/// A port's NCHW dimensions as an HWC shape (batch 1, no empty dimension,
/// at most [`MAX_TENSOR_LEN`] values).
fn hwc(dims: &[usize]) -> Option<Shape> {
    match *dims {
        [1, channels, rows, cols]
            if channels > 0
                && rows > 0
                && cols > 0
                && channels
                    .checked_mul(rows)
                    .and_then(|n| n.checked_mul(cols))
                    .is_some_and(|n| n <= MAX_TENSOR_LEN) =>
        {
            Some(Shape {
                rows,
                cols,
                channels,
            })
        }
        _ => None,
    }
}

fn unsupported(layer: &Layer, reason: impl Into<String>) -> IrNetError {
    IrNetError::Unsupported {
        layer: layer.describe(),
        reason: reason.into(),
    }
}

fn pair(layer: &Layer, name: &str) -> Result<(usize, usize), IrNetError> {
    match layer
        .integers(name)
        .map_err(|e| unsupported(layer, e.to_string()))?[..]
    {
        [a, b] => Ok((a, b)),
        _ => Err(unsupported(layer, format!("{name} is not two numbers"))),
    }
}

fn blob<'a>(layer: &'a Layer, name: &str, len: usize) -> Result<&'a [f32], IrNetError> {
    match layer.blob(name) {
        Some(values) if values.len() == len => Ok(values),
        Some(values) => Err(unsupported(
            layer,
            format!("blob {name} has {} values, not {len}", values.len()),
        )),
        None => Err(unsupported(layer, format!("no {name} blob"))),
    }
}

/// The layers in an order where each comes after those it reads, each
/// with its inputs (layer indices, by input port).
fn ordered(model: &IrModel) -> Result<(Vec<usize>, Vec<Vec<usize>>), IrNetError> {
    let index_of = |id: u32| model.layers.iter().position(|l| l.id == id);
    let mut inputs: Vec<Vec<(u32, usize)>> = vec![Vec::new(); model.layers.len()];
    for edge in &model.edges {
        let (Some(from), Some(to)) = (index_of(edge.from_layer), index_of(edge.to_layer)) else {
            return Err(IrNetError::Graph("has an edge to a missing layer"));
        };
        inputs[to].push((edge.to_port, from));
    }
    let inputs: Vec<Vec<usize>> = inputs
        .into_iter()
        .map(|mut ports| {
            ports.sort_unstable();
            ports.into_iter().map(|(_, from)| from).collect()
        })
        .collect();
    for (layer, ins) in model.layers.iter().zip(&inputs) {
        if ins.len() != layer.inputs.len() {
            return Err(unsupported(layer, "an input port without exactly one edge"));
        }
    }
    // Kahn's algorithm, keeping file order among ready layers.
    let mut waiting: Vec<usize> = inputs.iter().map(Vec::len).collect();
    let mut order = Vec::with_capacity(model.layers.len());
    let mut ready: Vec<usize> = (0..model.layers.len())
        .filter(|&i| waiting[i] == 0)
        .rev()
        .collect();
    while let Some(i) = ready.pop() {
        order.push(i);
        for (j, ins) in inputs.iter().enumerate() {
            for _ in ins.iter().filter(|&&from| from == i) {
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    ready.push(j);
                }
            }
        }
    }
    if order.len() != model.layers.len() {
        return Err(IrNetError::Graph("has a cycle"));
    }
    Ok((order, inputs))
}

impl IrNet {
    /// Builds the runnable network from a parsed model.
    pub fn from_model(model: &IrModel) -> Result<IrNet, IrNetError> {
        let (order, inputs) = ordered(model)?;
        let readers = |i: usize| -> Vec<usize> {
            (0..inputs.len())
                .filter(|&j| inputs[j].contains(&i))
                .collect()
        };
        let mut value_of: Vec<Option<usize>> = vec![None; model.layers.len()];
        let mut shapes: Vec<Shape> = Vec::new();
        let mut steps: Vec<Step> = Vec::new();
        let mut multiply_adds = 0;
        for &i in &order {
            let layer = &model.layers[i];
            if value_of[i].is_some() {
                // A PReLU folded into the convolution before it.
                continue;
            }
            let declared = match &layer.outputs[..] {
                [port] => &port.dims,
                _ => return Err(unsupported(layer, "not exactly one output")),
            };
            if layer.kind == "Input" {
                if !shapes.is_empty() || !inputs[i].is_empty() {
                    return Err(IrNetError::Graph("has more than one input"));
                }
                shapes.push(
                    hwc(declared)
                        .ok_or_else(|| unsupported(layer, "an input that is not 1xCxHxW"))?,
                );
                value_of[i] = Some(0);
                continue;
            }
            let ins: Vec<usize> = inputs[i]
                .iter()
                .map(|&from| value_of[from].ok_or(IrNetError::Graph("has no input layer")))
                .collect::<Result<_, _>>()?;
            if ins.is_empty() {
                return Err(unsupported(layer, "no input"));
            }
            let in_shapes: Vec<Shape> = ins.iter().map(|&v| shapes[v]).collect();
            // A PReLU that is a convolution's only reader runs in the
            // convolution's epilogue.
            let folded = match readers(i)[..] {
                [next] if layer.kind == "Convolution" && model.layers[next].kind == "PReLU" => {
                    Some(next)
                }
                _ => None,
            };
            let activation = match folded {
                Some(next) => {
                    let channels = layer
                        .integers("output")
                        .ok()
                        .and_then(|v| v.first().copied())
                        .unwrap_or(0);
                    prelu_activation(&model.layers[next], channels)?
                }
                None => Activation::Identity,
            };
            let (op, computed, layer_multiply_adds) = build(layer, &in_shapes, activation)?;
            for checked in std::iter::once(layer).chain(folded.map(|n| &model.layers[n])) {
                let declared = match &checked.outputs[..] {
                    [port] => &port.dims,
                    _ => return Err(unsupported(checked, "not exactly one output")),
                };
                if hwc(declared) != Some(computed) {
                    return Err(IrNetError::Shape {
                        layer: checked.describe(),
                        computed: vec![1, computed.channels, computed.rows, computed.cols],
                        declared: declared.clone(),
                    });
                }
            }
            multiply_adds += layer_multiply_adds;
            steps.push(Step { op, inputs: ins });
            shapes.push(computed);
            value_of[i] = Some(shapes.len() - 1);
            if let Some(next) = folded {
                value_of[next] = value_of[i];
            }
        }
        let sinks: Vec<usize> = (0..model.layers.len())
            .filter(|&i| readers(i).is_empty())
            .collect();
        let output = match sinks[..] {
            [sink] => value_of[sink].ok_or(IrNetError::Graph("has no input layer"))?,
            _ => return Err(IrNetError::Graph("does not have exactly one output")),
        };
        if output == 0 {
            return Err(IrNetError::Graph("has no layers"));
        }
        let (buffer_of, buffer_lens) = assign_buffers(
            steps.len(),
            |i| steps[i].inputs.iter().copied(),
            &shapes,
            output,
        );
        Ok(IrNet {
            kernel: Kernel::detect(),
            steps,
            shapes,
            output,
            buffer_of,
            buffer_lens,
            multiply_adds,
            scratch: ScratchPool::default(),
        })
    }

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
        let Scratch { buffers, padded } = &mut scratch;
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

/// PReLU slopes for `channels` channels: one shared or one per channel.
fn prelu_activation(layer: &Layer, channels: usize) -> Result<Activation, IrNetError> {
    let shared = layer.attribute("channel_shared") == Some("1");
    let slopes = if shared {
        vec![blob(layer, "weights", 1)?[0]; channels]
    } else {
        blob(layer, "weights", channels)?.to_vec()
    };
    Ok(Activation::PRelu(slopes))
}

fn zero_pads(layer: &Layer) -> Result<(), IrNetError> {
    for name in ["pads_begin", "pads_end"] {
        if pair(layer, name)? != (0, 0) {
            return Err(unsupported(layer, "padded pooling"));
        }
    }
    Ok(())
}

/// The operation of one layer, its output shape and its multiply-adds
/// (convolutions only).
fn build(
    layer: &Layer,
    ins: &[Shape],
    activation: Activation,
) -> Result<(Op, Shape, usize), IrNetError> {
    let arity = |n: usize| {
        if ins.len() == n {
            Ok(())
        } else {
            Err(unsupported(layer, format!("{} inputs, not {n}", ins.len())))
        }
    };
    let x = ins[0];
    let c = x.channels;
    match layer.kind.as_str() {
        "ScaleShift" => {
            arity(1)?;
            let scale = blob(layer, "weights", c)?.to_vec();
            let shift = match layer.blob("biases") {
                Some(_) => blob(layer, "biases", c)?.to_vec(),
                None => vec![0.0; c],
            };
            Ok((Op::ScaleShift { scale, shift }, x, 0))
        }
        "PReLU" => {
            arity(1)?;
            Ok((Op::PRelu(prelu_activation(layer, c)?), x, 0))
        }
        "Activation" => {
            arity(1)?;
            match layer.attribute("type") {
                Some("sigmoid") => Ok((Op::Sigmoid, x, 0)),
                other => Err(unsupported(layer, format!("activation {other:?}"))),
            }
        }
        "Eltwise" => {
            arity(2)?;
            let y = ins[1];
            match layer.attribute("operation") {
                Some("sum") if y == x => Ok((Op::Sum, x, 0)),
                Some("mul") if y == x || (y.rows, y.cols, y.channels) == (1, 1, c) => {
                    Ok((Op::Mul, x, 0))
                }
                other => Err(unsupported(
                    layer,
                    format!("eltwise {other:?} of {x:?} and {y:?}"),
                )),
            }
        }
        "Pooling" => {
            arity(1)?;
            zero_pads(layer)?;
            let (rows, cols) = pair(layer, "kernel")?;
            let (stride_y, stride_x) = pair(layer, "strides")?;
            if rows == 0 || cols == 0 || stride_y == 0 || stride_x == 0 {
                return Err(unsupported(layer, "an empty window or a zero stride"));
            }
            let spec = PoolSpec {
                rows,
                cols,
                stride_y,
                stride_x,
            };
            let out = spec
                .output_shape(x)
                .ok_or_else(|| unsupported(layer, "a window larger than its input"))?;
            match layer.attribute("pool-method") {
                Some("max") => Ok((Op::MaxPool(spec), out, 0)),
                Some("avg") => Ok((Op::AvgPool(spec), out, 0)),
                other => Err(unsupported(layer, format!("pool-method {other:?}"))),
            }
        }
        "Convolution" => {
            arity(1)?;
            convolution(layer, x, activation)
        }
        other => Err(unsupported(layer, format!("layer type {other}"))),
    }
}

fn convolution(
    layer: &Layer,
    x: Shape,
    activation: Activation,
) -> Result<(Op, Shape, usize), IrNetError> {
    if pair(layer, "dilations")? != (1, 1) {
        return Err(unsupported(layer, "dilated convolution"));
    }
    if layer
        .attribute("auto_pad")
        .is_some_and(|p| !p.is_empty() && p != "explicit")
    {
        return Err(unsupported(layer, "automatic padding"));
    }
    let (rows, cols) = pair(layer, "kernel")?;
    let (stride_y, stride_x) = pair(layer, "strides")?;
    let (padding_y, padding_x) = pair(layer, "pads_begin")?;
    // Every convolution of these models pads both sides alike.
    if pair(layer, "pads_end")? != (padding_y, padding_x) {
        return Err(unsupported(layer, "uneven padding"));
    }
    if rows == 0 || cols == 0 || stride_y == 0 || stride_x == 0 {
        return Err(unsupported(layer, "an empty kernel or a zero stride"));
    }
    // Padding as wide as the kernel would read nothing but zeros.
    if padding_y >= rows || padding_x >= cols {
        return Err(unsupported(layer, "padding as wide as the kernel"));
    }
    let number = |name: &str| -> Result<usize, IrNetError> {
        match layer
            .integers(name)
            .map_err(|e| unsupported(layer, e.to_string()))?[..]
        {
            [n] if n > 0 => Ok(n),
            _ => Err(unsupported(
                layer,
                format!("{name} is not a positive number"),
            )),
        }
    };
    let out_channels = number("output")?;
    let groups = number("group")?;
    let c = x.channels;
    let per_group = if groups == 1 { c } else { 1 };
    let filter_len = [out_channels, per_group, rows, cols]
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| unsupported(layer, "a kernel too large"))?;
    let filters = blob(layer, "weights", filter_len)?;
    let bias = match layer.blob("biases") {
        Some(_) => blob(layer, "biases", out_channels)?.to_vec(),
        None => vec![0.0; out_channels],
    };
    if let Activation::PRelu(slopes) = &activation
        && slopes.len() != out_channels
    {
        return Err(unsupported(layer, "a PReLU of another width"));
    }
    let misfit = || unsupported(layer, "a kernel that does not fit its input");
    if groups == 1 {
        let spec = ConvSpec {
            in_channels: c,
            out_channels,
            rows,
            cols,
            stride_y,
            stride_x,
            padding_y,
            padding_x,
            filters,
            biases: &bias,
        };
        let out = spec.output_shape(x).ok_or_else(misfit)?;
        let multiply_adds = spec.multiply_adds(out);
        // A 1x1 convolution between maps of whole vectors of channels
        // (every large one of the Open Model Zoo networks) needs no channel
        // padding for the pointwise kernel, and sums in the GEMM's order.
        let whole_vectors_1x1 = (rows, cols, stride_y, stride_x, padding_y, padding_x)
            == (1, 1, 1, 1, 0, 0)
            && c.is_multiple_of(LANES)
            && out_channels.is_multiple_of(LANES);
        let fused = match &activation {
            Activation::Identity => Some(None),
            Activation::PRelu(slopes) => Some(Some(&slopes[..])),
            Activation::Relu => None,
        };
        if let (true, Some(slopes)) = (whole_vectors_1x1, fused) {
            let ones = vec![1.0; out_channels];
            let conv = Pointwise::new(c, out_channels, filters, (&ones, &bias), slopes);
            return Ok((Op::Pointwise(conv), out, multiply_adds));
        }
        let conv = PackedConv::new(&spec, None, activation);
        Ok((Op::Dense(conv), out, multiply_adds))
    } else if groups == c
        && out_channels == c
        && rows == cols
        && stride_y == stride_x
        && padding_y == padding_x
    {
        // OpenVINO's grouped layout with one channel a group is PyTorch's
        // depthwise `channels x 1 x rows x cols`.
        let ones = vec![1.0; c];
        let conv = DepthwiseConv::new(
            c,
            rows,
            stride_y,
            padding_y,
            filters,
            (&ones, &bias),
            activation,
        );
        let out = conv.output_shape(x).ok_or_else(misfit)?;
        let multiply_adds = conv.multiply_adds(out);
        Ok((Op::Depthwise(conv), out, multiply_adds))
    } else {
        Err(unsupported(
            layer,
            "grouped convolution other than square depthwise",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test layer: id, type, data attributes, blobs, output dims.
    type TestLayer<'a> = (u32, &'a str, &'a str, &'a [&'a [f32]], [usize; 4]);

    /// A small FP32 IR; `edges` are (from, to, to-port). Ports: input `i`
    /// is port `i`, the output port 9.
    fn model(
        layers: &[TestLayer],
        edges: &[(u32, u32, u32)],
    ) -> Result<IrModel, limen_openvino_format::FormatError> {
        let mut bin: Vec<u8> = Vec::new();
        let mut xml = String::from(r#"<?xml version="1.0"?><net name="t" version="5"><layers>"#);
        let dims = |d: &[usize; 4]| {
            d.iter()
                .map(|v| format!("<dim>{v}</dim>"))
                .collect::<String>()
        };
        for (id, kind, data, blobs, out) in layers {
            xml += &format!(
                r#"<layer id="{id}" name="l{id}" precision="FP32" type="{kind}"><data {data}/>"#
            );
            let inputs = edges.iter().filter(|e| e.1 == *id).count();
            xml += "<input>";
            for port in 0..inputs {
                xml += &format!(r#"<port id="{port}">{}</port>"#, dims(out));
            }
            xml += &format!(
                r#"</input><output><port id="9">{}</port></output><blobs>"#,
                dims(out)
            );
            for (name, values) in ["weights", "biases"].iter().zip(blobs.iter()) {
                xml += &format!(
                    r#"<{name} offset="{}" size="{}"/>"#,
                    bin.len(),
                    values.len() * 4
                );
                bin.extend(values.iter().flat_map(|v| v.to_le_bytes()));
            }
            xml += "</blobs></layer>";
        }
        xml += "</layers><edges>";
        for (from, to, port) in edges {
            xml += &format!(
                r#"<edge from-layer="{from}" from-port="9" to-layer="{to}" to-port="{port}"/>"#
            );
        }
        xml += "</edges></net>";
        IrModel::parse(xml.as_bytes(), &bin)
    }

    const CONV_1X1: &str = r#"dilations="1,1" group="1" kernel="1,1" output="2" pads_begin="0,0" pads_end="0,0" strides="1,1""#;

    /// input (2 channels, 1x2) -> 1x1 conv -> shared PReLU (folded) ->
    /// sum with the input -> mul by a per-channel sigmoid of the pooled sum.
    fn squeeze_block() -> IrModel {
        model(
            &[
                (0, "Input", "", &[], [1, 2, 1, 2]),
                (1, "Convolution", CONV_1X1, &[&[1.0, 2.0, -1.0, 0.5], &[0.0, 1.0]], [1, 2, 1, 2]),
                (2, "PReLU", r#"channel_shared="1""#, &[&[0.25]], [1, 2, 1, 2]),
                (3, "Eltwise", r#"operation="sum""#, &[], [1, 2, 1, 2]),
                (4, "Pooling", r#"kernel="1,2" strides="1,2" pads_begin="0,0" pads_end="0,0" pool-method="avg""#, &[], [1, 2, 1, 1]),
                (5, "Activation", r#"type="sigmoid""#, &[], [1, 2, 1, 1]),
                (6, "Eltwise", r#"operation="mul""#, &[], [1, 2, 1, 2]),
            ],
            &[(0, 1, 0), (1, 2, 0), (2, 3, 0), (0, 3, 1), (3, 4, 0), (4, 5, 0), (3, 6, 0), (5, 6, 1)],
        )
        .expect("valid IR")
    }

    #[test]
    fn a_small_graph_computes_its_definition() {
        let net = IrNet::from_model(&squeeze_block()).expect("runs");
        // Two steps fewer than layers: the input, and the folded PReLU.
        assert_eq!(net.steps.len(), 5);
        assert_eq!(net.input_shape(), (1, 2, 2));
        // HWC: pixel 0 = (1, 2), pixel 1 = (3, -4).
        let input = [1.0, 2.0, 3.0, -4.0];
        let prelu = |v: f32| if v < 0.0 { 0.25 * v } else { v };
        let conv = |a: f32, b: f32| [prelu(a + 2.0 * b), prelu(-a + 0.5 * b + 1.0)];
        let (p0, p1) = (conv(1.0, 2.0), conv(3.0, -4.0));
        let sum = [p0[0] + 1.0, p0[1] + 2.0, p1[0] + 3.0, p1[1] - 4.0];
        let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
        let gate = [
            sigmoid((sum[0] + sum[2]) / 2.0),
            sigmoid((sum[1] + sum[3]) / 2.0),
        ];
        let want = [
            sum[0] * gate[0],
            sum[1] * gate[1],
            sum[2] * gate[0],
            sum[3] * gate[1],
        ];
        let got = net.run(&input);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
        // The pooled scratch is reused and gives the same answer.
        assert_eq!(net.run(&input), got);
    }

    /// A 1x1 convolution from 16 to 32 channels with a per-channel PReLU
    /// runs on the pointwise kernel, and gives its definition.
    #[test]
    fn a_whole_vector_1x1_convolution_computes_its_definition() {
        let (inputs, outputs, pixels) = (16, 32, 6);
        let weights: Vec<f32> = (0..outputs * inputs)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
            .collect();
        let biases: Vec<f32> = (0..outputs).map(|c| c as f32 / 10.0 - 1.0).collect();
        let slopes: Vec<f32> = (0..outputs).map(|c| 0.05 * c as f32).collect();
        let conv = CONV_1X1.replace(r#"output="2""#, r#"output="32""#);
        let net = IrNet::from_model(
            &model(
                &[
                    (0, "Input", "", &[], [1, 16, 2, 3]),
                    (
                        1,
                        "Convolution",
                        conv.as_str(),
                        &[&weights[..], &biases[..]],
                        [1, 32, 2, 3],
                    ),
                    (
                        2,
                        "PReLU",
                        r#"channel_shared="0""#,
                        &[&slopes[..]],
                        [1, 32, 2, 3],
                    ),
                ],
                &[(0, 1, 0), (1, 2, 0)],
            )
            .expect("valid IR"),
        )
        .expect("runs");
        assert!(matches!(
            net.steps[..],
            [Step {
                op: Op::Pointwise(_),
                ..
            }]
        ));
        let input: Vec<f32> = (0..pixels * inputs)
            .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
            .collect();
        let got = net.run(&input);
        for p in 0..pixels {
            for o in 0..outputs {
                let mut want = f64::from(biases[o])
                    + (0..inputs)
                        .map(|i| {
                            f64::from(input[p * inputs + i]) * f64::from(weights[o * inputs + i])
                        })
                        .sum::<f64>();
                if want < 0.0 {
                    want *= f64::from(slopes[o]);
                }
                let g = f64::from(got[p * outputs + o]);
                assert!(
                    (g - want).abs() < 1e-4,
                    "pixel {p} channel {o}: {g} vs {want}"
                );
            }
        }
    }

    #[test]
    fn graphs_it_cannot_run_are_typed_errors() {
        let input = (0, "Input", "", &[][..], [1, 2, 1, 2]);
        let err = |layers: &[TestLayer], edges: &[(u32, u32, u32)]| {
            IrNet::from_model(&model(layers, edges).expect("valid IR")).expect_err("refused")
        };
        // An unknown layer type.
        assert!(matches!(
            err(
                &[input, (1, "Softmax", "", &[], [1, 2, 1, 2])],
                &[(0, 1, 0)]
            ),
            IrNetError::Unsupported { .. }
        ));
        // A declared shape the layer does not produce.
        assert!(matches!(
            err(
                &[
                    input,
                    (1, "Activation", r#"type="sigmoid""#, &[], [1, 2, 2, 2])
                ],
                &[(0, 1, 0)]
            ),
            IrNetError::Shape { .. }
        ));
        // A cycle.
        assert_eq!(
            err(
                &[
                    input,
                    (1, "Eltwise", r#"operation="sum""#, &[], [1, 2, 1, 2]),
                    (2, "Activation", r#"type="sigmoid""#, &[], [1, 2, 1, 2]),
                ],
                &[(0, 1, 0), (2, 1, 1), (1, 2, 0)],
            ),
            IrNetError::Graph("has a cycle")
        );
        // Weights of the wrong size.
        assert!(matches!(
            err(
                &[
                    input,
                    (1, "Convolution", CONV_1X1, &[&[1.0; 3]], [1, 2, 1, 2])
                ],
                &[(0, 1, 0)]
            ),
            IrNetError::Unsupported { .. }
        ));
        // Two outputs.
        assert_eq!(
            err(
                &[
                    input,
                    (1, "Activation", r#"type="sigmoid""#, &[], [1, 2, 1, 2]),
                    (2, "Activation", r#"type="sigmoid""#, &[], [1, 2, 1, 2]),
                ],
                &[(0, 1, 0), (0, 2, 0)],
            ),
            IrNetError::Graph("does not have exactly one output")
        );
    }
}
