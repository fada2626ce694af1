//! Image resizing exactly as dlib's detector pipeline does it: `pyramid_up`
//! (2x, with `pyramid_down<2>` geometry) for upsampling and `pyramid_down<6>`
//! (5/6 scale) for the detection pyramid, both by dlib's bilinear
//! `resize_image` for RGB images, and the matching box mappings.
//!
//! dlib's RGB bilinear resize computes four output columns at a time in f32
//! (accumulating the source x coordinate in f32 and truncating the blend),
//! then finishes the row in f64. Reproducing both paths keeps our pixels,
//! and so our detections, identical to dlib's. Images are held as three
//! channel planes here, which is what the feature extraction wants.

use zeroize::Zeroize;

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

/// An RGB image as three channel planes, row-major; zeroised on drop like
/// [`RgbImage`], since it holds the same picture.
pub struct PlanarImage {
    width: usize,
    height: usize,
    planes: [Vec<u8>; 3],
}

impl PlanarImage {
    /// Splits interleaved RGB into planes.
    pub fn from_rgb(image: &RgbImage) -> Self {
        let n = image.width() * image.height();
        let mut planes: [Vec<u8>; 3] = std::array::from_fn(|_| Vec::with_capacity(n));
        for p in image.as_raw().chunks_exact(3) {
            for (plane, &v) in planes.iter_mut().zip(p) {
                plane.push(v);
            }
        }
        PlanarImage {
            width: image.width(),
            height: image.height(),
            planes,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Channel 0 (red), 1 (green) or 2 (blue).
    pub fn plane(&self, channel: usize) -> &[u8] {
        &self.planes[channel]
    }
}

impl Drop for PlanarImage {
    fn drop(&mut self) {
        for p in &mut self.planes {
            p.zeroize();
        }
    }
}

/// dlib's `pyramid_up(img)`: the image upsampled about 2x, to the size of
/// its box mapped by `pyramid_down<2>::rect_up` (`2h + 1` rows, `2w + 2`
/// columns). `None` for an empty image or when the result would exceed
/// `MAX_UPSAMPLED_PIXELS`.
pub fn pyramid_up(image: &PlanarImage) -> Option<PlanarImage> {
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
    Some(resize_bilinear(image, out_w, out_h))
}

/// dlib's `pyramid_down<6>`: the image at 5/6 of its size (integer division).
pub fn pyramid_down_6(image: &PlanarImage) -> PlanarImage {
    resize_bilinear(image, image.width() * 5 / 6, image.height() * 5 / 6)
}

/// dlib's `resize_image(in, out)` for RGB images (bilinear, corners
/// aligned); the caller keeps the output no larger than the input times a
/// small factor.
pub fn resize_bilinear(image: &PlanarImage, out_w: usize, out_h: usize) -> PlanarImage {
    let (in_w, in_h) = (image.width, image.height);
    let mut planes: [Vec<u8>; 3] = std::array::from_fn(|_| vec![0u8; out_w * out_h]);
    if in_w > 0 && in_h > 0 && out_w > 0 && out_h > 0 {
        let columns = ColumnTable::new(in_w, out_w);
        for (src, dst) in image.planes.iter().zip(&mut planes) {
            resize_plane(src, in_w, in_h, dst, out_w, out_h, &columns);
        }
    }
    PlanarImage {
        width: out_w,
        height: out_h,
        planes,
    }
}

/// Where each output column samples, the same for every row: dlib's
/// four-at-a-time f32 columns first, then its f64 ones.
struct ColumnTable {
    /// Left source column and f32 weights of the f32 columns.
    left: Vec<usize>,
    lr: Vec<f32>,
    inv_lr: Vec<f32>,
    /// Left and right source columns and f64 weight of the remaining ones.
    tail: Vec<(usize, usize, f64)>,
}

impl ColumnTable {
    fn new(in_w: usize, out_w: usize) -> Self {
        let x_scale = (in_w - 1) as f64 / (out_w - 1).max(1) as f64;
        let step = (4.0 * x_scale) as f32;
        let x0 = -4.0 * x_scale;
        let mut xs = [
            x0 as f32,
            (x0 + x_scale) as f32,
            (x0 + 2.0 * x_scale) as f32,
            (x0 + 3.0 * x_scale) as f32,
        ];
        let (mut left, mut lr, mut inv_lr) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            let mut lefts = [0i32; 4];
            for (x, l) in xs.iter_mut().zip(&mut lefts) {
                *x += step;
                *l = *x as i32;
            }
            // dlib stops when the last lane's right neighbour leaves the image.
            if lefts[3] < 0 || lefts[3] as usize + 1 >= in_w || left.len() + 4 > out_w {
                break;
            }
            for (x, l) in xs.iter().zip(lefts) {
                let f = x - l as f32;
                left.push(l.max(0) as usize);
                lr.push(f);
                inv_lr.push(1.0 - f);
            }
        }
        let start = left.len();
        let mut x = -x_scale + start as f64 * x_scale;
        let tail = (start..out_w)
            .map(|_| {
                x += x_scale;
                let l = (x.floor().max(0.0) as usize).min(in_w - 1);
                (l, (l + 1).min(in_w - 1), x - l as f64)
            })
            .collect();
        ColumnTable {
            left,
            lr,
            inv_lr,
            tail,
        }
    }
}

fn resize_plane(
    src: &[u8],
    in_w: usize,
    in_h: usize,
    dst: &mut [u8],
    out_w: usize,
    out_h: usize,
    columns: &ColumnTable,
) {
    let simd_cols = columns.left.len();
    // A source row sampled at each f32 column's left and right neighbour,
    // kept while consecutive output rows reuse it.
    let gather = |row: usize, l: &mut Vec<f32>, r: &mut Vec<f32>| {
        let s = &src[row * in_w..(row + 1) * in_w];
        l.resize(columns.left.len(), 0.0);
        r.resize(columns.left.len(), 0.0);
        for ((l, r), &c) in l.iter_mut().zip(r.iter_mut()).zip(&columns.left) {
            *l = f32::from(s[c]);
            *r = f32::from(s[c + 1]);
        }
    };
    let (mut top_l, mut top_r, mut bot_l, mut bot_r) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut top_row, mut bot_row) = (usize::MAX, usize::MAX);
    let y_scale = (in_h - 1) as f64 / (out_h - 1).max(1) as f64;
    let mut y = -y_scale;
    for out_row in dst.chunks_exact_mut(out_w) {
        y += y_scale;
        let top = (y.floor().max(0.0) as usize).min(in_h - 1);
        let bottom = (top + 1).min(in_h - 1);
        let tb = y - top as f64;
        if top != top_row {
            if top == bot_row {
                std::mem::swap(&mut top_l, &mut bot_l);
                std::mem::swap(&mut top_r, &mut bot_r);
                bot_row = usize::MAX;
            } else {
                gather(top, &mut top_l, &mut top_r);
            }
            top_row = top;
        }
        if bottom != bot_row {
            gather(bottom, &mut bot_l, &mut bot_r);
            bot_row = bottom;
        }
        blend_f32(
            &mut out_row[..simd_cols],
            [&top_l, &top_r, &bot_l, &bot_r],
            &columns.lr,
            &columns.inv_lr,
            tb as f32,
            (1.0 - tb) as f32,
        );
        let (t, b) = (
            &src[top * in_w..(top + 1) * in_w],
            &src[bottom * in_w..(bottom + 1) * in_w],
        );
        for (o, &(l, r, lr)) in out_row[simd_cols..].iter_mut().zip(&columns.tail) {
            let v = (1.0 - tb) * ((1.0 - lr) * f64::from(t[l]) + lr * f64::from(t[r]))
                + tb * ((1.0 - lr) * f64::from(b[l]) + lr * f64::from(b[r]));
            *o = v as u8;
        }
    }
}

/// dlib's f32 blend of the four neighbours, truncated.
fn blend_f32(
    out: &mut [u8],
    [tl, tr, bl, br]: [&[f32]; 4],
    lr: &[f32],
    inv_lr: &[f32],
    tb: f32,
    inv_tb: f32,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { blend_f32_avx2(out, [tl, tr, bl, br], lr, inv_lr, tb, inv_tb) };
        return;
    }
    blend_f32_portable(out, [tl, tr, bl, br], lr, inv_lr, tb, inv_tb);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn blend_f32_avx2(
    out: &mut [u8],
    n: [&[f32]; 4],
    lr: &[f32],
    inv_lr: &[f32],
    tb: f32,
    inv_tb: f32,
) {
    blend_f32_portable(out, n, lr, inv_lr, tb, inv_tb);
}

#[inline(always)]
fn blend_f32_portable(
    out: &mut [u8],
    [tl, tr, bl, br]: [&[f32]; 4],
    lr: &[f32],
    inv_lr: &[f32],
    tb: f32,
    inv_tb: f32,
) {
    let n = out.len();
    let (tl, tr, bl, br, lr, inv_lr) = (
        &tl[..n],
        &tr[..n],
        &bl[..n],
        &br[..n],
        &lr[..n],
        &inv_lr[..n],
    );
    for i in 0..n {
        let v = (inv_tb * inv_lr[i]) * tl[i]
            + (inv_tb * lr[i]) * tr[i]
            + (tb * inv_lr[i]) * bl[i]
            + (tb * lr[i]) * br[i];
        // dlib truncates to int32 then to u8; v lies in [0, 256), where
        // the saturating cast to u8 truncates the same way.
        out[i] = v as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_up_size_follows_dlib_geometry() {
        let img = PlanarImage::from_rgb(&RgbImage::from_raw(10, 6, vec![7; 180]).expect("valid"));
        let up = pyramid_up(&img).expect("small");
        assert_eq!((up.width(), up.height()), (22, 13));
        // dlib truncates the f32 blend, so a flat 7 may come out as 6.
        assert!((0..3).all(|c| up.plane(c).iter().all(|&v| v == 7 || v == 6)));
        let down = pyramid_down_6(&up);
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
