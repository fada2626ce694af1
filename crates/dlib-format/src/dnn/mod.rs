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

mod layers;
mod records;
mod schema;

pub use layers::{Affine, Conv, FullyConnected, Layer, MetricLoss, Pool, RgbInput};

use crate::reader::{FormatError, Reader};
use records::{
    expect_name, expect_version, read_affine, read_conv, read_fc_no_bias, read_metric_loss,
    read_pool, read_rgb_input, skip_training_state, unsupported,
};
use schema::{Expected, face_resnet_schema};

/// The face-recognition network, bottom (input) to top (output).
#[derive(Debug, Clone, PartialEq)]
pub struct DnnModel {
    pub input: RgbInput,
    /// Layers in evaluation order, from the input to the 128-d output.
    pub layers: Vec<Layer>,
    pub loss: MetricLoss,
}

// Versions dlib writes for the wrappers around each layer record.
const LOSS_LAYER_VERSION: i64 = 1;
const ADD_LAYER_VERSION: i64 = 2;
const TAG_OR_SKIP_VERSION: i64 = 1;
const BOTTOM_ADD_LAYER_VERSIONS: std::ops::RangeInclusive<i64> = 2..=3;

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
