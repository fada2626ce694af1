//! From a parsed IR model to the steps [`IrNet::run`] executes: the graph
//! ordered, each layer's operation chosen and its output shape checked.

use limen_openvino_format::{IrModel, Layer};

use super::{IrNet, IrNetError, Op, Step};
use crate::nn::depthwise::DepthwiseConv;
use crate::nn::fields::FieldConv;
use crate::nn::gemm::Kernel;
use crate::nn::ops::{Activation, ConvSpec, PackedConv, PoolSpec};
use crate::nn::pointwise::Pointwise;
use crate::nn::{LANES, ScratchPool, Shape, assign_buffers};

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
                // A PReLU folded into the convolution before it, or a sum
                // into the gate before it.
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
            // A squeeze-and-excitation gate (a product by one value per
            // channel) whose only reader is a residual sum is applied as
            // the sum is made, when the sum's other operand is ready.
            let gated_sum = match readers(i)[..] {
                [next]
                    if is_eltwise(layer, "mul")
                        && is_eltwise(&model.layers[next], "sum")
                        && in_shapes.get(1).is_some_and(|g| {
                            (g.rows, g.cols, g.channels) == (1, 1, in_shapes[0].channels)
                        }) =>
                {
                    let residual = match inputs[next][..] {
                        [a, b] if a == i && b != i => value_of[b],
                        [a, b] if b == i && a != i => value_of[a],
                        _ => None,
                    };
                    residual
                        .filter(|&r| shapes[r] == in_shapes[0])
                        .map(|r| (next, r))
                }
                _ => None,
            };
            let folded = folded.or(gated_sum.map(|(next, _)| next));
            let activation = match folded {
                Some(next) if model.layers[next].kind == "PReLU" => {
                    let channels = layer
                        .integers("output")
                        .ok()
                        .and_then(|v| v.first().copied())
                        .unwrap_or(0);
                    prelu_activation(&model.layers[next], channels)?
                }
                _ => Activation::Identity,
            };
            let (mut op, computed, layer_multiply_adds) = build(layer, &in_shapes, activation)?;
            let mut ins = ins;
            if let Some((_, residual)) = gated_sum {
                op = Op::GatedSum;
                ins.push(residual);
            }
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
}

fn is_eltwise(layer: &Layer, operation: &str) -> bool {
    layer.kind == "Eltwise" && layer.attribute("operation") == Some(operation)
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
        let ones = vec![1.0; out_channels];
        if let (true, Some(slopes)) = (whole_vectors_1x1, fused) {
            let conv = Pointwise::new(c, out_channels, filters, (&ones, &bias), slopes);
            return Ok((Op::Pointwise(conv), out, multiply_adds));
        }
        // Any other square kernel with whole vectors of output channels
        // (the first convolution of the picture, the aligner's 3x3 ones)
        // runs as a 1x1 convolution over its gathered receptive fields,
        // which sums as the GEMM does.
        let square = rows == cols && stride_y == stride_x && padding_y == padding_x;
        if let (true, true, Some(slopes)) = (square, out_channels.is_multiple_of(LANES), fused)
            && let Some(conv) = FieldConv::new(
                x,
                (rows, stride_y, padding_y),
                filters,
                (&ones, &bias),
                slopes,
            )
        {
            return Ok((Op::Fields(conv), out, multiply_adds));
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
