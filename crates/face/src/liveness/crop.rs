//! The crops the liveness networks were trained on: upstream's face box
//! enlarged around its centre, cut from the frame and resized to 80×80 with
//! OpenCV's bilinear `cv2.resize`, reproduced bit for bit.

use zeroize::Zeroize;

use super::net::{INPUT_SIZE, LivenessInput};
use crate::{Rect, RgbImage};

/// A face box as upstream's detector (a RetinaFace run by OpenCV) gives it:
/// left and top pixel, width and height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceBox {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

impl ReferenceBox {
    /// The box upstream's detector would draw around the face dlib's HOG
    /// detector boxed as `hog`, by the mapping fitted on lfw-dev
    /// (`tools/liveness/fit_box.py`; BENCHMARKS.md): with `w` the HOG box's
    /// width, the box is 1.018 w wide and 1.046 w high, its centre 0.017 w
    /// right of and 0.018 w below the HOG box's.
    pub fn from_hog(hog: Rect) -> ReferenceBox {
        let w = hog.width() as f64;
        let centre_x = hog.left as f64 + w / 2.0 + 0.017 * w;
        let centre_y = hog.top as f64 + hog.height() as f64 / 2.0 + 0.018 * w;
        let (width, height) = (1.018 * w, 1.046 * w);
        ReferenceBox {
            x: (centre_x - width / 2.0).round() as i64,
            y: (centre_y - height / 2.0).round() as i64,
            width: width.round() as i64,
            height: height.round() as i64,
        }
    }
}

/// A crop region, inclusive of its right and bottom pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropRegion {
    pub left: usize,
    pub top: usize,
    pub right: usize,
    pub bottom: usize,
}

/// Upstream's `CropImage._get_new_box`: `face` scaled by `scale` around its
/// centre (less if that would not fit the image), then shifted to lie
/// inside it. `None` for an empty box or image.
pub fn crop_region(
    image_width: usize,
    image_height: usize,
    face: ReferenceBox,
    scale: f64,
) -> Option<CropRegion> {
    if face.width <= 0 || face.height <= 0 || image_width == 0 || image_height == 0 {
        return None;
    }
    let (src_w, src_h) = (image_width as f64, image_height as f64);
    let (x, y, w, h) = (
        face.x as f64,
        face.y as f64,
        face.width as f64,
        face.height as f64,
    );
    let scale = ((src_h - 1.0) / h).min(((src_w - 1.0) / w).min(scale));
    let (new_w, new_h) = (w * scale, h * scale);
    let (cx, cy) = (w / 2.0 + x, h / 2.0 + y);
    let (mut left, mut top) = (cx - new_w / 2.0, cy - new_h / 2.0);
    let (mut right, mut bottom) = (cx + new_w / 2.0, cy + new_h / 2.0);
    if left < 0.0 {
        right -= left;
        left = 0.0;
    }
    if top < 0.0 {
        bottom -= top;
        top = 0.0;
    }
    if right > src_w - 1.0 {
        left -= right - src_w + 1.0;
        right = src_w - 1.0;
    }
    if bottom > src_h - 1.0 {
        top -= bottom - src_h + 1.0;
        bottom = src_h - 1.0;
    }
    // Python's int() truncates toward zero; a box far outside the image can
    // leave a corner below zero or past the edge, which numpy's slicing then
    // clamps, as this does.
    let clamp = |v: f64, max: usize| (v.trunc().max(0.0) as usize).min(max - 1);
    let region = CropRegion {
        left: clamp(left, image_width),
        top: clamp(top, image_height),
        right: clamp(right, image_width),
        bottom: clamp(bottom, image_height),
    };
    (region.left <= region.right && region.top <= region.bottom).then_some(region)
}

/// The region of `image` resized to the networks' 80×80 BGR input exactly
/// as OpenCV's `cv2.resize(…, INTER_LINEAR)` resizes 8-bit images: 11-bit
/// fixed-point weights, a horizontal pass to 32-bit sums, then a vertical
/// pass with OpenCV's shifts and rounding.
pub fn crop_input(image: &RgbImage, region: CropRegion) -> Option<LivenessInput> {
    if region.right >= image.width() || region.bottom >= image.height() {
        return None;
    }
    let (src_w, src_h) = (
        region.right - region.left + 1,
        region.bottom - region.top + 1,
    );
    let columns = taps(src_w, INPUT_SIZE, true);
    let rows = taps(src_h, INPUT_SIZE, false);
    let raw = image.as_raw();
    let stride = image.width() * 3;
    // Horizontal pass over each source row the vertical pass needs, BGR.
    let mut horizontal = vec![0i32; src_h * INPUT_SIZE * 3];
    let mut needed = vec![false; src_h];
    for tap in &rows {
        needed[tap.first] = true;
        needed[tap.second] = true;
    }
    for (y, out) in horizontal.chunks_exact_mut(INPUT_SIZE * 3).enumerate() {
        if !needed[y] {
            continue;
        }
        let row = &raw[(region.top + y) * stride + region.left * 3..][..src_w * 3];
        for (tap, px) in columns.iter().zip(out.chunks_exact_mut(3)) {
            let a = &row[tap.first * 3..][..3];
            let b = &row[tap.second * 3..][..3];
            for (c, v) in px.iter_mut().enumerate() {
                // RGB in, BGR out.
                let k = 2 - c;
                *v = i32::from(a[k]) * tap.weights.0 + i32::from(b[k]) * tap.weights.1;
            }
        }
    }
    let mut bgr = vec![0u8; INPUT_SIZE * INPUT_SIZE * 3];
    for (tap, out) in rows.iter().zip(bgr.chunks_exact_mut(INPUT_SIZE * 3)) {
        let r0 = &horizontal[tap.first * INPUT_SIZE * 3..][..INPUT_SIZE * 3];
        let r1 = &horizontal[tap.second * INPUT_SIZE * 3..][..INPUT_SIZE * 3];
        let (b0, b1) = tap.weights;
        for ((o, &s0), &s1) in out.iter_mut().zip(r0).zip(r1) {
            let v = (((b0 * (s0 >> 4)) >> 16) + ((b1 * (s1 >> 4)) >> 16) + 2) >> 2;
            *o = v.clamp(0, 255) as u8;
        }
    }
    horizontal.zeroize();
    let input = LivenessInput::from_bgr(&bgr);
    bgr.zeroize();
    input
}

/// The two source samples of one output sample and their fixed-point
/// weights (summing to 2048).
struct Tap {
    first: usize,
    second: usize,
    weights: (i32, i32),
}

/// OpenCV's `resizeGeneric_` set-up for `INTER_LINEAR`. Columns clamp the
/// sample position and its weight at the edges; rows keep the weight and
/// clamp only which rows are read, as OpenCV does.
fn taps(src: usize, dst: usize, clamp_weight: bool) -> Vec<Tap> {
    let scale = 1.0 / (dst as f64 / src as f64);
    let last = src as i64 - 1;
    (0..dst)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as i64;
            let mut frac = f - s as f32;
            if clamp_weight && s < 0 {
                (s, frac) = (0, 0.0);
            }
            if clamp_weight && s >= last {
                (s, frac) = (last, 0.0);
            }
            // `saturate_cast<short>` rounds half to even.
            let weight = |v: f32| (v * 2048.0).round_ties_even() as i32;
            Tap {
                first: s.clamp(0, last) as usize,
                second: (s + 1).clamp(0, last) as usize,
                weights: (weight(1.0 - frac), weight(frac)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: i64, y: i64, width: i64, height: i64) -> ReferenceBox {
        ReferenceBox {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn a_hog_box_maps_to_a_slightly_taller_box_a_little_lower() {
        let mapped = ReferenceBox::from_hog(Rect::new(100, 100, 179, 179));
        assert_eq!(mapped, face(101, 100, 81, 84));
        // Degenerate boxes stay empty, and so give no crop.
        let empty = ReferenceBox::from_hog(Rect::new(10, 10, 5, 5));
        assert_eq!(crop_region(64, 64, empty, 2.7), None);
    }

    #[test]
    fn the_box_grows_around_its_centre_and_shifts_inside_the_image() {
        // Upstream's numbers for the live sample frame (480×640).
        assert_eq!(
            crop_region(480, 640, face(106, 147, 207, 213), 2.7),
            Some(CropRegion {
                left: 0,
                top: 7,
                right: 479,
                bottom: 499
            })
        );
        // Fits: 2× a 20×10 box at (40, 40) is (30, 35)–(70, 55).
        assert_eq!(
            crop_region(200, 100, face(40, 40, 20, 10), 2.0),
            Some(CropRegion {
                left: 30,
                top: 35,
                right: 70,
                bottom: 55
            })
        );
        assert_eq!(crop_region(200, 100, face(40, 40, 0, 10), 2.0), None);
        assert_eq!(crop_region(0, 100, face(40, 40, 5, 10), 2.0), None);
    }

    #[test]
    fn a_box_far_outside_the_image_still_gives_a_region_inside_it() {
        for (x, y) in [(-10_000, -10_000), (10_000, 10_000), (i64::MIN / 4, 3)] {
            let region = crop_region(64, 48, face(x, y, 30, 30), 4.0).expect("region");
            assert!(region.right < 64 && region.bottom < 48, "{region:?}");
        }
    }

    #[test]
    fn resizing_a_flat_region_keeps_its_colour_in_bgr() {
        let image = RgbImage::from_raw(7, 5, [10u8, 20, 30].repeat(35)).expect("image");
        let region = CropRegion {
            left: 1,
            top: 1,
            right: 5,
            bottom: 3,
        };
        let input = crop_input(&image, region).expect("input");
        assert!(input.as_bgr().chunks_exact(3).all(|p| p == [30, 20, 10]));
    }
}
