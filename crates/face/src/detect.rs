//! dlib's HOG frontal face detector (`get_frontal_face_detector()`), as the
//! reference runs it through `face_recognition.face_locations(model="hog")`:
//! optional 2x upsampling, a 5/6-scale image pyramid, fHOG features per
//! level, every detector's linear filter (as dlib applies it: the sum of
//! separable rank-1 filters from a truncated SVD of each filter plane),
//! threshold, non-maximum suppression, and boxes mapped back.

use limen_dlib_format::FormatError;
use limen_dlib_format::fhog_detector::{FHOG_PLANES, FhogDetectorModel, OverlapTester};
use thiserror::Error;

use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, mpsc};

use crate::fhog::{self, FhogPlanes, FhogScratch};
use crate::geometry::Rect;
use crate::image::RgbImage;
use crate::pyramid::{self, PlanarImage, rect_down_2, rect_down_6, rect_up_6};

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
    /// Added to every filter's threshold, as dlib's `adjust_threshold`.
    adjust_threshold: f64,
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
            adjust_threshold: 0.0,
        })
    }

    /// The same detector accepting windows whose score is at least
    /// `adjust` above (or, when negative, below) each filter's threshold,
    /// as dlib's `run(img, upsample, adjust_threshold)`. Scores stay
    /// relative to the model's own threshold.
    pub fn with_adjusted_threshold(mut self, adjust: f64) -> Self {
        self.adjust_threshold = adjust;
        self
    }

    /// Faces in `image`, best first, as dlib's `detector(img, upsample)`:
    /// the image is upsampled `upsample` times by `pyramid_up` first (and
    /// the boxes mapped back), so faces down to about 80/2^upsample pixels
    /// are found. Upsampling stops early rather than make an image of more
    /// than 2^26 pixels. Boxes are not clipped to the image.
    /// Runs on the calling thread only.
    pub fn detect(&self, image: &RgbImage, upsample: u32) -> Vec<Detection> {
        self.detect_with_threads(image, upsample, 1)
    }

    /// As [`detect`](Self::detect), with the pyramid levels scanned by
    /// `threads` threads (the calling one included); the result is the same
    /// for any thread count.
    pub fn detect_with_threads(
        &self,
        image: &RgbImage,
        upsample: u32,
        threads: usize,
    ) -> Vec<Detection> {
        self.detect_widths(image, upsample, threads, 0..=i64::MAX)
    }

    /// As [`detect`](Self::detect), scanning only the pyramid levels whose
    /// detection window is `widths` wide in `image` (to within one level):
    /// faces of about a known size, for a fraction of the work.
    pub fn detect_sized(
        &self,
        image: &RgbImage,
        upsample: u32,
        widths: RangeInclusive<i64>,
    ) -> Vec<Detection> {
        self.detect_widths(image, upsample, 1, widths)
    }

    fn detect_widths(
        &self,
        image: &RgbImage,
        upsample: u32,
        threads: usize,
        widths: RangeInclusive<i64>,
    ) -> Vec<Detection> {
        let mut scaled = PlanarImage::from_rgb(image);
        let mut levels_up = 0;
        for _ in 0..upsample {
            match pyramid::pyramid_up(&scaled) {
                Some(up) => {
                    scaled = up;
                    levels_up += 1;
                }
                None => break,
            }
        }
        // The window at level L of the pyramid covers (6/5)^L of its size
        // in the scanned image, 2^-levels_up of that in `image`.
        let window = ((self.filter_cols - 2 * self.padding) * self.cell_size) as f64;
        let width_at =
            |level: usize| window * 1.2f64.powi(level as i32) / 2f64.powi(levels_up as i32);
        let wanted = |level: usize| {
            let w = width_at(level);
            w * 1.2 >= *widths.start() as f64 && w / 1.2 <= *widths.end() as f64
        };
        let mut dets = self.detect_at_scale(&scaled, threads, &wanted);
        for d in &mut dets {
            d.rect = rect_down_2(d.rect, levels_up);
        }
        dets
    }

    /// dlib's `object_detector::operator()` on one image, with the pyramid
    /// levels shared among `threads` threads.
    fn detect_at_scale(
        &self,
        image: &PlanarImage,
        threads: usize,
        wanted: &(dyn Fn(usize) -> bool + Sync),
    ) -> Vec<Detection> {
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

        let mut candidates = if threads <= 1 {
            let mut worker = LevelWorker::default();
            let mut current: Option<PlanarImage> = None;
            for level in 0..levels {
                if level > 0 {
                    current = Some(pyramid::pyramid_down_6(current.as_ref().unwrap_or(image)));
                }
                if wanted(level) {
                    worker.scan(self, current.as_ref().unwrap_or(image), level);
                }
            }
            worker.candidates
        } else {
            // This thread builds the pyramid, handing each level out as soon
            // as it exists, then scans level 0 (the input) and helps with
            // whatever is left.
            let (send, receive) = mpsc::channel::<(usize, Arc<PlanarImage>)>();
            let receive = Mutex::new(receive);
            let next_level = || receive.lock().ok().and_then(|r| r.recv().ok());
            std::thread::scope(|scope| {
                let helpers: Vec<_> = (1..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut worker = LevelWorker::default();
                            while let Some((level, img)) = next_level() {
                                if wanted(level) {
                                    worker.scan(self, &img, level);
                                }
                            }
                            worker.candidates
                        })
                    })
                    .collect();
                let mut previous: Option<Arc<PlanarImage>> = None;
                for level in 1..levels {
                    let next = Arc::new(pyramid::pyramid_down_6(
                        previous.as_deref().unwrap_or(image),
                    ));
                    // The next level is made from this one, so keep a handle.
                    previous = Some(Arc::clone(&next));
                    if send.send((level, next)).is_err() {
                        break;
                    }
                }
                drop(send);
                drop(previous);
                let mut worker = LevelWorker::default();
                if wanted(0) {
                    worker.scan(self, image, 0);
                }
                while let Some((level, img)) = next_level() {
                    if wanted(level) {
                        worker.scan(self, &img, level);
                    }
                }
                let mut all = worker.candidates;
                for helper in helpers {
                    // A helper can only fail by panicking, which scoped
                    // threads propagate anyway.
                    if let Ok(found) = helper.join() {
                        all.extend(found);
                    }
                }
                all
            })
        };

        // Best first (by score, then detector order as dlib's per-detector
        // lists are concatenated), then greedy non-maximum suppression.
        candidates.sort_by(|a, b| {
            b.score.total_cmp(&a.score).then(a.bank.cmp(&b.bank)).then(
                (a.rect.top, a.rect.left, a.rect.bottom, a.rect.right).cmp(&(
                    b.rect.top,
                    b.rect.left,
                    b.rect.bottom,
                    b.rect.right,
                )),
            )
        });
        let mut kept: Vec<Detection> = Vec::new();
        for c in candidates {
            if kept.iter().all(|k| !self.boxes_clash(&k.rect, &c.rect)) {
                kept.push(Detection {
                    rect: c.rect,
                    score: c.score,
                });
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

/// A window that passed a detector's threshold, before suppression.
struct Candidate {
    score: f64,
    bank: usize,
    rect: Rect,
}

/// Scans pyramid levels, reusing its buffers from level to level.
#[derive(Default)]
struct LevelWorker {
    scratch: FhogScratch,
    planes: FhogPlanes,
    filter_scratch: Vec<f32>,
    saliency: Vec<f32>,
    candidates: Vec<Candidate>,
}

impl LevelWorker {
    /// Adds every window of pyramid `level` (image `level_image`) that some
    /// detector accepts, boxes mapped to the scanned image.
    fn scan(&mut self, detector: &HogFaceDetector, level_image: &PlanarImage, level: usize) {
        let d = detector;
        fhog::extract(
            level_image,
            d.cell_size,
            d.filter_rows,
            d.filter_cols,
            &mut self.scratch,
            &mut self.planes,
        );
        if self.planes.rows < d.filter_rows || self.planes.cols < d.filter_cols {
            return;
        }
        for (index, bank) in d.banks.iter().enumerate() {
            let area = apply_bank(
                &self.planes,
                bank,
                d.filter_rows,
                d.filter_cols,
                &mut self.filter_scratch,
                &mut self.saliency,
            );
            for r in area.top..=area.bottom {
                for c in area.left..=area.right {
                    let score =
                        f64::from(self.saliency[r as usize * self.planes.stride + c as usize]);
                    if score >= bank.threshold + d.adjust_threshold {
                        self.candidates.push(Candidate {
                            score: score - bank.threshold,
                            bank: index,
                            rect: rect_up_6(d.window_to_image(c, r), level),
                        });
                    }
                }
            }
        }
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
/// The saliency has the planes' layout; only `Area` is meaningful.
fn apply_bank(
    planes: &FhogPlanes,
    bank: &FilterBank,
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
    saliency.clear();
    saliency.resize(rows * stride, 0.0);
    scratch.clear();
    scratch.resize(rows * stride, 0.0);
    // Rows outside the image's cells are zero padding: their row-filter
    // output stays zero, so it is not computed.
    let data_rows = (filter_rows - 1) / 2..rows - filter_rows / 2;
    for term in &bank.terms {
        let input = planes.plane(term.plane);
        // Row filter: scratch[r][c] = sum_n input[r][c - first_col + n] * row[n].
        let at = data_rows.start * stride;
        correlate(
            &input[at..],
            1,
            &term.row,
            &mut scratch[at + first_col..],
            stride,
            data_rows.len(),
            width,
            false,
        );
        // Column filter, added to the saliency.
        correlate(
            &scratch[first_col..],
            stride,
            &term.col,
            &mut saliency[first_row * stride + first_col..],
            stride,
            last_row - first_row,
            width,
            true,
        );
    }
    Area {
        left: first_col as i64,
        top: first_row as i64,
        right: last_col as i64 - 1,
        bottom: last_row as i64 - 1,
    }
}

/// A 1-D correlation over `rows` rows of `width` outputs (a multiple of
/// `COLUMN_BLOCK`), rows `stride` apart in both `src` and `out`:
/// `out[r][c] (+)= sum_k src[r][c + k * tap_step] * taps[k]`, along a row
/// (`tap_step` 1) or down a column (`tap_step` = `stride`). Every output
/// sums its taps in order; CPUs with FMA fuse each multiply-add (one
/// rounding instead of two), which moves scores by about 1e-7 relative,
/// far below any decision the detector makes.
#[allow(clippy::too_many_arguments)]
fn correlate(
    src: &[f32],
    tap_step: usize,
    taps: &[f32],
    out: &mut [f32],
    stride: usize,
    rows: usize,
    width: usize,
    add: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { correlate_fma(src, tap_step, taps, out, stride, rows, width, add) };
        return;
    }
    correlate_rows::<false>(src, tap_step, taps, out, stride, rows, width, add);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn correlate_fma(
    src: &[f32],
    tap_step: usize,
    taps: &[f32],
    out: &mut [f32],
    stride: usize,
    rows: usize,
    width: usize,
    add: bool,
) {
    correlate_rows::<true>(src, tap_step, taps, out, stride, rows, width, add);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn correlate_rows<const FMA: bool>(
    src: &[f32],
    tap_step: usize,
    taps: &[f32],
    out: &mut [f32],
    stride: usize,
    rows: usize,
    width: usize,
    add: bool,
) {
    // Four rows at a time keep eight independent accumulator vectors busy.
    let mut r = 0;
    while r + 4 <= rows {
        correlate_block::<FMA, 4>(
            &src[r * stride..],
            tap_step,
            taps,
            &mut out[r * stride..],
            stride,
            width,
            add,
        );
        r += 4;
    }
    while r < rows {
        correlate_block::<FMA, 1>(
            &src[r * stride..],
            tap_step,
            taps,
            &mut out[r * stride..],
            stride,
            width,
            add,
        );
        r += 1;
    }
}

#[inline(always)]
fn correlate_block<const FMA: bool, const ROWS: usize>(
    src: &[f32],
    tap_step: usize,
    taps: &[f32],
    out: &mut [f32],
    stride: usize,
    width: usize,
    add: bool,
) {
    const LANES: usize = crate::fhog::COLUMN_BLOCK;
    let madd = |acc: f32, v: f32, f: f32| if FMA { v.mul_add(f, acc) } else { acc + v * f };
    for c in (0..width).step_by(LANES) {
        let mut acc = [[0f32; LANES]; ROWS];
        for (k, &f) in taps.iter().enumerate() {
            for (row, a) in acc.iter_mut().enumerate() {
                let s = &src[row * stride + k * tap_step + c..][..LANES];
                for (a, &v) in a.iter_mut().zip(s) {
                    *a = madd(*a, v, f);
                }
            }
        }
        for (row, a) in acc.iter().enumerate() {
            let o = &mut out[row * stride + c..][..LANES];
            if add {
                for (o, a) in o.iter_mut().zip(a) {
                    *o += a;
                }
            } else {
                o.copy_from_slice(a);
            }
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
