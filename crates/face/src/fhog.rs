//! Felzenszwalb's 31-dimensional HOG features ("fHOG"), computed exactly as
//! dlib's `extract_fhog_features` does for RGB images: per pixel the colour
//! channel with the strongest gradient, snapped to one of 18 signed
//! orientations, voted bilinearly into 8x8 cells, each cell normalised by
//! its four 2x2 blocks and truncated at 0.2; then 18 signed + 9 unsigned
//! orientation features and 4 texture (gradient energy) features.
//!
//! dlib processes most pixels eight at a time and the last few of a row one
//! at a time, and the two paths differ in tie-breaking and rounding order;
//! both are reproduced so that the features match dlib's to the bit.

use crate::nn::gemm::Kernel;
use crate::pyramid::PlanarImage;

/// Number of feature planes.
pub const PLANES: usize = 31;

// Unit vectors of the nine unsigned orientation bins (20 degrees apart),
// with dlib's 4-digit values.
const DIRECTIONS: [(f32, f32); 9] = [
    (1.0000, 0.0000),
    (0.9397, 0.3420),
    (0.7660, 0.6428),
    (0.5000, 0.8660),
    (0.1736, 0.9848),
    (-0.1736, 0.9848),
    (-0.5000, 0.8660),
    (-0.7660, 0.6428),
    (-0.9397, 0.3420),
];

const SIGNED_BINS: usize = 18;

/// Filter outputs are computed in blocks of this many columns.
pub const COLUMN_BLOCK: usize = 16;

/// The 31 feature planes of one image, each `rows x cols`, row-major with
/// `stride` floats a row, one after the other. The planes carry a zero
/// border sized for a `filter_rows x filter_cols` filter, so that every
/// window position that overlaps the image can be scored; rows are padded
/// with zeros so that `stride - filter_cols + 1` is a multiple of
/// `COLUMN_BLOCK`.
#[derive(Debug, Default)]
pub struct FhogPlanes {
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
    pub data: Vec<f32>,
}

impl FhogPlanes {
    pub fn plane(&self, p: usize) -> &[f32] {
        let n = self.rows * self.stride;
        &self.data[p * n..(p + 1) * n]
    }
}

/// Reused working memory of the feature extraction.
#[derive(Debug, Default)]
pub struct FhogScratch {
    hist: Vec<f32>,
    norm: Vec<f32>,
}

/// Computes the features of `image` into `out` (`cell_size >= 2`), on
/// the instruction set `kernel` names.
pub fn extract(
    kernel: Kernel,
    image: &PlanarImage,
    cell_size: usize,
    filter_rows: usize,
    filter_cols: usize,
    scratch: &mut FhogScratch,
    out: &mut FhogPlanes,
) {
    let (nr, nc) = (image.height(), image.width());
    let cells_nr = (nr as f32 / cell_size as f32 + 0.5) as usize;
    let cells_nc = (nc as f32 / cell_size as f32 + 0.5) as usize;
    let hog_nr = cells_nr.saturating_sub(2);
    let hog_nc = cells_nc.saturating_sub(2);
    if hog_nr == 0 || hog_nc == 0 {
        out.data.clear();
        out.rows = 0;
        out.cols = 0;
        out.stride = 0;
        return;
    }
    out.rows = hog_nr + filter_rows - 1;
    out.cols = hog_nc + filter_cols - 1;
    out.stride =
        (out.cols - (filter_cols - 1)).div_ceil(COLUMN_BLOCK) * COLUMN_BLOCK + filter_cols - 1;
    let row_offset = (filter_rows - 1) / 2;
    let col_offset = (filter_cols - 1) / 2;
    clear_border(out, row_offset, col_offset, hog_nr, hog_nc);

    // Histograms get a one-cell margin all round so votes need no bounds checks.
    let hist_cols = cells_nc + 2;
    scratch.hist.clear();
    scratch
        .hist
        .resize((cells_nr + 2) * hist_cols * SIGNED_BINS, 0.0);
    vote_gradients(
        kernel,
        image,
        cell_size,
        cells_nr,
        cells_nc,
        &mut scratch.hist,
    );

    // Every value is written below.
    scratch.norm.resize(cells_nr * cells_nc, 0.0);
    for r in 0..cells_nr {
        for c in 0..cells_nc {
            let h = &scratch.hist[((r + 1) * hist_cols + c + 1) * SIGNED_BINS..][..SIGNED_BINS];
            let mut energy = 0f32;
            for o in 0..9 {
                let s = h[o] + h[o + 9];
                energy += s * s;
            }
            scratch.norm[r * cells_nc + c] = energy;
        }
    }

    let plane_len = out.rows * out.stride;
    let norm = &scratch.norm;
    let n_at = |r: usize, c: usize| norm[r * cells_nc + c];
    let eps = 0.0001f32;
    for y in 0..hog_nr {
        for x in 0..hog_nc {
            // The four 2x2 blocks containing cell (y+1, x+1), as dlib's four lanes.
            let lanes = [
                ((n_at(y + 1, x + 1) + n_at(y + 1, x + 2)) + n_at(y + 2, x + 1))
                    + n_at(y + 2, x + 2),
                ((n_at(y, x + 1) + n_at(y, x + 2)) + n_at(y + 1, x + 1)) + n_at(y + 1, x + 2),
                ((n_at(y + 1, x) + n_at(y + 1, x + 1)) + n_at(y + 2, x)) + n_at(y + 2, x + 1),
                ((n_at(y, x) + n_at(y, x + 1)) + n_at(y + 1, x)) + n_at(y + 1, x + 1),
            ];
            let mut nn = [0f32; 4];
            let mut n = [0f32; 4];
            for k in 0..4 {
                nn[k] = 0.2f32 * (lanes[k] + eps).sqrt();
                n[k] = 0.1f32 / nn[k];
            }
            // min(v, nn) * n == min(v / norm, 0.2), summed over the 4 blocks.
            let clip = |v: f32| -> [f32; 4] {
                let mut h = [0f32; 4];
                for k in 0..4 {
                    h[k] = v.min(nn[k]) * n[k];
                }
                h
            };
            let lane_sum = |h: [f32; 4]| (h[0] + h[1]) + (h[2] + h[3]);
            let h = &scratch.hist[((y + 2) * hist_cols + x + 2) * SIGNED_BINS..][..SIGNED_BINS];
            let at = (y + row_offset) * out.stride + x + col_offset;
            let mut texture = [0f32; 4];
            for o in (0..SIGNED_BINS).step_by(3) {
                let h0 = clip(h[o]);
                let h1 = clip(h[o + 1]);
                let h2 = clip(h[o + 2]);
                out.data[o * plane_len + at] = lane_sum(h0);
                out.data[(o + 1) * plane_len + at] = lane_sum(h1);
                out.data[(o + 2) * plane_len + at] = lane_sum(h2);
                for k in 0..4 {
                    texture[k] += (h0[k] + h1[k]) + h2[k];
                }
            }
            for o in 0..9 {
                out.data[(SIGNED_BINS + o) * plane_len + at] = lane_sum(clip(h[o] + h[o + 9]));
            }
            let scale = (2.0 * 0.2357) as f32;
            for (k, t) in texture.iter().enumerate() {
                out.data[(27 + k) * plane_len + at] = t * scale;
            }
        }
    }
}

/// Sizes `out.data` for its planes and zeroes each plane's border: the
/// values outside the `hog_nr x hog_nc` cells placed at (`row_offset`,
/// `col_offset`), which the features then fill.
fn clear_border(
    out: &mut FhogPlanes,
    row_offset: usize,
    col_offset: usize,
    hog_nr: usize,
    hog_nc: usize,
) {
    let stride = out.stride;
    out.data.resize(PLANES * out.rows * stride, 0.0);
    for plane in out.data.chunks_exact_mut(out.rows * stride) {
        let (top, rest) = plane.split_at_mut(row_offset * stride);
        let (cells, bottom) = rest.split_at_mut(hog_nr * stride);
        top.fill(0.0);
        bottom.fill(0.0);
        for row in cells.chunks_exact_mut(stride) {
            row[..col_offset].fill(0.0);
            row[col_offset + hog_nc..].fill(0.0);
        }
    }
}

/// Accumulates every pixel's gradient magnitude into the orientation
/// histograms of the four nearest cells. Work is done a row at a time in
/// simple loops the compiler vectorises (with AVX-512 or AVX2 where the
/// CPU has it: the arithmetic per pixel is the same either way, lane by
/// lane); only the histogram votes are added one pixel at a time, in
/// dlib's order, so every bin sums the same values in the same order.
fn vote_gradients(
    kernel: Kernel,
    image: &PlanarImage,
    cell_size: usize,
    cells_nr: usize,
    cells_nc: usize,
    hist: &mut [f32],
) {
    match kernel {
        // SAFETY: the variant exists only when `Kernel::detect` found AVX-512F.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe {
            vote_gradients_avx512(image, cell_size, cells_nr, cells_nc, hist)
        },
        // SAFETY: the variant exists only when `Kernel::detect` found AVX2.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe {
            vote_gradients_avx2(image, cell_size, cells_nr, cells_nc, hist)
        },
        Kernel::Portable => vote_gradients_portable(image, cell_size, cells_nr, cells_nc, hist),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn vote_gradients_avx512(
    image: &PlanarImage,
    cell_size: usize,
    cells_nr: usize,
    cells_nc: usize,
    hist: &mut [f32],
) {
    vote_gradients_portable(image, cell_size, cells_nr, cells_nc, hist);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn vote_gradients_avx2(
    image: &PlanarImage,
    cell_size: usize,
    cells_nr: usize,
    cells_nc: usize,
    hist: &mut [f32],
) {
    vote_gradients_portable(image, cell_size, cells_nr, cells_nc, hist);
}

#[inline(always)]
fn vote_gradients_portable(
    image: &PlanarImage,
    cell_size: usize,
    cells_nr: usize,
    cells_nc: usize,
    hist: &mut [f32],
) {
    let (nr, nc) = (image.height(), image.width());
    let hist_cols = cells_nc + 2;
    let cell = cell_size as f32;
    let visible_nr = (cells_nr * cell_size).min(nr) as isize - 1;
    let visible_nc = (cells_nc * cell_size).min(nc) as isize - 1;
    if visible_nr < 2 || visible_nc < 2 {
        return;
    }
    let (visible_nr, visible_nc) = (visible_nr as usize, visible_nc as usize);
    // dlib handles x in blocks of 8 while x + 7 < visible_nc, then singly.
    let blocks_end = if visible_nc > 8 {
        1 + (visible_nc - 1) / 8 * 8
    } else {
        1
    };
    let n = visible_nc - 1;
    // Pixels x = 1..blocks_end take dlib's vector path, the rest its scalar one.
    let split = blocks_end - 1;
    // Per column: the left cell of the vote (as its first histogram value)
    // and the two horizontal weights, computed as each of dlib's paths does.
    let mut first_bin = vec![0u32; n];
    let mut wx1 = vec![0f32; n];
    let mut wx0 = vec![0f32; n];
    for (i, x) in (1..visible_nc).enumerate() {
        let (left, w1, w0) = if i < split {
            let xp = (x as f32 + 0.5) / cell + 0.5;
            let ixp = xp as i32;
            let vx0 = xp - ixp as f32;
            (ixp as usize, 1.0 - vx0, vx0)
        } else {
            let xp = ((x as f64 + 0.5) / cell as f64 - 0.5) as f32;
            let ixp = xp.floor();
            let vx0 = xp - ixp;
            ((ixp as isize + 1) as usize, (1.0 - vx0 as f64) as f32, vx0)
        };
        first_bin[i] = (left * SIGNED_BINS) as u32;
        wx1[i] = w1;
        wx0[i] = w0;
    }

    let planes = [image.plane(0), image.plane(1), image.plane(2)];
    let mut gx = vec![0f32; n];
    let mut gy = vec![0f32; n];
    let mut mag = vec![0f32; n];
    let mut bin = vec![0u32; n];
    let mut votes: [Vec<f32>; 4] = std::array::from_fn(|_| vec![0f32; n]);
    for y in 1..visible_nr {
        let yp = (((y as f32) as f64 + 0.5) / cell as f64 - 0.5) as f32;
        let iyp = yp.floor();
        let vy0 = yp - iyp;
        let vy1 = (1.0 - vy0 as f64) as f32;
        let row0 = ((iyp as isize + 1) as usize) * hist_cols * SIGNED_BINS;
        let row1 = row0 + hist_cols * SIGNED_BINS;

        strongest_gradients(&planes, nc, y, blocks_end, &mut gx, &mut gy, &mut mag);
        snap_orientations(&gx, &gy, &first_bin, &mut bin);
        // The four votes of each pixel, with each path's order of products.
        let [w00, w10, w01, w11] = &mut votes;
        for i in 0..split {
            let (p1, p0) = (wx1[i] * mag[i], wx0[i] * mag[i]);
            w00[i] = vy1 * p1;
            w10[i] = vy0 * p1;
            w01[i] = vy1 * p0;
            w11[i] = vy0 * p0;
        }
        for i in split..n {
            w00[i] = vy1 * wx1[i] * mag[i];
            w10[i] = vy0 * wx1[i] * mag[i];
            w01[i] = vy1 * wx0[i] * mag[i];
            w11[i] = vy0 * wx0[i] * mag[i];
        }
        let (top, bottom) = hist.split_at_mut(row1);
        let (top, bottom) = (&mut top[row0..], &mut bottom[..row1 - row0]);
        for i in 0..n {
            let at = bin[i] as usize;
            top[at] += w00[i];
            bottom[at] += w10[i];
            top[at + SIGNED_BINS] += w01[i];
            bottom[at + SIGNED_BINS] += w11[i];
        }
    }
}

/// For pixels x = 1.. of row y: the central-difference gradient of the
/// colour channel with the largest squared magnitude, and that magnitude.
/// dlib's vector path (x < `blocks_end`) prefers the later channel on
/// ties, its scalar path the earlier one.
#[inline(always)]
fn strongest_gradients(
    planes: &[&[u8]; 3],
    width: usize,
    y: usize,
    blocks_end: usize,
    gx: &mut [f32],
    gy: &mut [f32],
    mag: &mut [f32],
) {
    let n = gx.len();
    let grad = |ch: usize| {
        let p = planes[ch];
        let here = &p[y * width..][..n + 2];
        let above = &p[(y - 1) * width + 1..][..n];
        let below = &p[(y + 1) * width + 1..][..n];
        (here, above, below)
    };
    let (rh, ra, rb) = grad(0);
    let (gh, ga, gb) = grad(1);
    let (bh, ba, bb) = grad(2);
    for i in 0..n {
        let rx = i32::from(rh[i + 2]) - i32::from(rh[i]);
        let ry = i32::from(rb[i]) - i32::from(ra[i]);
        let gxx = i32::from(gh[i + 2]) - i32::from(gh[i]);
        let gyy = i32::from(gb[i]) - i32::from(ga[i]);
        let bx = i32::from(bh[i + 2]) - i32::from(bh[i]);
        let by = i32::from(bb[i]) - i32::from(ba[i]);
        let (rl, gl, bl) = (rx * rx + ry * ry, gxx * gxx + gyy * gyy, bx * bx + by * by);
        let vector_path = i + 1 < blocks_end;
        let (mut x, mut yy, mut l) = if vector_path {
            if rl > gl {
                (rx, ry, rl)
            } else {
                (gxx, gyy, gl)
            }
        } else if gl > rl {
            (gxx, gyy, gl)
        } else {
            (rx, ry, rl)
        };
        let take_blue = if vector_path { l <= bl } else { bl > l };
        if take_blue {
            (x, yy, l) = (bx, by, bl);
        }
        gx[i] = x as f32;
        gy[i] = yy as f32;
        mag[i] = (l as f32).sqrt();
    }
}

/// The nearest of 18 signed orientations of each gradient (0 for none),
/// with dlib's order of comparisons, added to `first_bin`.
#[inline(always)]
fn snap_orientations(gx: &[f32], gy: &[f32], first_bin: &[u32], bin: &mut [u32]) {
    for (((&x, &y), &first), bin) in gx.iter().zip(gy).zip(first_bin).zip(bin.iter_mut()) {
        let (mut best, mut best_o) = (0f32, 0u32);
        for (o, &(dx, dy)) in DIRECTIONS.iter().enumerate() {
            let o = o as u32;
            // Branch-free so that it vectorises: a positive dot beats the
            // best so far, else its negation may.
            let dot = x * dx + y * dy;
            let up = dot > best;
            let b1 = if up { dot } else { best };
            let o1 = if up { o } else { best_o };
            let down = -dot > b1;
            best = if down { -dot } else { b1 };
            best_o = if down { o + 9 } else { o1 };
        }
        *bin = first + best_o;
    }
}
