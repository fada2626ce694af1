//! Reading a MiniFASNet's layers from its state dict: each tensor found by
//! name and checked for shape, each batch norm folded, every tensor
//! accounted for.

use std::cell::RefCell;
use std::collections::HashSet;

use limen_torch_format::{StateDict, Tensor};

use super::{BATCH_NORM_EPS, Block, DepthwiseLayer, MiniFasNetError, PointwiseLayer, Squeeze};
use crate::nn::Shape;
use crate::nn::depthwise::{Dense, DepthwiseConv, fold_batch_norm};
use crate::nn::fields::FieldConv;
use crate::nn::ops::Activation;
use crate::nn::pointwise::Pointwise;

/// A convolution's tensors: filters of `shape` (out channels, in channels
/// per group, rows, cols), the folded batch norm, the PReLU's slopes.
struct ConvParts<'a> {
    shape: [usize; 4],
    filters: &'a [f32],
    scale: Vec<f32>,
    shift: Vec<f32>,
    slopes: Option<&'a [f32]>,
}

/// The state dict's tensors by layer name, remembering which were used.
pub(super) struct Weights<'a> {
    dict: &'a StateDict,
    prefix: &'static str,
    used: RefCell<HashSet<String>>,
}

impl<'a> Weights<'a> {
    pub(super) fn new(dict: &'a StateDict) -> Self {
        let prefix = if dict.iter().any(|(n, _)| n.starts_with("module.")) {
            "module."
        } else {
            ""
        };
        Weights {
            dict,
            prefix,
            used: RefCell::new(HashSet::new()),
        }
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.dict.get(&format!("{}{name}", self.prefix)).is_some()
    }

    fn tensor(&self, name: &str) -> Result<&'a Tensor, MiniFasNetError> {
        let full = format!("{}{name}", self.prefix);
        let tensor = self
            .dict
            .get(&full)
            .ok_or_else(|| MiniFasNetError::Missing(full.clone()))?;
        self.used.borrow_mut().insert(full);
        Ok(tensor)
    }

    /// A float tensor of exactly `shape`.
    fn f32(&self, name: &str, shape: &[usize]) -> Result<&'a [f32], MiniFasNetError> {
        let tensor = self.tensor(name)?;
        if tensor.shape != shape {
            return Err(MiniFasNetError::Shape {
                name: name.into(),
                found: tensor.shape.clone(),
                expected: shape.to_vec(),
            });
        }
        tensor
            .f32()
            .ok_or_else(|| MiniFasNetError::NotF32(name.into()))
    }

    /// The shape of a 4-d convolution weight.
    fn conv_shape(&self, name: &str) -> Result<[usize; 4], MiniFasNetError> {
        let tensor = self.tensor(name)?;
        tensor
            .shape
            .as_slice()
            .try_into()
            .map_err(|_| MiniFasNetError::Shape {
                name: name.into(),
                found: tensor.shape.clone(),
                expected: vec![0; 4],
            })
    }

    /// A batch norm of `channels` as (scale, shift); its batch counter is
    /// training state, marked used.
    fn batch_norm(
        &self,
        prefix: &str,
        channels: usize,
    ) -> Result<(Vec<f32>, Vec<f32>), MiniFasNetError> {
        let get = |field: &str| self.f32(&format!("{prefix}.{field}"), &[channels]);
        let folded = fold_batch_norm(
            get("weight")?,
            get("bias")?,
            get("running_mean")?,
            get("running_var")?,
            BATCH_NORM_EPS,
        );
        self.tensor(&format!("{prefix}.num_batches_tracked"))?;
        Ok(folded)
    }

    /// Upstream's `Conv_block` (convolution, batch norm, PReLU) or, without
    /// `prelu`, its `Linear_block`, with a square kernel.
    fn conv_parts(&self, prefix: &str, prelu: bool) -> Result<ConvParts<'a>, MiniFasNetError> {
        let name = format!("{prefix}.conv.weight");
        let shape = self.conv_shape(&name)?;
        let [out_channels, _, rows, cols] = shape;
        if rows != cols || rows == 0 {
            return Err(MiniFasNetError::Geometry(prefix.into()));
        }
        let filters = self.f32(&name, &shape)?;
        let (scale, shift) = self.batch_norm(&format!("{prefix}.bn"), out_channels)?;
        let slopes = if prelu {
            Some(self.f32(&format!("{prefix}.prelu.weight"), &[out_channels])?)
        } else {
            None
        };
        Ok(ConvParts {
            shape,
            filters,
            scale,
            shift,
            slopes,
        })
    }

    /// The first, dense convolution of the crop.
    pub(super) fn stem(
        &self,
        prefix: &str,
        input: Shape,
        stride: usize,
        padding: usize,
    ) -> Result<FieldConv, MiniFasNetError> {
        let parts = self.conv_parts(prefix, true)?;
        let [_, in_channels, size, _] = parts.shape;
        let geometry = || MiniFasNetError::Geometry(prefix.into());
        if in_channels != input.channels {
            return Err(geometry());
        }
        FieldConv::new(
            input,
            (size, stride, padding),
            parts.filters,
            (&parts.scale, &parts.shift),
            parts.slopes,
        )
        .ok_or_else(geometry)
    }

    /// A depthwise `Conv_block` or `Linear_block`.
    pub(super) fn depthwise(
        &self,
        prefix: &str,
        input: Shape,
        stride: usize,
        padding: usize,
        prelu: bool,
    ) -> Result<DepthwiseLayer, MiniFasNetError> {
        let parts = self.conv_parts(prefix, prelu)?;
        let [channels, in_per_group, size, _] = parts.shape;
        let geometry = || MiniFasNetError::Geometry(prefix.into());
        if in_per_group != 1 || channels != input.channels || channels < 2 || padding >= size {
            return Err(geometry());
        }
        let activation = parts
            .slopes
            .map_or(Activation::Identity, |s| Activation::PRelu(s.to_vec()));
        let conv = DepthwiseConv::new(
            channels,
            size,
            stride,
            padding,
            parts.filters,
            (&parts.scale, &parts.shift),
            activation,
        )
        .padded();
        let output = conv
            .output_shape(input)
            .filter(|s| s.len() > 0)
            .ok_or_else(geometry)?;
        Ok(DepthwiseLayer {
            conv,
            input,
            output,
        })
    }

    /// A 1×1 `Conv_block` or `Linear_block`.
    pub(super) fn pointwise(
        &self,
        prefix: &str,
        input: Shape,
        prelu: bool,
    ) -> Result<PointwiseLayer, MiniFasNetError> {
        let parts = self.conv_parts(prefix, prelu)?;
        let [out_channels, in_channels, size, _] = parts.shape;
        if in_channels != input.channels || size != 1 || out_channels == 0 {
            return Err(MiniFasNetError::Geometry(prefix.into()));
        }
        Ok(PointwiseLayer {
            conv: Pointwise::new(
                in_channels,
                out_channels,
                parts.filters,
                (&parts.scale, &parts.shift),
                parts.slopes,
            ),
            input,
        })
    }

    /// Upstream's `Depth_Wise` (or `Depth_Wise_SE` where the file has an
    /// `se_module`).
    pub(super) fn block(
        &self,
        prefix: &str,
        input: Shape,
        stride: usize,
        residual: bool,
    ) -> Result<Block, MiniFasNetError> {
        let expand = self.pointwise(&format!("{prefix}.conv"), input, true)?;
        let depthwise = self.depthwise(
            &format!("{prefix}.conv_dw"),
            expand.output(),
            stride,
            1,
            true,
        )?;
        let project = self.pointwise(&format!("{prefix}.project"), depthwise.output, false)?;
        if residual && project.output() != input {
            return Err(MiniFasNetError::Geometry(prefix.into()));
        }
        let se = format!("{prefix}.se_module");
        let squeeze = if self.has(&format!("{se}.fc1.weight")) {
            if !residual {
                // Upstream applies the gate only on residual blocks.
                return Err(MiniFasNetError::Unused(format!("{se}.fc1.weight")));
            }
            let channels = project.output().channels;
            let [reduced, ..] = self.conv_shape(&format!("{se}.fc1.weight"))?;
            let fc1 = self.f32(&format!("{se}.fc1.weight"), &[reduced, channels, 1, 1])?;
            let bn1 = self.batch_norm(&format!("{se}.bn1"), reduced)?;
            let fc2 = self.f32(&format!("{se}.fc2.weight"), &[channels, reduced, 1, 1])?;
            let bn2 = self.batch_norm(&format!("{se}.bn2"), channels)?;
            Some(Squeeze {
                reduce: Dense::new(channels, fc1, (&bn1.0, &bn1.1), Activation::Relu),
                expand: Dense::new(reduced, fc2, (&bn2.0, &bn2.1), Activation::Identity),
            })
        } else {
            None
        };
        Ok(Block {
            expand,
            depthwise,
            project,
            squeeze,
            residual,
        })
    }

    /// A bias-free linear layer, with the batch norm after it folded in.
    pub(super) fn linear(
        &self,
        name: &str,
        batch_norm: Option<&str>,
        inputs: usize,
    ) -> Result<Dense, MiniFasNetError> {
        let weight = format!("{name}.weight");
        let outputs = self.tensor(&weight)?.shape.first().copied().unwrap_or(0);
        let w = self.f32(&weight, &[outputs, inputs])?;
        let (scale, shift) = match batch_norm {
            Some(bn) => self.batch_norm(bn, outputs)?,
            None => (vec![1.0; outputs], vec![0.0; outputs]),
        };
        Ok(Dense::new(
            inputs,
            w,
            (&scale, &shift),
            Activation::Identity,
        ))
    }

    pub(super) fn all_used(&self) -> Result<(), MiniFasNetError> {
        let used = self.used.borrow();
        match self.dict.iter().find(|(n, _)| !used.contains(*n)) {
            Some((name, _)) => Err(MiniFasNetError::Unused(name.into())),
            None => Ok(()),
        }
    }
}
