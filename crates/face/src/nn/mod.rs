//! The tensor operations the descriptor and liveness networks need, on single images in
//! HWC layout (row, column, channel; channels contiguous).

use std::sync::Mutex;

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

/// Working memory kept between runs, one set per concurrent caller.
#[derive(Debug, Default)]
pub struct ScratchPool<T>(Mutex<Vec<T>>);

impl<T> ScratchPool<T> {
    /// A set from the pool, or a new one from `make`.
    pub fn take(&self, make: impl FnOnce() -> T) -> T {
        let pooled = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        pooled.unwrap_or_else(make)
    }

    pub fn give_back(&self, scratch: T) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(scratch);
    }
}
