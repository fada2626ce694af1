//! dlib's HOG frontal face detector (`get_frontal_face_detector()`), as the
//! reference runs it through `face_recognition.face_locations(model="hog")`:
//! optional 2x upsampling, a 5/6-scale image pyramid, fHOG features per
//! level, every detector's linear filter (as dlib applies it: the sum of
//! separable rank-1 filters from a truncated SVD of each filter plane),
//! threshold, non-maximum suppression, and boxes mapped back.

use limen_dlib_format::FormatError;
use limen_dlib_format::fhog_detector::{FHOG_PLANES, FhogDetectorModel, OverlapTester};
use thiserror::Error;

use crate::fhog::{self, FhogPlanes, FhogScratch};
use crate::geometry::Rect;
use crate::image::RgbImage;
use crate::pyramid::{self, rect_down_2, rect_down_6, rect_up_6};

#[derive(Debug, Error, PartialEq)]
pub enum DetectError {
    #[error("detector model: {0}")]
    Format(#[from] FormatError),
    #[error("unsupported detector setting: {0}")]
    Unsupported(&'static str),
}

/// One face: dlib's box (inclusive bounds, may extend past the image; see
/// [`clip_to_image`]) and its detection score (window score minus the
/// detector's threshold, so at least 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub rect: Rect,
    pub score: f64,
}

/// Clamps a box to the image as `face_recognition` does
/// (`_trim_css_to_bounds`): left/top at least 0, right/bottom at most the
/// image width/height (one past the last pixel, as the reference does).
pub fn clip_to_image(rect: Rect, width: usize, height: usize) -> Rect {
    Rect::new(
        rect.left.max(0),
        rect.top.max(0),
        rect.right.min(width as i64),
        rect.bottom.min(height as i64),
    )
}

/// A rank-1 piece of one filter plane: `col * row^T`.
#[derive(Debug, Clone)]
struct SeparableTerm {
    plane: usize,
    /// Applied along each row (length: filter columns).
    row: Vec<f32>,
    /// Applied along each column (length: filter rows).
    col: Vec<f32>,
}

#[derive(Debug, Clone)]
struct FilterBank {
    terms: Vec<SeparableTerm>,
    threshold: f64,
}

/// The detector, ready to run; immutable, so one instance serves any number
/// of threads.
#[derive(Debug, Clone)]
pub struct HogFaceDetector {
    cell_size: usize,
    padding: usize,
    filter_rows: usize,
    filter_cols: usize,
    max_pyramid_levels: usize,
    min_layer_width: i64,
    min_layer_height: i64,
    overlap: OverlapTester,
    banks: Vec<FilterBank>,
}

impl HogFaceDetector {
    /// Loads `dlib_frontal_face_detector_hog.svm` (or any saved
    /// `object_detector<scan_fhog_pyramid<pyramid_down<6>>>`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DetectError> {
        Self::from_model(&FhogDetectorModel::parse(bytes)?)
    }

    pub fn from_model(model: &FhogDetectorModel) -> Result<Self, DetectError> {
        let s = &model.scanner;
        if s.cell_size < 2 || s.cell_size > 64 {
            return Err(DetectError::Unsupported("cell size (2..=64 supported)"));
        }
        if 2 * s.padding >= model.filter_rows.min(model.filter_cols) {
            return Err(DetectError::Unsupported("padding larger than the filter"));
        }
        let banks = model
            .filters
            .iter()
            .map(|f| FilterBank {
                terms: f
                    .planes
                    .iter()
                    .enumerate()
                    .flat_map(|(p, w)| separable_terms(p, w, model.filter_rows, model.filter_cols))
                    .collect(),
                threshold: f.threshold,
            })
            .collect();
        Ok(HogFaceDetector {
            cell_size: s.cell_size,
            padding: s.padding,
            filter_rows: model.filter_rows,
            filter_cols: model.filter_cols,
            max_pyramid_levels: s.max_pyramid_levels.max(1),
            min_layer_width: s.min_pyramid_layer_width as i64,
            min_layer_height: s.min_pyramid_layer_height as i64,
            overlap: model.overlap,
            banks,
        })
    }

    /// Faces in `image`, best first, as dlib's `detector(img, upsample)`:
    /// the image is upsampled `upsample` times by `pyramid_up` first (and
    /// the boxes mapped back), so faces down to about 80/2^upsample pixels
    /// are found. Upsampling stops early rather than exceed
    /// [`pyramid::MAX_UPSAMPLED_PIXELS`]. Boxes are not clipped to the image.
    pub fn detect(&self, image: &RgbImage, upsample: u32) -> Vec<Detection> {
        let mut upsampled = None;
        let mut levels_up = 0;
        for _ in 0..upsample {
            let source = upsampled.as_ref().unwrap_or(image);
            match pyramid::pyramid_up(source) {
                Some(up) => {
                    upsampled = Some(up);
                    levels_up += 1;
                }
                None => break,
            }
        }
        let mut dets = self.detect_at_scale(upsampled.as_ref().unwrap_or(image));
        for d in &mut dets {
            d.rect = rect_down_2(d.rect, levels_up);
        }
        dets
    }

    /// dlib's `object_detector::operator()` on one image.
    fn detect_at_scale(&self, image: &RgbImage) -> Vec<Detection> {
        let (w, h) = (image.width() as i64, image.height() as i64);
        if w == 0 || h == 0 {
            return Vec::new();
        }
        // Pyramid depth from repeatedly mapped boxes, as scan_fhog_pyramid::load.
        let mut levels = 0;
        let mut rect = Rect::new(0, 0, w - 1, h - 1);
        loop {
            rect = rect_down_6(rect);
            levels += 1;
            if !(rect.width() >= self.min_layer_width
                && rect.height() >= self.min_layer_height
                && levels < self.max_pyramid_levels)
            {
                break;
            }
        }

        let mut candidates: Vec<(f64, usize, Rect)> = Vec::new();
        let mut scratch = FhogScratch::default();
        let mut planes = FhogPlanes::default();
        let mut filter_scratch = Vec::new();
        let mut saliency = Vec::new();
        let mut level_image: Option<RgbImage> = None;
        for level in 0..levels {
            if level > 0 {
                let prev = level_image.as_ref().unwrap_or(image);
                match pyramid::pyramid_down_6(prev) {
                    Some(next) => level_image = Some(next),
                    None => break,
                }
            }
            let current = level_image.as_ref().unwrap_or(image);
            fhog::extract(
                current,
                self.cell_size,
                self.filter_rows,
                self.filter_cols,
                &mut scratch,
                &mut planes,
            );
            if planes.rows < self.filter_rows || planes.cols < self.filter_cols {
                continue;
            }
            for (index, bank) in self.banks.iter().enumerate() {
                let area = apply_bank(
                    &planes,
                    bank,
                    self.filter_rows,
                    self.filter_cols,
                    &mut filter_scratch,
                    &mut saliency,
                );
                for r in area.top..=area.bottom {
                    for c in area.left..=area.right {
                        let score = f64::from(saliency[r as usize * planes.cols + c as usize]);
                        if score >= bank.threshold {
                            let rect = rect_up_6(self.window_to_image(c, r), level);
                            candidates.push((score - bank.threshold, index, rect));
                        }
                    }
                }
            }
        }

        // Best first (by score, then detector order as dlib's per-detector
        // lists are concatenated), then greedy non-maximum suppression.
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut kept: Vec<Detection> = Vec::new();
        for (score, _, rect) in candidates {
            if kept.iter().all(|k| !self.boxes_clash(&k.rect, &rect)) {
                kept.push(Detection { rect, score });
            }
        }
        kept
    }

    /// The image box of the detection window centred on HOG cell (c, r)
    /// of a padded feature plane (dlib's `fhog_to_image` of `centered_rect`).
    fn window_to_image(&self, c: i64, r: i64) -> Rect {
        let w = (self.filter_cols - 2 * self.padding) as i64;
        let h = (self.filter_rows - 2 * self.padding) as i64;
        let left = c - w / 2;
        let top = r - h / 2;
        let cell = self.cell_size as i64;
        let col_off = (self.filter_cols as i64 - 1) / 2;
        let row_off = (self.filter_rows as i64 - 1) / 2;
        let to_image = |p: i64, off: i64| {
            let q = (p + 1 - off) * cell + 1;
            if q >= 0 { q + cell / 2 } else { q - cell / 2 }
        };
        Rect::new(
            to_image(left, col_off),
            to_image(top, row_off),
            to_image(left + w - 1, col_off),
            to_image(top + h - 1, row_off),
        )
    }

    /// dlib's `test_box_overlap`.
    fn boxes_clash(&self, a: &Rect, b: &Rect) -> bool {
        let inner = a.intersect(b).area() as f64;
        if inner == 0.0 {
            return false;
        }
        let bounding = Rect::new(
            a.left.min(b.left),
            a.top.min(b.top),
            a.right.max(b.right),
            a.bottom.max(b.bottom),
        );
        inner / bounding.area() as f64 > self.overlap.match_thresh
            || inner / a.area() as f64 > self.overlap.overlap_thresh
            || inner / b.area() as f64 > self.overlap.overlap_thresh
    }
}

/// Inclusive bounds of the saliency positions where the filter fits.
struct Area {
    left: i64,
    top: i64,
    right: i64,
    bottom: i64,
}

/// Scores every window position of one pyramid level with one filter bank
/// (dlib's `float_spatially_filter_image_separable`, summed over terms).
fn apply_bank(
    planes: &FhogPlanes,
    bank: &FilterBank,
    filter_rows: usize,
    filter_cols: usize,
    scratch: &mut Vec<f32>,
    saliency: &mut Vec<f32>,
) -> Area {
    let (rows, cols) = (planes.rows, planes.cols);
    let first_row = filter_rows / 2;
    let first_col = filter_cols / 2;
    let last_row = rows - (filter_rows - 1) / 2;
    let last_col = cols - (filter_cols - 1) / 2;
    let width = last_col - first_col;
    saliency.clear();
    saliency.resize(rows * cols, 0.0);
    scratch.clear();
    scratch.resize(rows * cols, 0.0);
    let mut acc = vec![0f32; width];
    for term in &bank.terms {
        let input = planes.plane(term.plane);
        // Row filter: scratch[r][c] = sum_n input[r][c - first_col + n] * row[n].
        for r in 0..rows {
            let out = &mut scratch[r * cols + first_col..r * cols + last_col];
            out.fill(0.0);
            for (n, &f) in term.row.iter().enumerate() {
                let src = &input[r * cols + n..r * cols + n + width];
                for (o, &s) in out.iter_mut().zip(src) {
                    *o += s * f;
                }
            }
        }
        // Column filter, added to the saliency.
        for r in first_row..last_row {
            acc.fill(0.0);
            for (m, &f) in term.col.iter().enumerate() {
                let start = (r - first_row + m) * cols + first_col;
                let src = &scratch[start..start + width];
                for (a, &s) in acc.iter_mut().zip(src) {
                    *a += s * f;
                }
            }
            let out = &mut saliency[r * cols + first_col..r * cols + last_col];
            for (o, &a) in out.iter_mut().zip(&acc) {
                *o += a;
            }
        }
    }
    Area {
        left: first_col as i64,
        top: first_row as i64,
        right: last_col as i64 - 1,
        bottom: last_row as i64 - 1,
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

const _: () = assert!(FHOG_PLANES == fhog::PLANES);

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

    #[test]
    fn clipping_matches_face_recognition() {
        assert_eq!(
            clip_to_image(Rect::new(-3, -1, 260, 120), 250, 250),
            Rect::new(0, 0, 250, 120)
        );
    }
}
