//! The aligned 150x150 face chip the descriptor network reads, made exactly
//! as dlib's `get_face_chip_details(shape, 150, 0.25)` + `extract_image_chip`.
//!
//! Alignment: a least-squares similarity transform (rotation, uniform scale,
//! translation) maps dlib's 5-point mean-face template, padded by 25% on each
//! side, onto the landmarks. That gives the chip's region in the image: a
//! square of side `150 * scale` rotated by the transform's angle.
//!
//! Sampling: bilinear, truncated to 8 bits; samples whose 2x2 neighbourhood
//! leaves the image are black. When the region is much larger than the chip,
//! dlib first halves the image (5x5 binomial filter, integer arithmetic) as
//! often as needed so bilinear sampling does not alias, and samples the
//! smallest level whose region still has more pixels than the chip.
//!
//! Checked against `dlib.get_face_chip` (dlib 20.0.1) on the fixture faces,
//! directly and 4x enlarged (pyramid path): identical bytes.

use thiserror::Error;
use zeroize::Zeroize;

use crate::geometry::Point;
use crate::image::RgbImage;

/// Side of the square chip, in pixels.
pub const CHIP_SIZE: usize = 150;
/// Border around the template face, as a fraction of the face size.
const CHIP_PADDING: f64 = 0.25;
const CHIP_PIXELS: f64 = (CHIP_SIZE * CHIP_SIZE) as f64;

/// dlib's mean positions of the 5 landmarks (eye corners, then the base of
/// the nose) in a unit face box, in the 5-point predictor's order.
const TEMPLATE: [(f64, f64); 5] = [
    (0.8595674595992, 0.2134981538014),
    (0.6460604764104, 0.2289674387677),
    (0.1205750620789, 0.2137274526848),
    (0.3340850613712, 0.2290642403242),
    (0.4901123135679, 0.6277975316475),
];

/// Why no chip can be made.
#[derive(Debug, Error, PartialEq)]
pub enum ChipError {
    #[error("face landmarks are not finite or all coincide")]
    DegenerateLandmarks,
}

/// A 150x150 RGB face chip, row-major, zeroised on drop.
pub struct FaceChip {
    pixels: Vec<u8>,
}

impl FaceChip {
    /// Cuts the aligned chip for a face out of `image`, given its 5
    /// landmarks in dlib's order. dlib's landmarks are whole pixels (it
    /// stores them as integer points): pass them so to match it exactly.
    pub fn extract(image: &RgbImage, landmarks: &[Point; 5]) -> Result<FaceChip, ChipError> {
        let region = ChipRegion::fit(landmarks)?;
        Ok(FaceChip {
            pixels: region.extract(image),
        })
    }

    /// Interleaved RGB bytes, `150 * 150 * 3` of them.
    pub fn as_raw(&self) -> &[u8] {
        &self.pixels
    }

    /// The same chip mirrored left to right: the face as seen in a mirror,
    /// which the network describes slightly differently (see
    /// [`crate::DescriptorRecipe::MirrorAveraged`]).
    pub fn mirrored(&self) -> FaceChip {
        let mut pixels = vec![0u8; self.pixels.len()];
        for (dst_row, src_row) in pixels
            .chunks_exact_mut(CHIP_SIZE * 3)
            .zip(self.pixels.chunks_exact(CHIP_SIZE * 3))
        {
            for (dst, src) in dst_row
                .chunks_exact_mut(3)
                .zip(src_row.chunks_exact(3).rev())
            {
                dst.copy_from_slice(src);
            }
        }
        FaceChip { pixels }
    }
}

impl Drop for FaceChip {
    fn drop(&mut self) {
        self.pixels.zeroize();
    }
}

impl std::fmt::Debug for FaceChip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaceChip({CHIP_SIZE}x{CHIP_SIZE})")
    }
}

/// A rectangle with real-valued inclusive bounds (dlib's `drectangle`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct DRect {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl DRect {
    fn is_empty(&self) -> bool {
        self.top > self.bottom || self.left > self.right
    }

    /// Pixels covered, counting both bounds as dlib does.
    fn area(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            (self.right - self.left + 1.0) * (self.bottom - self.top + 1.0)
        }
    }

    fn center(&self) -> (f64, f64) {
        (
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        )
    }

    fn translated(&self, dx: f64, dy: f64) -> DRect {
        DRect {
            left: self.left + dx,
            top: self.top + dy,
            right: self.right + dx,
            bottom: self.bottom + dy,
        }
    }

    /// The same region in the next pyramid level (dlib's
    /// `pyramid_down<2>::rect_down`).
    fn down(&self) -> DRect {
        DRect {
            left: self.left / 2.0 - 1.25,
            top: self.top / 2.0 - 0.75,
            right: self.right / 2.0 - 1.25,
            bottom: self.bottom / 2.0 - 0.75,
        }
    }

    fn corners(&self) -> [(f64, f64); 4] {
        [
            (self.left, self.top),
            (self.right, self.top),
            (self.left, self.bottom),
            (self.right, self.bottom),
        ]
    }
}

/// An integer rectangle with inclusive bounds, possibly empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IRect {
    left: i64,
    top: i64,
    right: i64,
    bottom: i64,
}

impl IRect {
    /// dlib's `drectangle` to `rectangle` conversion: round half up.
    fn round(r: &DRect) -> IRect {
        let round = |v: f64| (v + 0.5).floor() as i64;
        IRect {
            left: round(r.left),
            top: round(r.top),
            right: round(r.right),
            bottom: round(r.bottom),
        }
    }

    fn width(&self) -> usize {
        usize::try_from(self.right - self.left + 1).unwrap_or(0)
    }

    fn height(&self) -> usize {
        usize::try_from(self.bottom - self.top + 1).unwrap_or(0)
    }
}

/// dlib's `chip_details`: the chip's square region in the image and its
/// rotation.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ChipRegion {
    rect: DRect,
    angle: f64,
}

fn rotate_about(center: (f64, f64), p: (f64, f64), angle: f64) -> (f64, f64) {
    let (sin, cos) = angle.sin_cos();
    let (x, y) = (p.0 - center.0, p.1 - center.1);
    (cos * x - sin * y + center.0, sin * x + cos * y + center.1)
}

impl ChipRegion {
    /// Fits the template to the landmarks (least-squares similarity
    /// transform; in 2-D its rotation and scale have a closed form).
    fn fit(landmarks: &[Point; 5]) -> Result<ChipRegion, ChipError> {
        let size = CHIP_SIZE as f64;
        let from: Vec<(f64, f64)> = TEMPLATE
            .iter()
            .map(|&(x, y)| {
                let unit = |v: f64| (CHIP_PADDING + v) / (2.0 * CHIP_PADDING + 1.0);
                (unit(x) * size, unit(y) * size)
            })
            .collect();
        let n = from.len() as f64;
        let mean = |pts: &mut dyn Iterator<Item = (f64, f64)>| {
            let (sx, sy) = pts.fold((0.0, 0.0), |(ax, ay), (x, y)| (ax + x, ay + y));
            (sx / n, sy / n)
        };
        let mean_from = mean(&mut from.iter().copied());
        let mean_to = mean(&mut landmarks.iter().map(|p| (p.x, p.y)));
        let (mut dot, mut cross, mut spread) = (0.0, 0.0, 0.0);
        for (&(fx, fy), to) in from.iter().zip(landmarks) {
            let (ax, ay) = (fx - mean_from.0, fy - mean_from.1);
            let (bx, by) = (to.x - mean_to.0, to.y - mean_to.1);
            dot += ax * bx + ay * by;
            cross += ax * by - ay * bx;
            spread += ax * ax + ay * ay;
        }
        let angle = cross.atan2(dot);
        let scale = dot.hypot(cross) / spread;
        if !(scale.is_finite() && angle.is_finite() && scale > 0.0) {
            return Err(ChipError::DegenerateLandmarks);
        }
        // Image position of the chip centre: scale * R * (c - mean_from) + mean_to.
        let (sin, cos) = angle.sin_cos();
        let half = size / 2.0;
        let (dx, dy) = (half - mean_from.0, half - mean_from.1);
        let cx = scale * (cos * dx - sin * dy) + mean_to.0;
        let cy = scale * (sin * dx + cos * dy) + mean_to.1;
        // dlib's `centered_drect`: a side of w spans w - 1 between bounds.
        let half_side = (size * scale - 1.0) / 2.0;
        let rect = DRect {
            left: cx - half_side,
            top: cy - half_side,
            right: cx + half_side,
            bottom: cy + half_side,
        };
        if rect.is_empty() || !rect.area().is_finite() {
            return Err(ChipError::DegenerateLandmarks);
        }
        Ok(ChipRegion { rect, angle })
    }

    fn extract(&self, image: &RgbImage) -> Vec<u8> {
        // An unrotated region exactly the chip's size is copied, not sampled.
        if self.angle == 0.0 && self.rect.area() == CHIP_PIXELS {
            return copy_region(image, IRect::round(&self.rect));
        }
        // How many halvings until the region is no bigger than the chip, and
        // how much margin the 5x5 filters need around it at that depth.
        let mut depth = 0;
        let mut margin = 2.0;
        let mut down = self.rect.down();
        while down.area() > CHIP_PIXELS {
            down = down.down();
            depth += 1;
            margin = margin * 2.0 + 2.0;
        }

        // Only the part of the image under the (rotated) region matters.
        let center = self.rect.center();
        let mut rotated = DRect {
            left: f64::INFINITY,
            top: f64::INFINITY,
            right: f64::NEG_INFINITY,
            bottom: f64::NEG_INFINITY,
        };
        for corner in self.rect.corners() {
            let (x, y) = rotate_about(center, corner, self.angle);
            rotated.left = rotated.left.min(x);
            rotated.top = rotated.top.min(y);
            rotated.right = rotated.right.max(x);
            rotated.bottom = rotated.bottom.max(y);
        }
        let within_image = DRect {
            left: (rotated.left - margin).max(0.0),
            top: (rotated.top - margin).max(0.0),
            right: (rotated.right + margin).min(image.width() as f64 - 1.0),
            bottom: (rotated.bottom + margin).min(image.height() as f64 - 1.0),
        };
        let crop = IRect::round(&within_image);
        let crop_view = if within_image.is_empty() || crop.width() == 0 || crop.height() == 0 {
            View::empty()
        } else {
            View::crop(image, crop)
        };

        // Region in crop coordinates, then in the level it is sampled from.
        let mut rect = self.rect.translated(-crop.left as f64, -crop.top as f64);
        let mut levels: Vec<Raster> = Vec::with_capacity(depth);
        while rect.down().area() > CHIP_PIXELS {
            let next = match levels.last() {
                Some(level) => level.view().pyramid_down(),
                None => crop_view.pyramid_down(),
            };
            levels.push(next);
            rect = rect.down();
        }
        let source = levels.last().map_or(crop_view, Raster::view);

        // Chip (0,0), (149,0), (0,149) land on the region's rotated corners.
        let center = rect.center();
        let [tl, tr, bl, _] = rect.corners().map(|c| rotate_about(center, c, self.angle));
        let last = (CHIP_SIZE - 1) as f64;
        let step_x = ((tr.0 - tl.0) / last, (tr.1 - tl.1) / last);
        let step_y = ((bl.0 - tl.0) / last, (bl.1 - tl.1) / last);
        let mut chip = vec![0u8; CHIP_SIZE * CHIP_SIZE * 3];
        for (r, row) in chip.chunks_exact_mut(CHIP_SIZE * 3).enumerate() {
            for (c, out) in row.chunks_exact_mut(3).enumerate() {
                let (c, r) = (c as f64, r as f64);
                let x = step_x.0 * c + step_y.0 * r + tl.0;
                let y = step_x.1 * c + step_y.1 * r + tl.1;
                if let Some(px) = source.bilinear(x, y) {
                    out.copy_from_slice(&px);
                }
            }
        }
        chip
    }
}

/// The pixels of `rect` (chip-sized), black where it leaves the image.
fn copy_region(image: &RgbImage, rect: IRect) -> Vec<u8> {
    let mut chip = vec![0u8; CHIP_SIZE * CHIP_SIZE * 3];
    for (r, row) in chip.chunks_exact_mut(CHIP_SIZE * 3).enumerate() {
        for (c, out) in row.chunks_exact_mut(3).enumerate() {
            let x = usize::try_from(rect.left + c as i64).ok();
            let y = usize::try_from(rect.top + r as i64).ok();
            if let (Some(x), Some(y)) = (x, y)
                && x < image.width()
                && y < image.height()
            {
                out.copy_from_slice(&image.pixel(x, y));
            }
        }
    }
    chip
}

/// A read-only window onto RGB pixels.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [u8],
    /// Bytes from one row to the next in `data`.
    stride: usize,
    /// Byte offset of the window's top-left pixel.
    origin: usize,
    width: usize,
    height: usize,
}

impl<'a> View<'a> {
    fn empty() -> View<'static> {
        View {
            data: &[],
            stride: 0,
            origin: 0,
            width: 0,
            height: 0,
        }
    }

    /// `crop` must lie inside the image.
    fn crop(image: &'a RgbImage, crop: IRect) -> View<'a> {
        let stride = image.width() * 3;
        View {
            data: image.as_raw(),
            stride,
            origin: crop.top as usize * stride + crop.left as usize * 3,
            width: crop.width(),
            height: crop.height(),
        }
    }

    #[inline]
    fn at(&self, x: usize, y: usize) -> &'a [u8] {
        let i = self.origin + y * self.stride + x * 3;
        &self.data[i..i + 3]
    }

    /// dlib's `interpolate_bilinear` on RGB: `None` unless all four
    /// neighbours are inside; channels truncated to 8 bits.
    #[inline]
    fn bilinear(&self, x: f64, y: f64) -> Option<[u8; 3]> {
        // Non-negative (and not NaN), so truncation is the floor.
        if !(x >= 0.0 && y >= 0.0) {
            return None;
        }
        let (l, t) = (x as usize, y as usize);
        if l + 1 >= self.width || t + 1 >= self.height {
            return None;
        }
        let (fx, fy) = (x - l as f64, y - t as f64);
        let i = self.origin + t * self.stride + l * 3;
        let top: &[u8; 6] = self.data.get(i..i + 6)?.try_into().ok()?;
        let j = i + self.stride;
        let bottom: &[u8; 6] = self.data.get(j..j + 6)?.try_into().ok()?;
        // dlib's expression, in its order: the result is truncated, so the
        // rounding of every step matters.
        Some(std::array::from_fn(|ch| {
            let (tl, tr) = (f64::from(top[ch]), f64::from(top[ch + 3]));
            let (bl, br) = (f64::from(bottom[ch]), f64::from(bottom[ch + 3]));
            let value = (1.0 - fy) * ((1.0 - fx) * tl + fx * tr) + fy * ((1.0 - fx) * bl + fx * br);
            value as u8
        }))
    }

    /// dlib's `pyramid_down<2>` on RGB: a [1 4 6 4 1] filter along rows
    /// then columns, keeping every other pixel, in integer arithmetic.
    fn pyramid_down(&self) -> Raster {
        if self.width <= 8 || self.height <= 8 {
            return Raster::default();
        }
        let out_w = (self.width - 3) / 2;
        let out_h = (self.height - 3) / 2;
        const TAPS: [u16; 5] = [1, 4, 6, 4, 1];
        // Row pass at every input row, every other column.
        let mut filtered = vec![0u16; self.height * out_w * 3];
        for y in 0..self.height {
            for c in 0..out_w {
                for ch in 0..3 {
                    let sum = TAPS
                        .iter()
                        .enumerate()
                        .map(|(k, &w)| w * u16::from(self.at(2 * c + k, y)[ch]))
                        .sum::<u16>();
                    filtered[(y * out_w + c) * 3 + ch] = sum;
                }
            }
        }
        let mut data = vec![0u8; out_h * out_w * 3];
        for (r, out_row) in data.chunks_exact_mut(out_w * 3).enumerate() {
            let y = 2 * r + 2;
            for (i, out) in out_row.iter_mut().enumerate() {
                let sum = TAPS
                    .iter()
                    .enumerate()
                    .map(|(k, &w)| w * filtered[(y + k - 2) * out_w * 3 + i])
                    .sum::<u16>();
                *out = (sum / 256) as u8;
            }
        }
        filtered.zeroize();
        Raster {
            data,
            width: out_w,
            height: out_h,
        }
    }
}

/// An owned RGB pyramid level; zeroised on drop (it is a face picture).
#[derive(Default)]
struct Raster {
    data: Vec<u8>,
    width: usize,
    height: usize,
}

impl Raster {
    fn view(&self) -> View<'_> {
        View {
            data: &self.data,
            stride: self.width * 3,
            origin: 0,
            width: self.width,
            height: self.height,
        }
    }
}

impl Drop for Raster {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_landmarks(scale: f64, dx: f64, dy: f64) -> [Point; 5] {
        TEMPLATE.map(|(x, y)| {
            let unit = |v: f64| (CHIP_PADDING + v) / (2.0 * CHIP_PADDING + 1.0) * CHIP_SIZE as f64;
            Point::new(unit(x) * scale + dx, unit(y) * scale + dy)
        })
    }

    #[test]
    fn template_landmarks_give_the_identity_region() {
        let region = ChipRegion::fit(&template_landmarks(1.0, 0.0, 0.0)).expect("fits");
        assert!(region.angle.abs() < 1e-12);
        // dlib's `centered_drect` puts a 150-wide region at [0.5, 149.5].
        assert!((region.rect.left - 0.5).abs() < 1e-9 && (region.rect.right - 149.5).abs() < 1e-9);
    }

    #[test]
    fn mirroring_swaps_left_and_right_and_twice_is_the_identity() {
        let pixels: Vec<u8> = (0..CHIP_SIZE * CHIP_SIZE * 3)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let chip = FaceChip { pixels };
        let mirrored = chip.mirrored();
        let row = 37 * CHIP_SIZE * 3;
        assert_eq!(
            mirrored.as_raw()[row..row + 3],
            chip.as_raw()[row + (CHIP_SIZE - 1) * 3..row + CHIP_SIZE * 3]
        );
        assert_eq!(mirrored.mirrored().as_raw(), chip.as_raw());
    }

    #[test]
    fn degenerate_landmarks_are_an_error() {
        let same = [Point::new(3.0, 4.0); 5];
        assert_eq!(ChipRegion::fit(&same), Err(ChipError::DegenerateLandmarks));
        let mut nan = template_landmarks(1.0, 0.0, 0.0);
        nan[2].x = f64::NAN;
        assert_eq!(ChipRegion::fit(&nan), Err(ChipError::DegenerateLandmarks));
    }

    #[test]
    fn face_outside_the_image_gives_a_black_chip() {
        let image = RgbImage::from_raw(20, 20, vec![200; 20 * 20 * 3]).expect("valid");
        let chip =
            FaceChip::extract(&image, &template_landmarks(1.0, 5000.0, 5000.0)).expect("fits");
        assert!(chip.as_raw().iter().all(|&v| v == 0));
    }

    #[test]
    fn large_faces_go_through_the_pyramid() {
        // A flat grey image: every level and every sample stays that grey.
        let (w, h) = (900, 900);
        let image = RgbImage::from_raw(w, h, vec![90; w * h * 3]).expect("valid");
        let chip = FaceChip::extract(&image, &template_landmarks(5.0, 40.0, 30.0)).expect("fits");
        let centre = (75 * CHIP_SIZE + 75) * 3;
        assert_eq!(&chip.as_raw()[centre..centre + 3], &[90, 90, 90]);
    }
}
