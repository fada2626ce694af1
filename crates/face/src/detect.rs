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
use crate::nn::gemm::Kernel;
use crate::pyramid::{self, PlanarImage, rect_down_2, rect_down_6, rect_up_6};

mod correlate;
mod filter_bank;

use filter_bank::FilterBank;

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
    /// The instruction set the filters run on, chosen once.
    kernel: Kernel,
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
            .map(|f| FilterBank::new(&f.planes, model.filter_rows, model.filter_cols, f.threshold))
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
            kernel: Kernel::detect(),
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
            match pyramid::pyramid_up(self.kernel, &scaled) {
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
                    current = Some(pyramid::pyramid_down_6(
                        self.kernel,
                        current.as_ref().unwrap_or(image),
                    ));
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
                        self.kernel,
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
            d.kernel,
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
            let area = bank.apply(
                d.kernel,
                &self.planes,
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

const _: () = assert!(FHOG_PLANES == fhog::PLANES);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_matches_face_recognition() {
        assert_eq!(
            clip_to_image(Rect::new(-3, -1, 260, 120), 250, 250),
            Rect::new(0, 0, 250, 120)
        );
    }
}
