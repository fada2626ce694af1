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

use crate::image::RgbImage;

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

/// The 31 feature planes of one image, each `rows x cols`, row-major, one
/// after the other. The planes carry a zero border sized for a
/// `filter_rows x filter_cols` filter, so that every window position that
/// overlaps the image can be scored.
#[derive(Debug, Default)]
pub struct FhogPlanes {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl FhogPlanes {
    pub fn plane(&self, p: usize) -> &[f32] {
        let n = self.rows * self.cols;
        &self.data[p * n..(p + 1) * n]
    }
}

/// Reused working memory of the feature extraction.
#[derive(Debug, Default)]
pub struct FhogScratch {
    hist: Vec<f32>,
    norm: Vec<f32>,
}

/// Computes the features of `image` into `out` (`cell_size >= 2`).
pub fn extract(
    image: &RgbImage,
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
    out.data.clear();
    if hog_nr == 0 || hog_nc == 0 {
        out.rows = 0;
        out.cols = 0;
        return;
    }
    out.rows = hog_nr + filter_rows - 1;
    out.cols = hog_nc + filter_cols - 1;
    out.data.resize(PLANES * out.rows * out.cols, 0.0);

    // Histograms get a one-cell margin all round so votes need no bounds checks.
    let hist_cols = cells_nc + 2;
    scratch.hist.clear();
    scratch
        .hist
        .resize((cells_nr + 2) * hist_cols * SIGNED_BINS, 0.0);
    vote_gradients(image, cell_size, cells_nr, cells_nc, &mut scratch.hist);

    scratch.norm.clear();
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

    let row_offset = (filter_rows - 1) / 2;
    let col_offset = (filter_cols - 1) / 2;
    let plane_len = out.rows * out.cols;
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
            let at = (y + row_offset) * out.cols + x + col_offset;
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

/// Accumulates every pixel's gradient magnitude into the orientation
/// histograms of the four nearest cells.
fn vote_gradients(
    image: &RgbImage,
    cell_size: usize,
    cells_nr: usize,
    cells_nc: usize,
    hist: &mut [f32],
) {
    let (nr, nc) = (image.height(), image.width());
    let px = image.as_raw();
    let stride = nc * 3;
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
    for y in 1..visible_nr {
        let yp = (((y as f32) as f64 + 0.5) / cell as f64 - 0.5) as f32;
        let iyp = yp.floor();
        let vy0 = yp - iyp;
        let vy1 = (1.0 - vy0 as f64) as f32;
        let row0 = ((iyp as isize + 1) as usize) * hist_cols;
        let row1 = row0 + hist_cols;
        let above = &px[(y - 1) * stride..y * stride];
        let here = &px[y * stride..(y + 1) * stride];
        let below = &px[(y + 1) * stride..(y + 2) * stride];
        for x in 1..visible_nc {
            let vector_path = x < blocks_end;
            let (gx, gy, len) = strongest_gradient(above, here, below, x, vector_path);
            let v = (len as f32).sqrt();
            let (gx, gy) = (gx as f32, gy as f32);
            let mut best_dot = 0f32;
            let mut best_o = 0usize;
            for (o, &(dx, dy)) in DIRECTIONS.iter().enumerate() {
                let dot = gx * dx + gy * dy;
                if dot > best_dot {
                    best_dot = dot;
                    best_o = o;
                } else if -dot > best_dot {
                    best_dot = -dot;
                    best_o = o + 9;
                }
            }
            let (col, w00, w10, w01, w11);
            if vector_path {
                let xp = (x as f32 + 0.5) / cell + 0.5;
                let ixp = xp as i32;
                let vx0 = xp - ixp as f32;
                let vx1 = 1.0 - vx0;
                let (vx1, vx0) = (vx1 * v, vx0 * v);
                col = ixp as usize;
                w00 = vy1 * vx1;
                w10 = vy0 * vx1;
                w01 = vy1 * vx0;
                w11 = vy0 * vx0;
            } else {
                let xp = ((x as f64 + 0.5) / cell as f64 - 0.5) as f32;
                let ixp = xp.floor();
                let vx0 = xp - ixp;
                let vx1 = (1.0 - vx0 as f64) as f32;
                col = (ixp as isize + 1) as usize;
                w00 = vy1 * vx1 * v;
                w10 = vy0 * vx1 * v;
                w01 = vy1 * vx0 * v;
                w11 = vy0 * vx0 * v;
            }
            hist[(row0 + col) * SIGNED_BINS + best_o] += w00;
            hist[(row1 + col) * SIGNED_BINS + best_o] += w10;
            hist[(row0 + col + 1) * SIGNED_BINS + best_o] += w01;
            hist[(row1 + col + 1) * SIGNED_BINS + best_o] += w11;
        }
    }
}

/// The central-difference gradient of the colour channel with the largest
/// squared magnitude at column `x`. dlib's vector path prefers the later
/// channel on ties, its scalar path the earlier one.
#[inline]
fn strongest_gradient(
    above: &[u8],
    here: &[u8],
    below: &[u8],
    x: usize,
    vector_path: bool,
) -> (i32, i32, i32) {
    let grad = |ch: usize| {
        let gx = here[(x + 1) * 3 + ch] as i32 - here[(x - 1) * 3 + ch] as i32;
        let gy = below[x * 3 + ch] as i32 - above[x * 3 + ch] as i32;
        (gx, gy, gx * gx + gy * gy)
    };
    let (r, g, b) = (grad(0), grad(1), grad(2));
    if vector_path {
        let t = if r.2 > g.2 { r } else { g };
        if t.2 > b.2 { t } else { b }
    } else {
        let mut best = r;
        if g.2 > best.2 {
            best = g;
        }
        if b.2 > best.2 {
            best = b;
        }
        best
    }
}
