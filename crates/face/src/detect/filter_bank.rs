//! A detector's linear filter as dlib applies it: the sum of separable
//! rank-1 filters from a truncated SVD of each filter plane, run over every
//! window position of one pyramid level's feature planes.

use super::correlate::Pass;
use crate::fhog::FhogPlanes;
use crate::nn::gemm::Kernel;

/// A rank-1 piece of one filter plane: `col * row^T`.
#[derive(Debug, Clone)]
struct SeparableTerm {
    plane: usize,
    /// Applied along each row (length: filter columns).
    row: Vec<f32>,
    /// Applied along each column (length: filter rows).
    col: Vec<f32>,
}

/// One detector's filter and threshold.
#[derive(Debug, Clone)]
pub(super) struct FilterBank {
    terms: Vec<SeparableTerm>,
    pub threshold: f64,
}

/// Inclusive bounds of the saliency positions where the filter fits.
pub(super) struct Area {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
}

impl FilterBank {
    /// dlib's `build_fhog_filterbank`: `planes` holds each feature plane's
    /// `rows x cols` weights.
    pub fn new(planes: &[Vec<f64>], rows: usize, cols: usize, threshold: f64) -> Self {
        FilterBank {
            terms: planes
                .iter()
                .enumerate()
                .flat_map(|(p, w)| separable_terms(p, w, rows, cols))
                .collect(),
            threshold,
        }
    }

    /// Scores every window position of one pyramid level (dlib's
    /// `float_spatially_filter_image_separable`, summed over terms) into
    /// `saliency`, which takes the planes' layout; only the returned
    /// `Area` is meaningful. `scratch` is working memory.
    pub fn apply(
        &self,
        kernel: Kernel,
        planes: &FhogPlanes,
        filter_rows: usize,
        filter_cols: usize,
        scratch: &mut Vec<f32>,
        saliency: &mut Vec<f32>,
    ) -> Area {
        let (rows, cols, stride) = (planes.rows, planes.cols, planes.stride);
        let first_row = filter_rows / 2;
        let first_col = filter_cols / 2;
        let last_row = rows - (filter_rows - 1) / 2;
        let last_col = cols - (filter_cols - 1) / 2;
        // Outputs per row, rounded up to whole blocks (the planes are padded for it).
        let width = stride - (filter_cols - 1);
        // Rows outside the image's cells are zero padding: their row-filter
        // output is zero, so it is not computed, only cleared here once.
        // Every other value either buffer is read for is written first.
        let data_rows = (filter_rows - 1) / 2..rows - filter_rows / 2;
        scratch.resize(rows * stride, 0.0);
        scratch[..data_rows.start * stride].fill(0.0);
        scratch[data_rows.end * stride..].fill(0.0);
        saliency.resize(rows * stride, 0.0);
        if self.terms.is_empty() {
            saliency.fill(0.0);
        }
        for (t, term) in self.terms.iter().enumerate() {
            let input = planes.plane(term.plane);
            // Row filter: scratch[r][c] = sum_n input[r][c - first_col + n] * row[n].
            let at = data_rows.start * stride;
            Pass {
                src: &input[at..],
                tap_step: 1,
                taps: &term.row,
                stride,
                rows: data_rows.len(),
                width,
                add: false,
            }
            .run(kernel, &mut scratch[at + first_col..]);
            // Column filter, into the saliency (the first term sets it).
            Pass {
                src: &scratch[first_col..],
                tap_step: stride,
                taps: &term.col,
                stride,
                rows: last_row - first_row,
                width,
                add: t > 0,
            }
            .run(kernel, &mut saliency[first_row * stride + first_col..]);
        }
        Area {
            left: first_col as i64,
            top: first_row as i64,
            right: last_col as i64 - 1,
            bottom: last_row as i64 - 1,
        }
    }
}

/// dlib's `build_fhog_filterbank` for one plane: the SVD of the
/// `rows x cols` weights, keeping singular values of at least
/// max(1e-3, 1% of the largest), each as `col = u sqrt(s)`, `row = v sqrt(s)`.
fn separable_terms(plane: usize, weights: &[f64], rows: usize, cols: usize) -> Vec<SeparableTerm> {
    let (u, s, v) = svd(weights, rows, cols);
    let largest = s.iter().copied().fold(0.0, f64::max);
    let threshold = (largest * 0.01).max(1e-3);
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    order
        .into_iter()
        .filter(|&j| s[j] >= threshold)
        .map(|j| {
            let scale = s[j].sqrt();
            SeparableTerm {
                plane,
                row: (0..cols)
                    .map(|i| (v[i * cols + j] * scale) as f32)
                    .collect(),
                col: (0..rows)
                    .map(|i| (u[i * cols + j] * scale) as f32)
                    .collect(),
            }
        })
        .collect()
}

/// Thin SVD `a = u diag(s) v^T` of a row-major `rows x cols` matrix
/// (`rows >= cols` not required; columns of `u` for zero singular values
/// are left zero) by one-sided Jacobi rotations. Returns `u` (rows x cols),
/// `s` (cols) and `v` (cols x cols), row-major.
fn svd(a: &[f64], rows: usize, cols: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut u = a.to_vec();
    let mut v = vec![0.0; cols * cols];
    for i in 0..cols {
        v[i * cols + i] = 1.0;
    }
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..cols {
            for q in p + 1..cols {
                let (mut alpha, mut beta, mut gamma) = (0.0, 0.0, 0.0);
                for i in 0..rows {
                    let (x, y) = (u[i * cols + p], u[i * cols + q]);
                    alpha += x * x;
                    beta += y * y;
                    gamma += x * y;
                }
                if gamma.abs() <= 1e-15 * (alpha * beta).sqrt() || gamma == 0.0 {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for m in [&mut u, &mut v] {
                    let n = m.len() / cols;
                    for i in 0..n {
                        let (x, y) = (m[i * cols + p], m[i * cols + q]);
                        m[i * cols + p] = c * x - s * y;
                        m[i * cols + q] = s * x + c * y;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let mut s = vec![0.0; cols];
    for (j, sj) in s.iter_mut().enumerate() {
        let norm = (0..rows)
            .map(|i| u[i * cols + j].powi(2))
            .sum::<f64>()
            .sqrt();
        *sj = norm;
        for i in 0..rows {
            u[i * cols + j] = if norm > 0.0 {
                u[i * cols + j] / norm
            } else {
                0.0
            };
        }
    }
    (u, s, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svd_reconstructs_a_matrix() {
        let a: Vec<f64> = (0..12)
            .map(|i| ((i * 7) % 5) as f64 - 1.5 + i as f64 * 0.1)
            .collect();
        let (u, s, v) = svd(&a, 4, 3);
        for i in 0..4 {
            for j in 0..3 {
                let r: f64 = (0..3).map(|k| u[i * 3 + k] * s[k] * v[j * 3 + k]).sum();
                assert!((r - a[i * 3 + j]).abs() < 1e-12);
            }
        }
    }
}
