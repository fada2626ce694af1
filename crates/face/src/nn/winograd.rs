//! Winograd's minimal filtering, F(m x m, 3 x 3) (Lavin and Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016), for the stride-1,
//! padding-1 3x3 convolutions: every m x m block of outputs comes from the
//! (m+2) x (m+2) block of input around it by
//!
//! ```text
//! Y = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A
//! ```
//!
//! so a channel pair costs (m+2)² multiplications per block instead of the
//! direct method's 9m²: 16 instead of 36 for F(2x2), 36 instead of 144 for
//! F(4x4). The sum over input channels is, for each of the (m+2)² positions
//! of the transformed block, a matrix product (blocks x in channels) times
//! (in channels x out channels), done by the GEMM kernel; the weight
//! transform `G g Gᵀ` is done once, in f64, when the network is loaded.
//!
//! The transforms use the interpolation points 0, ±1 (F(2x2)) and 0, ±1, ±2
//! (F(4x4)), whose rounding error in f32 is small enough to keep the
//! descriptor's agreement with dlib (BENCHMARKS.md states it).

mod transform;

use super::Shape;
use super::gemm::{Kernel, MR, NR, Rows, pack_b};
use super::ops::ConvSpec;
use transform::{Epilogue, transform_input, transform_output};

/// Output block side of the two transforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tile {
    /// F(2x2, 3x3): 4x4 input blocks.
    Two,
    /// F(4x4, 3x3): 6x6 input blocks.
    Four,
}

// G of F(2, 3) and F(4, 3): the weight transforms, applied in f64 at load
// time. Bᵀ and Aᵀ are written out in `input_1d_*` and `output_1d_*`.
const G2: [[f64; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];
const G4: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

impl Tile {
    /// Output block side.
    fn m(self) -> usize {
        match self {
            Tile::Two => 2,
            Tile::Four => 4,
        }
    }

    /// Input block side, `m + 2`.
    fn alpha(self) -> usize {
        self.m() + 2
    }

    /// The tile size for an output of `rows x cols`, or `None` when the
    /// direct method is the better choice. A transformed weight matrix is
    /// (m+2)²/9 times the size of the 3x3 one; used by fewer than 16 blocks
    /// it costs more to stream from memory than the multiplications it
    /// saves, and the largest tile that keeps 16 blocks does the fewest
    /// multiplications.
    pub fn for_output(rows: usize, cols: usize) -> Option<Tile> {
        let blocks = |t: Tile| rows.div_ceil(t.m()) * cols.div_ceil(t.m());
        [Tile::Four, Tile::Two]
            .into_iter()
            .find(|&t| blocks(t) >= 16)
    }
}

/// A stride-1, padding-1 3x3 convolution in the Winograd domain, with the
/// following affine folded in and an optional ReLU.
#[derive(Debug)]
pub struct WinogradConv {
    tile: Tile,
    in_channels: usize,
    out_channels: usize,
    /// Per position of the transformed block, `G g Gᵀ` as an
    /// `in_channels x out_channels` matrix packed for the GEMM kernel.
    packed: Vec<f32>,
    bias: Vec<f32>,
    relu: bool,
}

/// Working memory of [`WinogradConv::forward`], reused from layer to layer.
#[derive(Default)]
pub struct WinogradScratch {
    padded: Vec<f32>,
    /// Transformed input: per block position, blocks x in channels.
    transformed: Vec<f32>,
    /// Products: per block position and column panel, blocks x `NR`.
    products: Vec<f32>,
}

impl WinogradScratch {
    /// Every buffer, to be wiped.
    pub fn buffers(&mut self) -> [&mut Vec<f32>; 3] {
        [&mut self.padded, &mut self.transformed, &mut self.products]
    }
}

/// How a layer's output is cut into blocks.
struct Blocks {
    tile: Tile,
    /// Blocks down and across.
    down: usize,
    across: usize,
    /// Block count rounded up to whole kernel tiles.
    rows: usize,
    /// Column panels of the GEMM.
    panels: usize,
}

impl WinogradConv {
    /// `None` unless `spec` is a stride-1, padding-1 3x3 convolution.
    pub fn new(
        spec: &ConvSpec,
        affine: Option<(&[f32], &[f32])>,
        relu: bool,
        tile: Tile,
    ) -> Option<Self> {
        let geometry = (
            spec.rows,
            spec.cols,
            spec.stride_y,
            spec.stride_x,
            spec.padding_y,
            spec.padding_x,
        );
        if geometry != (3, 3, 1, 1, 1, 1) {
            return None;
        }
        let (c, n) = (spec.in_channels, spec.out_channels);
        let (weights, bias) = spec.folded(affine);
        let g: &[[f64; 3]] = match tile {
            Tile::Two => &G2,
            Tile::Four => &G4,
        };
        let alpha = tile.alpha();
        // transformed[xi][ci * n + f] for xi = (i, j) of G g Gᵀ.
        let mut transformed = vec![vec![0.0f32; c * n]; alpha * alpha];
        for ci in 0..c {
            for f in 0..n {
                let w = |y: usize, x: usize| f64::from(weights[((y * 3 + x) * c + ci) * n + f]);
                // G g: alpha x 3.
                let gg: Vec<[f64; 3]> = g
                    .iter()
                    .map(|row| std::array::from_fn(|x| (0..3).map(|y| row[y] * w(y, x)).sum()))
                    .collect();
                for (i, gg_row) in gg.iter().enumerate() {
                    for (j, g_row) in g.iter().enumerate() {
                        let v: f64 = (0..3).map(|x| gg_row[x] * g_row[x]).sum();
                        transformed[i * alpha + j][ci * n + f] = v as f32;
                    }
                }
            }
        }
        let packed = transformed.iter().flat_map(|u| pack_b(c, n, u)).collect();
        Some(WinogradConv {
            tile,
            in_channels: c,
            out_channels: n,
            packed,
            bias,
            relu,
        })
    }

    fn blocks(&self, output: Shape) -> Blocks {
        let m = self.tile.m();
        let (down, across) = (output.rows.div_ceil(m), output.cols.div_ceil(m));
        Blocks {
            tile: self.tile,
            down,
            across,
            rows: (down * across).div_ceil(MR) * MR,
            panels: self.out_channels.div_ceil(NR),
        }
    }

    /// Runs the convolution; `out` has the input's size with `out_channels`.
    pub fn forward(
        &self,
        kernel: Kernel,
        input: &[f32],
        in_shape: Shape,
        out: &mut [f32],
        scratch: &mut WinogradScratch,
    ) {
        let blocks = self.blocks(in_shape);
        let alpha = self.tile.alpha();
        let positions = alpha * alpha;
        let (c, n) = (self.in_channels, self.out_channels);

        // Zero-bordered input reaching to the last block's far edge.
        let m = self.tile.m();
        let padded_cols = blocks.across * m + 2;
        let padded_rows = blocks.down * m + 2;
        let row_len = padded_cols * c;
        let padded = grown(&mut scratch.padded, padded_rows * row_len);
        for (y, row) in padded.chunks_exact_mut(row_len).enumerate() {
            match y.checked_sub(1).filter(|&y| y < in_shape.rows) {
                Some(y) => {
                    let src = &input[y * in_shape.cols * c..(y + 1) * in_shape.cols * c];
                    row[..c].fill(0.0);
                    row[c..c + src.len()].copy_from_slice(src);
                    row[c + src.len()..].fill(0.0);
                }
                None => row.fill(0.0),
            }
        }

        // Rows past the last block are never read back: left as they are.
        let transformed = grown(&mut scratch.transformed, positions * blocks.rows * c);
        transform_input(kernel, &blocks, padded, padded_cols, c, transformed);

        let products = grown(
            &mut scratch.products,
            positions * blocks.panels * blocks.rows * NR,
        );
        let panel_len = c * NR;
        for (xi, (u, v)) in self
            .packed
            .chunks_exact(blocks.panels * panel_len)
            .zip(transformed.chunks_exact(blocks.rows * c))
            .enumerate()
        {
            for (p, b_panel) in u.chunks_exact(panel_len).enumerate() {
                let at = (xi * blocks.panels + p) * blocks.rows * NR;
                let panel_out = &mut products[at..at + blocks.rows * NR];
                for (t, tile) in panel_out.chunks_exact_mut(MR * NR).enumerate() {
                    let rows = Rows {
                        data: v,
                        offsets: std::array::from_fn(|r| (t * MR + r) * c),
                        segments: 1,
                        run: c,
                        pitch: 0,
                    };
                    let tile: &mut [f32; MR * NR] = tile.try_into().expect("whole kernel tiles");
                    kernel.tile(&rows, b_panel, tile);
                }
            }
        }

        let epilogue = Epilogue {
            bias: &self.bias,
            relu: self.relu,
            out_shape: Shape {
                channels: n,
                ..in_shape
            },
        };
        transform_output(kernel, &blocks, products, &epilogue, out);
    }
}

/// The first `len` values of `buffer`, grown (with zeros) if shorter.
fn grown(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::ops::{PackedConv, direct_reference};

    fn spec_data(c: usize, n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let filters = (0..n * c * 9)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
            .collect();
        let biases = (0..n).map(|i| i as f32 / 10.0 - 1.0).collect();
        let gamma = (0..n).map(|i| 0.5 + (i % 3) as f32 / 4.0).collect();
        let beta = (0..n).map(|i| (i % 5) as f32 / 8.0 - 0.2).collect();
        (filters, biases, gamma, beta)
    }

    fn spec<'a>(c: usize, n: usize, filters: &'a [f32], biases: &'a [f32]) -> ConvSpec<'a> {
        ConvSpec {
            in_channels: c,
            out_channels: n,
            rows: 3,
            cols: 3,
            stride_y: 1,
            stride_x: 1,
            padding_y: 1,
            padding_x: 1,
            filters,
            biases,
        }
    }

    #[test]
    fn matches_the_direct_definition_on_every_kernel_and_tile() {
        // Odd sizes leave partial blocks; 20 channels leave a remainder
        // past the lanes; 40 outputs a partial panel.
        for (rows, cols, c, n) in [(7, 9, 20, 40), (5, 5, 32, 32), (1, 3, 3, 5)] {
            let shape = Shape {
                rows,
                cols,
                channels: c,
            };
            let input: Vec<f32> = (0..shape.len())
                .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let (filters, biases, gamma, beta) = spec_data(c, n);
            let spec = spec(c, n, &filters, &biases);
            let affine = Some((gamma.as_slice(), beta.as_slice()));
            let out_shape = Shape {
                channels: n,
                ..shape
            };
            let (folded, bias) = spec.folded(affine);
            let want = direct_reference(&spec, &folded, &bias, &input, shape, out_shape);
            for tile in [Tile::Two, Tile::Four] {
                let conv = WinogradConv::new(&spec, affine, true, tile).expect("3x3 stride 1");
                for kernel in Kernel::available() {
                    let mut out = vec![f32::NAN; out_shape.len()];
                    conv.forward(
                        kernel,
                        &input,
                        shape,
                        &mut out,
                        &mut WinogradScratch::default(),
                    );
                    for (g, w) in out.iter().zip(&want) {
                        let w = w.max(0.0);
                        assert!(
                            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                            "{tile:?} {kernel:?} {rows}x{cols}x{c}->{n}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn agrees_with_the_direct_gemm_to_float_rounding() {
        // A layer of the descriptor's size: the relative error the
        // transform adds over the direct method's own rounding.
        let (c, n) = (64, 64);
        let shape = Shape {
            rows: 17,
            cols: 17,
            channels: c,
        };
        let input: Vec<f32> = (0..shape.len())
            .map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * 2.0)
            .collect();
        let (filters, biases, gamma, beta) = spec_data(c, n);
        let spec = spec(c, n, &filters, &biases);
        let affine = Some((gamma.as_slice(), beta.as_slice()));
        let direct = PackedConv::new(&spec, affine, false);
        let out_shape = spec.output_shape(shape).expect("fits");
        let mut want = vec![0.0; out_shape.len()];
        direct.forward(
            Kernel::detect(),
            &input,
            shape,
            &mut want,
            out_shape,
            &mut Vec::new(),
        );
        let norm = want.iter().map(|v| v * v).sum::<f32>().sqrt();
        for tile in [Tile::Two, Tile::Four] {
            let conv = WinogradConv::new(&spec, affine, false, tile).expect("3x3 stride 1");
            let mut got = vec![0.0; out_shape.len()];
            conv.forward(
                Kernel::detect(),
                &input,
                shape,
                &mut got,
                &mut WinogradScratch::default(),
            );
            let error = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w) * (g - w))
                .sum::<f32>()
                .sqrt();
            assert!(
                error / norm < 2e-6,
                "{tile:?}: relative error {}",
                error / norm
            );
        }
    }

    #[test]
    fn tile_choice_keeps_sixteen_blocks() {
        assert_eq!(Tile::for_output(35, 35), Some(Tile::Four));
        assert_eq!(Tile::for_output(17, 17), Some(Tile::Four));
        assert_eq!(Tile::for_output(8, 8), Some(Tile::Two));
        assert_eq!(Tile::for_output(4, 4), None);
    }

    #[test]
    fn refuses_other_geometries() {
        let (filters, biases, _, _) = spec_data(2, 2);
        let mut strided = spec(2, 2, &filters, &biases);
        strided.stride_x = 2;
        assert!(WinogradConv::new(&strided, None, false, Tile::Four).is_none());
    }
}
