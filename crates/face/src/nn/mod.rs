//! The tensor operations the descriptor network needs, on single images in
//! HWC layout (row, column, channel; channels contiguous).

pub mod dense;
pub mod depthwise;
pub mod gemm;
pub mod ops;
pub mod winograd;

/// The shape of an HWC tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub rows: usize,
    pub cols: usize,
    pub channels: usize,
}

impl Shape {
    pub fn len(&self) -> usize {
        self.rows * self.cols * self.channels
    }
}
