//! dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`)
//! read into a flat list of layers with their parameters.
//!
//! dlib deserialises a network by its C++ *type*: the file holds no layer
//! graph, only each layer's record in the order the type dictates, and tag
//! ids are not written at all. So this reader carries the network's type,
//! dlib's `anet_type` from `dnn_face_recognition_ex.cpp`, as a schema and
//! checks every record of the file against it: layer names, filter counts,
//! kernel sizes, strides, paddings and tensor shapes.
//!
//! Stream layout (all integers and floats in `serialize.h` form):
//! - the loss layer: version `1`, its record, then the network below it;
//! - every `add_layer` writes its version (`2`, or `3` for the bottom one,
//!   which wraps the input layer) and then, *before* its own record, the
//!   network below it. Tag and skip layers write version `1` and then the
//!   network below. So the file starts with one version number per layer,
//!   from the top down, then the input layer, then the records bottom-up.
//! - after each record: three bools and the training tensors `x_grad`,
//!   `cached_output`, `params_grad` (bottom layer: `x_grad`,
//!   `cached_output`, `grad_final` and a sample expansion factor), which
//!   inference ignores.
//! - a tensor is version `2`, four dimensions (samples, k, rows, cols) and
//!   raw little-endian f32; an alias tensor (a view into `params`) is
//!   version `1` and four dimensions.

use crate::reader::{FormatError, Reader};

/// The face-recognition network, bottom (input) to top (output).
#[derive(Debug, Clone, PartialEq)]
pub struct DnnModel {
    pub input: RgbInput,
    /// Layers in evaluation order, from the input to the 128-d output.
    pub layers: Vec<Layer>,
    pub loss: MetricLoss,
}

/// dlib's `input_rgb_image_sized`: planar RGB, `(pixel - mean) / 256`.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbInput {
    /// Per-channel means subtracted from the 0–255 pixel values (R, G, B).
    pub mean_rgb: [f32; 3],
    pub rows: usize,
    pub cols: usize,
}

/// dlib's `loss_metric_`: the network output is the descriptor as is.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLoss {
    pub margin: f64,
    pub distance_threshold: f64,
}

/// One layer of the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    Conv(Conv),
    /// Per-channel `x * gamma + beta` (batch norm frozen for inference).
    Affine(Affine),
    Relu,
    MaxPool(Pool),
    AvgPool(Pool),
    /// Remembers the current output under this id (dlib `tagN`).
    Tag(u32),
    /// Replaces the current output with the one tagged with this id.
    Skip(u32),
    /// Adds the output tagged with this id to the current output; tensors of
    /// different shapes are added as if zero-padded to the larger shape.
    AddPrev(u32),
    FcNoBias(FullyConnected),
}

/// A 2-D convolution (cross-correlation) with a bias per filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub num_filters: usize,
    pub in_channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub stride_y: usize,
    pub stride_x: usize,
    pub padding_y: usize,
    pub padding_x: usize,
    /// `num_filters * in_channels * rows * cols`, in that nesting order.
    pub filters: Vec<f32>,
    pub biases: Vec<f32>,
}

/// Per-channel scale and shift.
#[derive(Debug, Clone, PartialEq)]
pub struct Affine {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// A pooling window. `rows == 0 && cols == 0` pools the whole input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub rows: usize,
    pub cols: usize,
    pub stride_y: usize,
    pub stride_x: usize,
    pub padding_y: usize,
    pub padding_x: usize,
}

/// A fully connected layer without bias: `out[o] = sum_i in[i] * weights[i * num_outputs + o]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FullyConnected {
    pub num_inputs: usize,
    pub num_outputs: usize,
    pub weights: Vec<f32>,
}

/// What the schema expects at one position; see [`face_resnet_schema`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Conv {
        filters: usize,
        size: usize,
        stride: usize,
    },
    Affine,
    Relu,
    MaxPool {
        size: usize,
        stride: usize,
    },
    AvgPool {
        size: usize,
        stride: usize,
    },
    Tag(u32),
    Skip(u32),
    AddPrev(u32),
    FcNoBias {
        outputs: usize,
    },
}

/// The side of the square input chip.
const CHIP_SIZE: usize = 150;
const DESCRIPTOR_LEN: usize = 128;

/// dlib's `anet_type`, bottom to top.
fn face_resnet_schema() -> Vec<Expected> {
    use Expected::*;
    // A residual block: two 3x3 convolutions, each followed by an affine,
    // added to the block input (`ares`), or for `ares_down` with the first
    // convolution strided by 2 and added to a 2x2 average pool of the input.
    let block = |out: &mut Vec<Expected>, filters: usize, down: bool| {
        let stride = if down { 2 } else { 1 };
        out.extend([
            Tag(1),
            Conv {
                filters,
                size: 3,
                stride,
            },
            Affine,
            Relu,
            Conv {
                filters,
                size: 3,
                stride: 1,
            },
            Affine,
        ]);
        if down {
            out.extend([Tag(2), Skip(1), AvgPool { size: 2, stride: 2 }, AddPrev(2)]);
        } else {
            out.push(AddPrev(1));
        }
        out.push(Relu);
    };
    let mut s = vec![
        Conv {
            filters: 32,
            size: 7,
            stride: 2,
        },
        Affine,
        Relu,
        MaxPool { size: 3, stride: 2 },
    ];
    // (filters, downsampling block first?, plain blocks): alevel4 .. alevel0.
    for (filters, down, plain) in [
        (32, false, 3),
        (64, true, 3),
        (128, true, 2),
        (256, true, 2),
        (256, true, 0),
    ] {
        if down {
            block(&mut s, filters, true);
        }
        for _ in 0..plain {
            block(&mut s, filters, false);
        }
    }
    s.push(AvgPool { size: 0, stride: 1 });
    s.push(FcNoBias {
        outputs: DESCRIPTOR_LEN,
    });
    s
}

// Versions dlib writes for the wrappers around each layer record.
const LOSS_LAYER_VERSION: i64 = 1;
const ADD_LAYER_VERSION: i64 = 2;
const TAG_OR_SKIP_VERSION: i64 = 1;
const BOTTOM_ADD_LAYER_VERSIONS: std::ops::RangeInclusive<i64> = 2..=3;
const TENSOR_VERSION: i64 = 2;
const ALIAS_TENSOR_VERSION: i64 = 1;

impl DnnModel {
    /// Parses `dlib_face_recognition_resnet_model_v1.dat`.
    pub fn parse_face_resnet(bytes: &[u8]) -> Result<Self, FormatError> {
        let schema = face_resnet_schema();
        let mut r = Reader::new(bytes);

        expect_version(&mut r, LOSS_LAYER_VERSION, "loss layer version")?;
        let loss = read_metric_loss(&mut r)?;

        // One version per wrapper, top down; the bottom one wraps the input.
        let bottom_version = {
            let mut bottom = 0;
            for (i, layer) in schema.iter().enumerate().rev() {
                let is_wrapper_only = matches!(layer, Expected::Tag(_) | Expected::Skip(_));
                if i == 0 {
                    bottom = r.i64("bottom layer version")?;
                    if !BOTTOM_ADD_LAYER_VERSIONS.contains(&bottom) {
                        return Err(unsupported("bottom layer version", bottom));
                    }
                } else if is_wrapper_only {
                    expect_version(&mut r, TAG_OR_SKIP_VERSION, "tag/skip layer version")?;
                } else {
                    expect_version(&mut r, ADD_LAYER_VERSION, "layer version")?;
                }
            }
            bottom
        };

        let input = read_rgb_input(&mut r)?;
        let mut channels = 3;
        let mut layers = Vec::with_capacity(schema.len());
        for (i, expected) in schema.iter().enumerate() {
            let layer = match *expected {
                Expected::Tag(id) => {
                    layers.push(Layer::Tag(id));
                    continue;
                }
                Expected::Skip(id) => {
                    layers.push(Layer::Skip(id));
                    continue;
                }
                Expected::Conv {
                    filters,
                    size,
                    stride,
                } => {
                    let conv = read_conv(&mut r, filters, size, stride, channels)?;
                    channels = filters;
                    Layer::Conv(conv)
                }
                Expected::Affine => Layer::Affine(read_affine(&mut r, channels)?),
                Expected::Relu => {
                    expect_name(&mut r, "relu_")?;
                    Layer::Relu
                }
                Expected::MaxPool { size, stride } => {
                    Layer::MaxPool(read_pool(&mut r, "max_pool_2", size, stride)?)
                }
                Expected::AvgPool { size, stride } => {
                    Layer::AvgPool(read_pool(&mut r, "avg_pool_2", size, stride)?)
                }
                Expected::AddPrev(id) => {
                    expect_name(&mut r, "add_prev_")?;
                    // A skip may go back to a narrower tensor, but every sum
                    // includes the latest convolution's output, the wider one,
                    // so `channels` stays right for the layers above.
                    Layer::AddPrev(id)
                }
                Expected::FcNoBias { outputs } => {
                    Layer::FcNoBias(read_fc_no_bias(&mut r, outputs, channels)?)
                }
            };
            skip_training_state(&mut r, i == 0, bottom_version)?;
            layers.push(layer);
        }
        r.finish("end of network")?;
        Ok(DnnModel {
            input,
            layers,
            loss,
        })
    }
}

fn unsupported(what: &'static str, found: impl std::fmt::Display) -> FormatError {
    FormatError::Unsupported {
        what,
        found: found.to_string(),
    }
}

fn expect_version(r: &mut Reader, version: i64, what: &'static str) -> Result<(), FormatError> {
    let found = r.i64(what)?;
    if found == version {
        Ok(())
    } else {
        Err(unsupported(what, found))
    }
}

fn expect_name(r: &mut Reader, name: &'static str) -> Result<(), FormatError> {
    let found = r.string("layer name")?;
    if found == name {
        Ok(())
    } else {
        Err(FormatError::Unsupported {
            what: "layer",
            found: format!("{found:?} where {name:?} was expected"),
        })
    }
}

/// A dimension or hyper-parameter that must equal what the schema says.
fn expect_value(r: &mut Reader, expected: usize, what: &'static str) -> Result<(), FormatError> {
    let found = r.i64(what)?;
    if usize::try_from(found) == Ok(expected) {
        Ok(())
    } else {
        Err(FormatError::Unsupported {
            what,
            found: format!("{found} (expected {expected})"),
        })
    }
}

fn read_metric_loss(r: &mut Reader) -> Result<MetricLoss, FormatError> {
    expect_name_of(r, &["loss_metric_2"])?;
    Ok(MetricLoss {
        margin: r.f64("loss margin")?,
        distance_threshold: r.f64("loss distance threshold")?,
    })
}

fn expect_name_of(r: &mut Reader, names: &[&'static str]) -> Result<(), FormatError> {
    let found = r.string("layer name")?;
    if names.contains(&found.as_str()) {
        Ok(())
    } else {
        Err(unsupported("layer", format!("{found:?}")))
    }
}

fn read_rgb_input(r: &mut Reader) -> Result<RgbInput, FormatError> {
    expect_name(r, "input_rgb_image_sized")?;
    let mean_rgb = [
        r.f32("red mean")?,
        r.f32("green mean")?,
        r.f32("blue mean")?,
    ];
    expect_value(r, CHIP_SIZE, "input rows")?;
    expect_value(r, CHIP_SIZE, "input columns")?;
    Ok(RgbInput {
        mean_rgb,
        rows: CHIP_SIZE,
        cols: CHIP_SIZE,
    })
}

/// Reads a tensor; returns its four dimensions and data.
fn read_tensor(r: &mut Reader, what: &'static str) -> Result<([usize; 4], Vec<f32>), FormatError> {
    expect_version(r, TENSOR_VERSION, "tensor version")?;
    let dims = read_dims(r, what)?;
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(FormatError::Malformed {
            offset: r.offset(),
            what,
        })?;
    Ok((dims, r.f32_le(len, what)?))
}

fn read_dims(r: &mut Reader, what: &'static str) -> Result<[usize; 4], FormatError> {
    let mut dims = [0usize; 4];
    for d in &mut dims {
        let v = r.i64(what)?;
        *d = usize::try_from(v).map_err(|_| FormatError::Malformed {
            offset: r.offset(),
            what,
        })?;
    }
    Ok(dims)
}

fn read_alias(r: &mut Reader, what: &'static str) -> Result<[usize; 4], FormatError> {
    expect_version(r, ALIAS_TENSOR_VERSION, "alias tensor version")?;
    read_dims(r, what)
}

fn expect_dims(
    found: [usize; 4],
    expected: [usize; 4],
    what: &'static str,
) -> Result<(), FormatError> {
    if found == expected {
        Ok(())
    } else {
        Err(FormatError::Unsupported {
            what,
            found: format!("shape {found:?} (expected {expected:?})"),
        })
    }
}

/// Skips the learning-rate and weight-decay multipliers dlib stores.
fn skip_doubles(r: &mut Reader, n: usize) -> Result<(), FormatError> {
    for _ in 0..n {
        r.f64("training multiplier")?;
    }
    Ok(())
}

fn read_conv(
    r: &mut Reader,
    filters: usize,
    size: usize,
    stride: usize,
    in_channels: usize,
) -> Result<Conv, FormatError> {
    expect_name(r, "con_4")?;
    let filter_len = filters * in_channels * size * size;
    let (param_dims, params) = read_tensor(r, "convolution parameters")?;
    expect_dims(
        param_dims,
        [filter_len + filters, 1, 1, 1],
        "convolution parameters",
    )?;
    expect_value(r, filters, "number of filters")?;
    expect_value(r, size, "filter rows")?;
    expect_value(r, size, "filter columns")?;
    expect_value(r, stride, "vertical stride")?;
    expect_value(r, stride, "horizontal stride")?;
    // dlib's default: half the kernel for stride 1, none otherwise.
    let padding = if stride == 1 { size / 2 } else { 0 };
    expect_value(r, padding, "vertical padding")?;
    expect_value(r, padding, "horizontal padding")?;
    let filter_dims = read_alias(r, "filter shape")?;
    expect_dims(
        filter_dims,
        [filters, in_channels, size, size],
        "filter shape",
    )?;
    let bias_dims = read_alias(r, "bias shape")?;
    expect_dims(bias_dims, [1, filters, 1, 1], "bias shape")?;
    skip_doubles(r, 4)?;
    let (filter_values, bias_values) = params.split_at(filter_len);
    Ok(Conv {
        num_filters: filters,
        in_channels,
        rows: size,
        cols: size,
        stride_y: stride,
        stride_x: stride,
        padding_y: padding,
        padding_x: padding,
        filters: filter_values.to_vec(),
        biases: bias_values.to_vec(),
    })
}

// dlib's `layer_mode`: per channel (after a convolution) or per element.
const AFFINE_CONV_MODE: i32 = 0;

fn read_affine(r: &mut Reader, channels: usize) -> Result<Affine, FormatError> {
    expect_name(r, "affine_")?;
    let (param_dims, params) = read_tensor(r, "affine parameters")?;
    expect_dims(param_dims, [2 * channels, 1, 1, 1], "affine parameters")?;
    expect_dims(
        read_alias(r, "gamma shape")?,
        [1, channels, 1, 1],
        "gamma shape",
    )?;
    expect_dims(
        read_alias(r, "beta shape")?,
        [1, channels, 1, 1],
        "beta shape",
    )?;
    let mode = r.i32("affine mode")?;
    if mode != AFFINE_CONV_MODE {
        return Err(unsupported("affine mode", mode));
    }
    let (gamma, beta) = params.split_at(channels);
    Ok(Affine {
        gamma: gamma.to_vec(),
        beta: beta.to_vec(),
    })
}

fn read_pool(
    r: &mut Reader,
    name: &'static str,
    size: usize,
    stride: usize,
) -> Result<Pool, FormatError> {
    expect_name(r, name)?;
    expect_value(r, size, "pool rows")?;
    expect_value(r, size, "pool columns")?;
    expect_value(r, stride, "pool vertical stride")?;
    expect_value(r, stride, "pool horizontal stride")?;
    let padding = if stride == 1 { size / 2 } else { 0 };
    expect_value(r, padding, "pool vertical padding")?;
    expect_value(r, padding, "pool horizontal padding")?;
    Ok(Pool {
        rows: size,
        cols: size,
        stride_y: stride,
        stride_x: stride,
        padding_y: padding,
        padding_x: padding,
    })
}

// dlib's `fc_bias_mode` for a layer without bias.
const FC_NO_BIAS: i32 = 1;

fn read_fc_no_bias(
    r: &mut Reader,
    outputs: usize,
    inputs: usize,
) -> Result<FullyConnected, FormatError> {
    expect_name(r, "fc_2")?;
    expect_value(r, outputs, "fc outputs")?;
    expect_value(r, inputs, "fc inputs")?;
    let (param_dims, weights) = read_tensor(r, "fc weights")?;
    expect_dims(param_dims, [inputs, outputs, 1, 1], "fc weights")?;
    expect_dims(
        read_alias(r, "fc weight shape")?,
        [inputs, outputs, 1, 1],
        "fc weight shape",
    )?;
    // The bias alias of a bias-free layer is written empty.
    read_alias(r, "fc bias shape")?;
    let mode = r.i32("fc bias mode")?;
    if mode != FC_NO_BIAS {
        return Err(unsupported("fc bias mode", mode));
    }
    skip_doubles(r, 4)?;
    Ok(FullyConnected {
        num_inputs: inputs,
        num_outputs: outputs,
        weights,
    })
}

/// Skips the flags and training tensors `add_layer` writes after a record.
fn skip_training_state(
    r: &mut Reader,
    bottom: bool,
    bottom_version: i64,
) -> Result<(), FormatError> {
    for _ in 0..3 {
        r.bool("layer flag")?;
    }
    for _ in 0..3 {
        read_tensor(r, "training tensor")?;
    }
    if bottom && bottom_version >= 3 {
        r.u64("sample expansion factor")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_the_published_shape() {
        let s = face_resnet_schema();
        let convs = s
            .iter()
            .filter(|l| matches!(l, Expected::Conv { .. }))
            .count();
        assert_eq!(convs, 29);
        assert_eq!(
            s.iter()
                .filter(|l| matches!(l, Expected::AddPrev(_)))
                .count(),
            14
        );
        assert_eq!(
            s.iter().filter(|l| matches!(l, Expected::Affine)).count(),
            29
        );
    }

    #[test]
    fn wrong_loss_is_unsupported() {
        // version 1, string "loss_mmod_" instead of the metric loss.
        let mut bytes = vec![0x01, 0x01, 0x01, 10];
        bytes.extend_from_slice(b"loss_mmod_");
        assert!(matches!(
            DnnModel::parse_face_resnet(&bytes),
            Err(FormatError::Unsupported { .. })
        ));
    }
}

#[cfg(test)]
mod real_model_tests {
    use super::*;

    fn model_bytes() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/dlib_face_recognition_resnet_model_v1.dat"
        );
        std::fs::read(path).expect("model file present in the repository")
    }

    #[test]
    fn parses_the_shipped_model() {
        let model = DnnModel::parse_face_resnet(&model_bytes()).expect("valid model");
        let convs: Vec<&Conv> = model
            .layers
            .iter()
            .filter_map(|l| match l {
                Layer::Conv(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(convs.len(), 29);
        assert_eq!(
            (convs[0].num_filters, convs[0].in_channels, convs[0].rows),
            (32, 3, 7)
        );
        assert_eq!(convs[0].filters.len(), 32 * 3 * 7 * 7);
        let Some(Layer::FcNoBias(fc)) = model.layers.last() else {
            panic!("the network ends with its fully connected layer");
        };
        assert_eq!((fc.num_inputs, fc.num_outputs), (256, 128));
        assert_eq!((model.input.rows, model.input.cols), (150, 150));
        assert!((model.input.mean_rgb[0] - 122.782).abs() < 1e-3);
        assert!((model.loss.distance_threshold - 0.6).abs() < 1e-6);
        let finite = model.layers.iter().all(|l| match l {
            Layer::Conv(c) => c.filters.iter().chain(&c.biases).all(|v| v.is_finite()),
            Layer::Affine(a) => a.gamma.iter().chain(&a.beta).all(|v| v.is_finite()),
            _ => true,
        });
        assert!(finite);
    }

    #[test]
    fn truncated_or_extended_model_is_an_error() {
        let bytes = model_bytes();
        for cut in [0, 1, 40, 300, 400, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                DnnModel::parse_face_resnet(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(DnnModel::parse_face_resnet(&longer).is_err());
    }

    #[test]
    fn corrupt_hyper_parameter_is_an_error() {
        let mut bytes = model_bytes();
        // Change the first convolution's filter count (written right after
        // its parameter tensor) from 32 to 31.
        let name = b"con_4";
        let at = bytes
            .windows(name.len())
            .position(|w| w == name)
            .expect("a convolution record");
        // Name, tensor version, four dims (the first takes 3 bytes), data.
        let data_start = at + name.len() + 2 + 3 + 2 + 2 + 2;
        let num_filters_at = data_start + 4736 * 4;
        assert_eq!(&bytes[num_filters_at..num_filters_at + 2], &[0x01, 32]);
        bytes[num_filters_at + 1] = 31;
        assert!(matches!(
            DnnModel::parse_face_resnet(&bytes),
            Err(FormatError::Unsupported { .. })
        ));
    }
}
