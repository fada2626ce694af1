//! The input and output transforms of [`super::WinogradConv`], `Bᵀ d B`
//! and `Aᵀ m A`, block by block, compiled once per instruction set.

use super::{Blocks, Tile};
use crate::nn::Shape;
use crate::nn::gemm::{Kernel, NR};

/// Channels transformed together (one AVX-512 register).
const LANES: usize = 16;

/// What follows the output transform: bias, ReLU and where outputs go.
pub(super) struct Epilogue<'a> {
    pub bias: &'a [f32],
    pub relu: bool,
    pub out_shape: Shape,
}

/// The input transform of every block into `transformed`.
pub(super) fn transform_input(
    kernel: Kernel,
    blocks: &Blocks,
    padded: &[f32],
    padded_cols: usize,
    channels: usize,
    transformed: &mut [f32],
) {
    let job = InputJob {
        blocks,
        padded,
        padded_cols,
        channels,
        transformed,
    };
    run(kernel, job);
}

/// The output transform of every block, with the epilogue, into `out`.
pub(super) fn transform_output(
    kernel: Kernel,
    blocks: &Blocks,
    products: &[f32],
    epilogue: &Epilogue,
    out: &mut [f32],
) {
    let job = OutputJob {
        blocks,
        products,
        epilogue,
        out,
    };
    run(kernel, job);
}

/// Work whose `run` is inlined into, and so compiled for, the instruction
/// set of each of [`run`]'s arms.
trait Job {
    fn run(self);
}

struct InputJob<'a> {
    blocks: &'a Blocks,
    padded: &'a [f32],
    padded_cols: usize,
    channels: usize,
    transformed: &'a mut [f32],
}

impl Job for InputJob<'_> {
    #[inline(always)]
    fn run(self) {
        let InputJob {
            blocks,
            padded,
            padded_cols,
            channels,
            transformed,
        } = self;
        match blocks.tile {
            Tile::Two => input_blocks(
                input_1d_2,
                blocks,
                padded,
                padded_cols,
                channels,
                transformed,
            ),
            Tile::Four => input_blocks(
                input_1d_4,
                blocks,
                padded,
                padded_cols,
                channels,
                transformed,
            ),
        }
    }
}

struct OutputJob<'a> {
    blocks: &'a Blocks,
    products: &'a [f32],
    epilogue: &'a Epilogue<'a>,
    out: &'a mut [f32],
}

impl Job for OutputJob<'_> {
    #[inline(always)]
    fn run(self) {
        let OutputJob {
            blocks,
            products,
            epilogue,
            out,
        } = self;
        match blocks.tile {
            Tile::Two => output_blocks(output_1d_2, blocks, products, epilogue, out),
            Tile::Four => output_blocks(output_1d_4, blocks, products, epilogue, out),
        }
    }
}

fn run(kernel: Kernel, job: impl Job) {
    match kernel {
        // SAFETY: the variant exists only when the CPU has AVX-512F.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::run_avx512(job) },
        // SAFETY: the variant exists only when the CPU has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { x86::run_avx2(job) },
        Kernel::Portable => job.run(),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Job;

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn run_avx512(job: impl Job) {
        job.run();
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn run_avx2(job: impl Job) {
        job.run();
    }
}

/// `Bᵀ d` of F(2, 3).
#[inline(always)]
fn input_1d_2([d0, d1, d2, d3]: [f32; 4]) -> [f32; 4] {
    [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
}

/// `Bᵀ d` of F(4, 3).
#[inline(always)]
fn input_1d_4([d0, d1, d2, d3, d4, d5]: [f32; 6]) -> [f32; 6] {
    let (a, b) = (d4 - 4.0 * d2, d3 - 4.0 * d1);
    let (c, e) = (d4 - d2, 2.0 * (d3 - d1));
    [
        4.0 * d0 - 5.0 * d2 + d4,
        a + b,
        a - b,
        c + e,
        c - e,
        4.0 * d1 - 5.0 * d3 + d5,
    ]
}

/// `Aᵀ m` of F(2, 3).
#[inline(always)]
fn output_1d_2([m0, m1, m2, m3]: [f32; 4]) -> [f32; 2] {
    [m0 + m1 + m2, m1 - m2 - m3]
}

/// `Aᵀ m` of F(4, 3).
#[inline(always)]
fn output_1d_4([m0, m1, m2, m3, m4, m5]: [f32; 6]) -> [f32; 4] {
    let (sum12, diff12) = (m1 + m2, m1 - m2);
    let (sum34, diff34) = (m3 + m4, m3 - m4);
    [
        m0 + sum12 + sum34,
        diff12 + 2.0 * diff34,
        sum12 + 4.0 * sum34,
        diff12 + 8.0 * diff34 + m5,
    ]
}

/// The 2-D transform `T x Tᵀ` of `L` channels of a block, from the 1-D
/// transform `T`: down every column, then along every row. Each pass is a
/// loop over the channels, which the compiler turns into vector code.
#[inline(always)]
fn two_sided<const K: usize, const R: usize, const L: usize>(
    one_d: &impl Fn([f32; K]) -> [f32; R],
    x: &[[[f32; L]; K]; K],
    out: &mut [[[f32; L]; R]; R],
) {
    let mut columns = [[[0.0f32; L]; K]; R];
    for j in 0..K {
        for l in 0..L {
            let mut column = [0.0f32; K];
            for i in 0..K {
                column[i] = x[i][j][l];
            }
            let t = one_d(column);
            for i in 0..R {
                columns[i][j][l] = t[i];
            }
        }
    }
    for i in 0..R {
        for l in 0..L {
            let mut row = [0.0f32; K];
            for j in 0..K {
                row[j] = columns[i][j][l];
            }
            let t = one_d(row);
            for j in 0..R {
                out[i][j][l] = t[j];
            }
        }
    }
}

/// Every input block through `one_d` both ways, `LANES` channels at a time
/// (then one at a time for any remainder).
#[inline(always)]
fn input_blocks<const A: usize>(
    one_d: impl Fn([f32; A]) -> [f32; A],
    blocks: &Blocks,
    padded: &[f32],
    padded_cols: usize,
    channels: usize,
    transformed: &mut [f32],
) {
    let m = A - 2;
    let plane = blocks.rows * channels;
    let wide = channels - channels % LANES;
    let mut x = [[[0.0f32; LANES]; A]; A];
    let mut v = [[[0.0f32; LANES]; A]; A];
    let mut x1 = [[[0.0f32; 1]; A]; A];
    let mut v1 = [[[0.0f32; 1]; A]; A];
    for by in 0..blocks.down {
        for bx in 0..blocks.across {
            let block = by * blocks.across + bx;
            let origin = (by * m * padded_cols + bx * m) * channels;
            let at = |i: usize, j: usize, c: usize| origin + (i * padded_cols + j) * channels + c;
            let store = |xi: usize, c: usize| xi * plane + block * channels + c;
            for c in (0..wide).step_by(LANES) {
                for (i, row) in x.iter_mut().enumerate() {
                    for (j, lanes) in row.iter_mut().enumerate() {
                        lanes.copy_from_slice(&padded[at(i, j, c)..][..LANES]);
                    }
                }
                two_sided(&one_d, &x, &mut v);
                for (i, row) in v.iter().enumerate() {
                    for (j, lanes) in row.iter().enumerate() {
                        transformed[store(i * A + j, c)..][..LANES].copy_from_slice(lanes);
                    }
                }
            }
            for c in wide..channels {
                for (i, row) in x1.iter_mut().enumerate() {
                    for (j, lane) in row.iter_mut().enumerate() {
                        lane[0] = padded[at(i, j, c)];
                    }
                }
                two_sided(&one_d, &x1, &mut v1);
                for (i, row) in v1.iter().enumerate() {
                    for (j, lane) in row.iter().enumerate() {
                        transformed[store(i * A + j, c)] = lane[0];
                    }
                }
            }
        }
    }
}

/// Every block's products through `one_d` both ways, then bias and ReLU,
/// stored where the block's outputs are inside the image.
#[inline(always)]
fn output_blocks<const M: usize, const A: usize>(
    one_d: impl Fn([f32; A]) -> [f32; M],
    blocks: &Blocks,
    products: &[f32],
    epilogue: &Epilogue,
    out: &mut [f32],
) {
    let shape = epilogue.out_shape;
    let n = shape.channels;
    let mut x = [[[0.0f32; NR]; A]; A];
    let mut y = [[[0.0f32; NR]; M]; M];
    for by in 0..blocks.down {
        for bx in 0..blocks.across {
            let block = by * blocks.across + bx;
            for p in 0..blocks.panels {
                let at = |xi: usize| ((xi * blocks.panels + p) * blocks.rows + block) * NR;
                for (i, row) in x.iter_mut().enumerate() {
                    for (j, lanes) in row.iter_mut().enumerate() {
                        lanes.copy_from_slice(&products[at(i * A + j)..][..NR]);
                    }
                }
                two_sided(&one_d, &x, &mut y);
                let n0 = p * NR;
                let cols = (n - n0).min(NR);
                let bias = &epilogue.bias[n0..n0 + cols];
                for (i, row) in y.iter().enumerate() {
                    let oy = by * M + i;
                    if oy >= shape.rows {
                        break;
                    }
                    for (j, values) in row.iter().enumerate() {
                        let ox = bx * M + j;
                        if ox >= shape.cols {
                            break;
                        }
                        let dst = &mut out[(oy * shape.cols + ox) * n + n0..][..cols];
                        for ((d, &v), &b) in dst.iter_mut().zip(values).zip(bias) {
                            let v = v + b;
                            *d = if epilogue.relu { v.max(0.0) } else { v };
                        }
                    }
                }
            }
        }
    }
}
