//! The tensor operations the descriptor and liveness networks need, on single images in
//! HWC layout (row, column, channel; channels contiguous).

use std::ops::Range;
use std::sync::Mutex;

pub mod depthwise;
pub mod fields;
pub mod gemm;
pub mod ops;
pub mod pointwise;
pub mod winograd;

/// Floats in one AVX-512 register: maps whose channels are padded to a
/// multiple of this are processed in whole vectors, with no remainder.
pub const LANES: usize = 16;

/// Where output position `o` of a filter `size` taps wide, moved `stride`
/// at a time over an input side of `n` values with `padding` zeros at each
/// end, starts (negative in the padding), and its taps that land inside.
pub fn filter_taps(
    o: usize,
    n: usize,
    size: usize,
    stride: usize,
    padding: usize,
) -> (isize, Range<usize>) {
    let start = (o * stride) as isize - padding as isize;
    let first = (-start).max(0) as usize;
    let last = (n as isize - start).clamp(0, size as isize) as usize;
    (start, first..last)
}

/// Values a pixel takes in a channel-padded map of `channels` channels.
pub fn padded_channels(channels: usize) -> usize {
    channels.next_multiple_of(LANES)
}

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

    /// Values of the map with its channels padded ([`padded_channels`]).
    pub fn padded_len(&self) -> usize {
        self.rows * self.cols * padded_channels(self.channels)
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

/// Gives every value of a network a buffer, reusing buffers of values no
/// longer read. Step `i` of `steps` writes value `i + 1` (value 0 is the
/// input) and reads the values `reads(i)`; `shapes` has one entry a value,
/// and `output` is kept to the end. A step's output never shares a buffer
/// with anything the step reads. Returns each value's buffer and each
/// buffer's length.
pub fn assign_buffers<R: IntoIterator<Item = usize>>(
    steps: usize,
    reads: impl Fn(usize) -> R,
    shapes: &[Shape],
    output: usize,
) -> (Vec<usize>, Vec<usize>) {
    let mut last_read = vec![0usize; shapes.len()];
    for index in 0..steps {
        for v in reads(index) {
            last_read[v] = index;
        }
    }
    last_read[output] = usize::MAX;
    let mut buffer_of = vec![0usize; shapes.len()];
    let mut lens = vec![shapes[0].len()];
    // (buffer, value it holds)
    let mut holding: Vec<(usize, usize)> = vec![(0, 0)];
    for index in 0..steps {
        let value = index + 1;
        let free = holding
            .iter()
            .position(|&(_, held)| last_read[held] < index);
        let buffer = match free {
            Some(slot) => {
                holding[slot].1 = value;
                holding[slot].0
            }
            None => {
                lens.push(0);
                holding.push((lens.len() - 1, value));
                lens.len() - 1
            }
        };
        lens[buffer] = lens[buffer].max(shapes[value].len());
        buffer_of[value] = buffer;
    }
    (buffer_of, lens)
}
