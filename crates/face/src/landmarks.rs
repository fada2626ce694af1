//! dlib's `shape_predictor` (ensemble of regression trees) for the 5-point
//! face landmark model: for each cascade level, sample grey levels at pixels
//! placed relative to the current shape estimate, walk every tree on pixel
//! differences, and add the leaves' shape corrections.
//!
//! Points come out in dlib's order for this model — right eye outer corner,
//! right eye inner corner, left eye outer corner, left eye inner corner,
//! bottom of the nose ("right"/"left" of the person) — and rounded to whole
//! pixels, as dlib's `full_object_detection` stores them.

use limen_dlib_format::FormatError;
use limen_dlib_format::shape_predictor::ShapePredictorModel;
use thiserror::Error;

use crate::geometry::{Point, Rect};
use crate::image::RgbImage;

/// Number of landmarks this runtime returns.
pub const NUM_LANDMARKS: usize = 5;

#[derive(Debug, Error, PartialEq)]
pub enum LandmarkError {
    #[error("shape predictor model: {0}")]
    Format(#[from] FormatError),
    #[error("the model predicts {0} landmarks, not {NUM_LANDMARKS}")]
    WrongPartCount(usize),
    #[error("a cascade level samples more than 2^32 pixels")]
    TooManyPixels,
}

/// The landmark model, ready to run; immutable and shareable across threads.
///
/// The model format keeps every tree and every leaf in its own allocation;
/// walking 7,500 trees that way is a chain of cache misses per tree. Here
/// each cascade level is three flat arrays read front to back.
#[derive(Debug, Clone)]
pub struct ShapePredictor {
    initial_shape: Vec<f32>,
    levels: Vec<CascadeLevel>,
}

/// One cascade level: where its feature pixels are and its forest.
#[derive(Debug, Clone)]
struct CascadeLevel {
    /// Per feature pixel: the landmark it is anchored to and its offset
    /// from it in the unit box.
    pixels: Vec<(usize, [f32; 2])>,
    trees: Vec<TreeSpan>,
    /// Every tree's split nodes, breadth first, tree after tree.
    splits: Vec<Split>,
    /// Every tree's leaves, tree after tree, each `2 * NUM_LANDMARKS` values.
    leaves: Vec<f32>,
}

/// Where one tree's nodes are in its level's arrays.
#[derive(Debug, Clone, Copy)]
struct TreeSpan {
    first_split: usize,
    splits: usize,
    first_leaf: usize,
}

/// Go to the left child when `pixel[a] - pixel[b] > threshold`.
#[derive(Debug, Clone, Copy)]
struct Split {
    a: u32,
    b: u32,
    threshold: f32,
}

const COORDS: usize = 2 * NUM_LANDMARKS;

impl ShapePredictor {
    /// Loads `shape_predictor_5_face_landmarks.dat`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LandmarkError> {
        Self::from_model(ShapePredictorModel::parse(bytes)?)
    }

    pub fn from_model(model: ShapePredictorModel) -> Result<Self, LandmarkError> {
        if model.num_parts() != NUM_LANDMARKS {
            return Err(LandmarkError::WrongPartCount(model.num_parts()));
        }
        // The parser validated every index, so they fit the pixel count.
        let index = |i: usize| u32::try_from(i).map_err(|_| LandmarkError::TooManyPixels);
        let mut levels = Vec::with_capacity(model.forests.len());
        for ((forest, anchors), deltas) in model
            .forests
            .iter()
            .zip(&model.anchor_idx)
            .zip(&model.deltas)
        {
            let mut level = CascadeLevel {
                pixels: anchors
                    .iter()
                    .copied()
                    .zip(deltas.iter().copied())
                    .collect(),
                trees: Vec::with_capacity(forest.len()),
                splits: Vec::new(),
                leaves: Vec::new(),
            };
            for tree in forest {
                level.trees.push(TreeSpan {
                    first_split: level.splits.len(),
                    splits: tree.splits.len(),
                    first_leaf: level.leaves.len(),
                });
                for s in &tree.splits {
                    level.splits.push(Split {
                        a: index(s.idx1)?,
                        b: index(s.idx2)?,
                        threshold: s.threshold,
                    });
                }
                for leaf in &tree.leaves {
                    level.leaves.extend_from_slice(leaf);
                }
            }
            levels.push(level);
        }
        Ok(ShapePredictor {
            initial_shape: model.initial_shape,
            levels,
        })
    }

    /// The landmarks of the face in box `face` (any box; pixels outside the
    /// image read as black), exactly as dlib's `shape_predictor(img, rect)`.
    pub fn predict(&self, image: &RgbImage, face: Rect) -> [Point; NUM_LANDMARKS] {
        let initial: [f32; COORDS] = std::array::from_fn(|i| self.initial_shape[i]);
        let mut shape = initial;
        let to_image = UnitBoxToImage::new(face);
        let mut pixels: Vec<f32> = Vec::new();
        let mut leaf_starts: Vec<usize> = Vec::new();
        for level in &self.levels {
            let [m00, m01, m10, m11] = similarity(&initial, &shape);
            pixels.clear();
            pixels.extend(level.pixels.iter().map(|&(anchor, [dx, dy])| {
                let ux = (m00 * dx + m01 * dy) + shape[2 * anchor];
                let uy = (m10 * dx + m11 * dy) + shape[2 * anchor + 1];
                let (x, y) = to_image.map(ux, uy);
                intensity(image, round_half_up(x), round_half_up(y))
            }));
            // First every tree's leaf, asked for as soon as it is known, then
            // the sum: the leaves (megabytes in all, mostly outside the
            // caches) arrive while the next trees are walked, instead of one
            // wait at the end of each descent. No tree of a level reads the
            // shape, so the sum is the same, in the same order.
            leaf_starts.clear();
            leaf_starts.extend(level.trees.iter().map(|tree| {
                let splits = &level.splits[tree.first_split..][..tree.splits];
                // Branch-free descent: which way a face goes is unpredictable,
                // and without mispredictions the trees overlap in the CPU.
                let mut node = 0;
                while let Some(split) = splits.get(node) {
                    let diff = pixels[split.a as usize] - pixels[split.b as usize];
                    node = 2 * node + 2 - usize::from(diff > split.threshold);
                }
                let start = tree.first_leaf + (node - tree.splits) * COORDS;
                prefetch(&level.leaves[start..][..COORDS]);
                start
            }));
            for &start in &leaf_starts {
                for (s, d) in shape.iter_mut().zip(&level.leaves[start..][..COORDS]) {
                    *s += d;
                }
            }
        }
        std::array::from_fn(|i| {
            let (x, y) = to_image.map(shape[2 * i], shape[2 * i + 1]);
            Point::new(round_half_up(x) as f64, round_half_up(y) as f64)
        })
    }
}

/// Asks for `values` (at most two cache lines) to be brought into the
/// cache while other work goes on.
#[inline(always)]
fn prefetch(values: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let first = values.as_ptr();
        let last = values.as_ptr_range().end.wrapping_sub(1);
        // SAFETY: a prefetch is a hint: it never faults and reads nothing
        // the program sees; both addresses are inside `values`.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(first.cast());
            _mm_prefetch::<_MM_HINT_T0>(last.cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// dlib's rounding of real coordinates to pixel positions, `floor(v + 0.5)`.
/// Written out because `f64::floor` is a library call on baseline x86-64,
/// and this runs for every sampled pixel.
fn round_half_up(v: f64) -> i64 {
    let t = v + 0.5;
    let i = t as i64;
    if (i as f64) > t { i - 1 } else { i }
}

/// dlib's `get_pixel_intensity` of an RGB pixel (the truncated mean of the
/// channels), 0 outside the image.
fn intensity(image: &RgbImage, x: i64, y: i64) -> f32 {
    if x < 0 || y < 0 || x >= image.width() as i64 || y >= image.height() as i64 {
        return 0.0;
    }
    let [r, g, b] = image.pixel(x as usize, y as usize);
    ((u32::from(r) + u32::from(g) + u32::from(b)) / 3) as f32
}

/// Maps the unit box onto the face box: (0,0) to the top-left corner and
/// (1,1) to the bottom-right one (inclusive bounds, so the width is
/// `right - left`).
struct UnitBoxToImage {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl UnitBoxToImage {
    fn new(r: Rect) -> Self {
        UnitBoxToImage {
            left: r.left as f64,
            top: r.top as f64,
            // In f64 so that no box, however extreme, can overflow.
            width: r.right as f64 - r.left as f64,
            height: r.bottom as f64 - r.top as f64,
        }
    }

    fn map(&self, u: f32, v: f32) -> (f64, f64) {
        (
            self.width * f64::from(u) + self.left,
            self.height * f64::from(v) + self.top,
        )
    }
}

/// The rotation-and-scale part of the least-squares similarity transform
/// taking shape `from` onto shape `to` (Umeyama), as a row-major 2x2 f32
/// matrix. In 2-D it has the closed form `[[p, -q], [q, p]] / var(from)`
/// with `p`, `q` the trace and skew of the cross-covariance.
fn similarity(from: &[f32], to: &[f32]) -> [f32; 4] {
    let n = (from.len() / 2) as f64;
    let mean = |s: &[f32], k: usize| {
        s.iter()
            .skip(k)
            .step_by(2)
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / n
    };
    let (fx, fy, tx, ty) = (mean(from, 0), mean(from, 1), mean(to, 0), mean(to, 1));
    let (mut var, mut p, mut q) = (0.0, 0.0, 0.0);
    for (f, t) in from.chunks_exact(2).zip(to.chunks_exact(2)) {
        let (ax, ay) = (f64::from(f[0]) - fx, f64::from(f[1]) - fy);
        let (bx, by) = (f64::from(t[0]) - tx, f64::from(t[1]) - ty);
        var += ax * ax + ay * ay;
        p += bx * ax + by * ay;
        q += by * ax - bx * ay;
    }
    if var == 0.0 {
        return [1.0, 0.0, 0.0, 1.0];
    }
    let (a, b) = (p / var, q / var);
    [a as f32, -b as f32, b as f32, a as f32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_floor_of_half_up() {
        for v in [
            -2.5,
            -2.4,
            -0.5,
            -0.49,
            0.0,
            0.49,
            0.5,
            1.5,
            2.4999,
            1e9 + 0.5,
        ] {
            assert_eq!(round_half_up(v), (v + 0.5).floor() as i64, "{v}");
        }
    }

    #[test]
    fn similarity_recovers_rotation_and_scale() {
        let from = [0.0f32, 0.0, 1.0, 0.0, 0.0, 1.0];
        // Rotate by 90 degrees and scale by 2, then shift.
        let to = [5.0f32, 5.0, 5.0, 7.0, 3.0, 5.0];
        let m = similarity(&from, &to);
        let want = [0.0, -2.0, 2.0, 0.0];
        for (a, b) in m.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{m:?}");
        }
    }
}
