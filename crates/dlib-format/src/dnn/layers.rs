//! The layers of the network as read, with their parameters.

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
