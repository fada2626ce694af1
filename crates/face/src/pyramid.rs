//! Image resizing exactly as dlib's detector pipeline does it: `pyramid_up`
//! (2x, with `pyramid_down<2>` geometry) for upsampling and `pyramid_down<6>`
//! (5/6 scale) for the detection pyramid, both by dlib's bilinear
//! `resize_image` for RGB images, and the matching box mappings.
//!
//! dlib's RGB bilinear resize computes four output columns at a time in f32
//! (accumulating the source x coordinate in f32 and truncating the blend),
//! then finishes the row in f64. Reproducing both paths keeps our pixels,
//! and so our detections, identical to dlib's.

use crate::geometry::Rect;
use crate::image::RgbImage;

/// Upsampling stops before an image would exceed this many pixels, so a
/// large `upsample` request cannot exhaust memory.
pub const MAX_UPSAMPLED_PIXELS: usize = 1 << 26;

/// dlib's `drectangle` -> `rectangle` conversion: round half up.
fn round_half_up(v: f64) -> i64 {
    (v + 0.5).floor() as i64
}

/// A box with real-valued corners (dlib's `drectangle`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DRect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl DRect {
    pub fn from_rect(r: Rect) -> Self {
        DRect {
            left: r.left as f64,
            top: r.top as f64,
            right: r.right as f64,
            bottom: r.bottom as f64,
        }
    }

    pub fn round(self) -> Rect {
        Rect::new(
            round_half_up(self.left),
            round_half_up(self.top),
            round_half_up(self.right),
            round_half_up(self.bottom),
        )
    }

    fn map(self, f: impl Fn(f64, f64) -> (f64, f64)) -> Self {
        let (left, top) = f(self.left, self.top);
        let (right, bottom) = f(self.right, self.bottom);
        DRect {
            left,
            top,
            right,
            bottom,
        }
    }
}

/// `pyramid_down<2>::rect_up`: into the 2x upsampled image.
fn rect_up_2(r: DRect) -> DRect {
    r.map(|x, y| ((x + 1.25) * 2.0, (y + 0.75) * 2.0))
}

/// `pyramid_down<2>::rect_down` applied `levels` times: from an upsampled
/// image back to the original.
pub(crate) fn rect_down_2(rect: Rect, levels: u32) -> Rect {
    let mut r = DRect::from_rect(rect);
    for _ in 0..levels {
        r = r.map(|x, y| (x / 2.0 - 1.25, y / 2.0 - 0.75));
    }
    r.round()
}

/// `pyramid_down<6>::rect_down`, one level.
pub(crate) fn rect_down_6(rect: Rect) -> Rect {
    let ratio = 5.0 / 6.0;
    DRect::from_rect(rect)
        .map(|x, y| ((x - 0.3) * ratio, (y - 0.3) * ratio))
        .round()
}

/// `pyramid_down<6>::rect_up` applied `levels` times: from pyramid level
/// `levels` back to the level-0 image.
pub(crate) fn rect_up_6(rect: Rect, levels: usize) -> Rect {
    let ratio = 6.0 / 5.0;
    let mut r = DRect::from_rect(rect);
    for _ in 0..levels {
        r = r.map(|x, y| (x * ratio + 0.3, y * ratio + 0.3));
    }
    r.round()
}

/// dlib's `pyramid_up(img)`: the image upsampled about 2x, to the size of
/// its box mapped by `pyramid_down<2>::rect_up` (`2h + 1` rows, `2w + 2`
/// columns). `None` for an empty image or when the result would exceed
/// `MAX_UPSAMPLED_PIXELS`.
pub fn pyramid_up(image: &RgbImage) -> Option<RgbImage> {
    let (w, h) = (image.width(), image.height());
    if w == 0 || h == 0 {
        return None;
    }
    let up = rect_up_2(DRect::from_rect(Rect::new(
        0,
        0,
        w as i64 - 1,
        h as i64 - 1,
    )))
    .round();
    let out_w = usize::try_from(up.right + 1).ok()?;
    let out_h = usize::try_from(up.bottom + 1).ok()?;
    if out_w.checked_mul(out_h)? > MAX_UPSAMPLED_PIXELS {
        return None;
    }
    resize_bilinear(image, out_w, out_h)
}

/// dlib's `pyramid_down<6>`: the image at 5/6 of its size (integer division).
pub fn pyramid_down_6(image: &RgbImage) -> Option<RgbImage> {
    resize_bilinear(image, image.width() * 5 / 6, image.height() * 5 / 6)
}

/// dlib's `resize_image(in, out)` for RGB images (bilinear, corners aligned).
/// `None` only if the output size overflows.
pub fn resize_bilinear(image: &RgbImage, out_w: usize, out_h: usize) -> Option<RgbImage> {
    let (in_w, in_h) = (image.width(), image.height());
    let mut out = vec![0u8; out_w.checked_mul(out_h)?.checked_mul(3)?];
    if in_w > 0 && in_h > 0 && out_w > 0 && out_h > 0 {
        let src = image.as_raw();
        let x_scale = (in_w - 1) as f64 / (out_w - 1).max(1) as f64;
        let y_scale = (in_h - 1) as f64 / (out_h - 1).max(1) as f64;
        let mut y = -y_scale;
        for out_row in out.chunks_exact_mut(out_w * 3) {
            y += y_scale;
            let top = y.floor() as usize;
            let bottom = (top + 1).min(in_h - 1);
            let tb_frac = y - top as f64;
            let top_row = &src[top * in_w * 3..(top + 1) * in_w * 3];
            let bottom_row = &src[bottom * in_w * 3..(bottom + 1) * in_w * 3];
            let c = resize_row_f32(top_row, bottom_row, out_row, in_w, x_scale, tb_frac);
            resize_row_f64(top_row, bottom_row, out_row, c, in_w, x_scale, tb_frac);
        }
    }
    RgbImage::from_raw(out_w, out_h, out)
}

/// The four-columns-at-a-time f32 part of a row; returns the first column
/// it did not write.
fn resize_row_f32(
    top: &[u8],
    bottom: &[u8],
    out: &mut [u8],
    in_w: usize,
    x_scale: f64,
    tb_frac: f64,
) -> usize {
    let out_w = out.len() / 3;
    let tb = tb_frac as f32;
    let inv_tb = (1.0 - tb_frac) as f32;
    let step = (4.0 * x_scale) as f32;
    let x0 = -4.0 * x_scale;
    let mut xs = [
        x0 as f32,
        (x0 + x_scale) as f32,
        (x0 + 2.0 * x_scale) as f32,
        (x0 + 3.0 * x_scale) as f32,
    ];
    let mut c = 0;
    loop {
        let mut left = [0usize; 4];
        let mut weights = [[0f32; 4]; 4];
        for k in 0..4 {
            xs[k] += step;
            let l = xs[k] as i32;
            let lr = xs[k] - l as f32;
            let inv_lr = 1.0 - lr;
            left[k] = l.max(0) as usize;
            weights[k] = [inv_tb * inv_lr, inv_tb * lr, tb * inv_lr, tb * lr];
        }
        if left[3] + 1 >= in_w || c + 4 > out_w {
            return c;
        }
        for k in 0..4 {
            let (l, rt) = (left[k] * 3, left[k] * 3 + 3);
            let [tlf, trf, blf, brf] = weights[k];
            for ch in 0..3 {
                let v = tlf * top[l + ch] as f32
                    + trf * top[rt + ch] as f32
                    + blf * bottom[l + ch] as f32
                    + brf * bottom[rt + ch] as f32;
                out[(c + k) * 3 + ch] = v as i32 as u8;
            }
        }
        c += 4;
    }
}

/// The rest of a row, one column at a time in f64.
fn resize_row_f64(
    top: &[u8],
    bottom: &[u8],
    out: &mut [u8],
    start: usize,
    in_w: usize,
    x_scale: f64,
    tb_frac: f64,
) {
    let out_w = out.len() / 3;
    let mut x = -x_scale + start as f64 * x_scale;
    for c in start..out_w {
        x += x_scale;
        let left = (x.floor().max(0.0) as usize).min(in_w - 1);
        let right = (left + 1).min(in_w - 1);
        let lr = x - left as f64;
        for ch in 0..3 {
            let (tl, tr) = (top[left * 3 + ch] as f64, top[right * 3 + ch] as f64);
            let (bl, br) = (bottom[left * 3 + ch] as f64, bottom[right * 3 + ch] as f64);
            let v = (1.0 - tb_frac) * ((1.0 - lr) * tl + lr * tr)
                + tb_frac * ((1.0 - lr) * bl + lr * br);
            out[c * 3 + ch] = v as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_up_size_follows_dlib_geometry() {
        let img = RgbImage::from_raw(10, 6, vec![7; 180]).expect("valid");
        let up = pyramid_up(&img).expect("small");
        assert_eq!((up.width(), up.height()), (22, 13));
        // dlib truncates the f32 blend, so a flat 7 may come out as 6.
        assert!(up.as_raw().iter().all(|&v| v == 7 || v == 6));
        let down = pyramid_down_6(&up).expect("valid");
        assert_eq!((down.width(), down.height()), (18, 10));
    }

    #[test]
    fn box_mappings_round_trip_roughly() {
        let r = Rect::new(100, 80, 179, 159);
        let back = rect_down_2(rect_up_2(DRect::from_rect(r)).round(), 1);
        assert_eq!(back, r);
        assert_eq!(
            rect_down_6(Rect::new(0, 0, 99, 99)),
            Rect::new(0, 0, 82, 82)
        );
    }
}
