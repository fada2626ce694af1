//! Reading one layer's record, checked against what the schema expects,
//! and skipping the training state dlib writes after it.

use super::layers::{Affine, Conv, FullyConnected, MetricLoss, Pool, RgbInput};
use super::schema::CHIP_SIZE;
use crate::reader::{FormatError, Reader};

const TENSOR_VERSION: i64 = 2;
const ALIAS_TENSOR_VERSION: i64 = 1;

pub(super) fn unsupported(what: &'static str, found: impl std::fmt::Display) -> FormatError {
    FormatError::Unsupported {
        what,
        found: found.to_string(),
    }
}

pub(super) fn expect_version(
    r: &mut Reader,
    version: i64,
    what: &'static str,
) -> Result<(), FormatError> {
    let found = r.i64(what)?;
    if found == version {
        Ok(())
    } else {
        Err(unsupported(what, found))
    }
}

pub(super) fn expect_name(r: &mut Reader, name: &'static str) -> Result<(), FormatError> {
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
pub(super) fn expect_value(
    r: &mut Reader,
    expected: usize,
    what: &'static str,
) -> Result<(), FormatError> {
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

pub(super) fn read_metric_loss(r: &mut Reader) -> Result<MetricLoss, FormatError> {
    expect_name_of(r, &["loss_metric_2"])?;
    Ok(MetricLoss {
        margin: r.f64("loss margin")?,
        distance_threshold: r.f64("loss distance threshold")?,
    })
}

pub(super) fn expect_name_of(r: &mut Reader, names: &[&'static str]) -> Result<(), FormatError> {
    let found = r.string("layer name")?;
    if names.contains(&found.as_str()) {
        Ok(())
    } else {
        Err(unsupported("layer", format!("{found:?}")))
    }
}

pub(super) fn read_rgb_input(r: &mut Reader) -> Result<RgbInput, FormatError> {
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
pub(super) fn read_tensor(
    r: &mut Reader,
    what: &'static str,
) -> Result<([usize; 4], Vec<f32>), FormatError> {
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

pub(super) fn read_dims(r: &mut Reader, what: &'static str) -> Result<[usize; 4], FormatError> {
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

pub(super) fn read_alias(r: &mut Reader, what: &'static str) -> Result<[usize; 4], FormatError> {
    expect_version(r, ALIAS_TENSOR_VERSION, "alias tensor version")?;
    read_dims(r, what)
}

pub(super) fn expect_dims(
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
pub(super) fn skip_doubles(r: &mut Reader, n: usize) -> Result<(), FormatError> {
    for _ in 0..n {
        r.f64("training multiplier")?;
    }
    Ok(())
}

pub(super) fn read_conv(
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

pub(super) fn read_affine(r: &mut Reader, channels: usize) -> Result<Affine, FormatError> {
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

pub(super) fn read_pool(
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

pub(super) fn read_fc_no_bias(
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
pub(super) fn skip_training_state(
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
