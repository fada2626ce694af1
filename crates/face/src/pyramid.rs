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
        let mut planes: [Vec<u8>; 3] = std::array::from_fn(|_| vec![0; n]);
        let [r, g, b] = &mut planes;
        for (((p, r), g), b) in image.as_raw().chunks_exact(3).zip(r).zip(g).zip(b) {
            (*r, *g, *b) = (p[0], p[1], p[2]);
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
        resize_planes(
            &image.planes,
            in_w,
            in_h,
            &mut planes,
            out_w,
            out_h,
            &columns,
        );
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

/// One channel's source rows sampled at each f32 column's left and right
/// neighbour, kept while consecutive output rows reuse them.
#[derive(Default)]
struct GatheredRows {
    top: usize,
    bottom: usize,
    top_l: Vec<f32>,
    top_r: Vec<f32>,
    bot_l: Vec<f32>,
    bot_r: Vec<f32>,
    row_f32: Vec<f32>,
}

impl GatheredRows {
    fn new() -> Self {
        GatheredRows {
            top: usize::MAX,
            bottom: usize::MAX,
            ..Default::default()
        }
    }

    fn update(&mut self, src: &[u8], in_w: usize, left: &[usize], top: usize, bottom: usize) {
        let row_f32 = &mut self.row_f32;
        let mut gather = |row: usize, l: &mut Vec<f32>, r: &mut Vec<f32>| {
            // Widen the row once (vectorised), then pick the samples.
            row_f32.clear();
            row_f32.extend(
                src[row * in_w..(row + 1) * in_w]
                    .iter()
                    .map(|&v| f32::from(v)),
            );
            let s = &row_f32[..];
            l.resize(left.len(), 0.0);
            r.resize(left.len(), 0.0);
            for ((l, r), &c) in l.iter_mut().zip(r.iter_mut()).zip(left) {
                *l = s[c];
                *r = s[c + 1];
            }
        };
        if top != self.top {
            if top == self.bottom {
                std::mem::swap(&mut self.top_l, &mut self.bot_l);
                std::mem::swap(&mut self.top_r, &mut self.bot_r);
                self.bottom = usize::MAX;
            } else {
                gather(top, &mut self.top_l, &mut self.top_r);
            }
            self.top = top;
        }
        if bottom != self.bottom {
            gather(bottom, &mut self.bot_l, &mut self.bot_r);
            self.bottom = bottom;
        }
    }
}

fn resize_planes(
    src: &[Vec<u8>; 3],
    in_w: usize,
    in_h: usize,
    dst: &mut [Vec<u8>; 3],
    out_w: usize,
    out_h: usize,
    columns: &ColumnTable,
) {
    let simd_cols = columns.left.len();
    let mut cache: [GatheredRows; 3] = std::array::from_fn(|_| GatheredRows::new());
    let mut weights: [Vec<f32>; 4] = std::array::from_fn(|_| vec![0f32; simd_cols]);
    let y_scale = (in_h - 1) as f64 / (out_h - 1).max(1) as f64;
    let mut y = -y_scale;
    for r in 0..out_h {
        y += y_scale;
        let top = (y.floor().max(0.0) as usize).min(in_h - 1);
        let bottom = (top + 1).min(in_h - 1);
        let tb = y - top as f64;
        // dlib's per-pixel weights, shared by the three channels.
        let (tbf, inv_tbf) = (tb as f32, (1.0 - tb) as f32);
        let [wtl, wtr, wbl, wbr] = &mut weights;
        for i in 0..simd_cols {
            let (lr, inv_lr) = (columns.lr[i], columns.inv_lr[i]);
            wtl[i] = inv_tbf * inv_lr;
            wtr[i] = inv_tbf * lr;
            wbl[i] = tbf * inv_lr;
            wbr[i] = tbf * lr;
        }
        for ((src, dst), rows) in src.iter().zip(dst.iter_mut()).zip(&mut cache) {
            rows.update(src, in_w, &columns.left, top, bottom);
            let out_row = &mut dst[r * out_w..(r + 1) * out_w];
            blend_f32(
                &mut out_row[..simd_cols],
                [&rows.top_l, &rows.top_r, &rows.bot_l, &rows.bot_r],
                &weights,
            );
            let (t, b) = (
                &src[top * in_w..(top + 1) * in_w],
                &src[bottom * in_w..(bottom + 1) * in_w],
            );
            for (o, &(l, rt, lr)) in out_row[simd_cols..].iter_mut().zip(&columns.tail) {
                let v = (1.0 - tb) * ((1.0 - lr) * f64::from(t[l]) + lr * f64::from(t[rt]))
                    + tb * ((1.0 - lr) * f64::from(b[l]) + lr * f64::from(b[rt]));
                *o = v as u8;
            }
        }
    }
}

/// dlib's f32 blend of the four neighbours, truncated.
fn blend_f32(out: &mut [u8], pixels: [&[f32]; 4], weights: &[Vec<f32>; 4]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { blend_f32_avx2(out, pixels, weights) };
        return;
    }
    blend_f32_portable(out, pixels, weights);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn blend_f32_avx2(out: &mut [u8], pixels: [&[f32]; 4], weights: &[Vec<f32>; 4]) {
    blend_f32_portable(out, pixels, weights);
}

#[inline(always)]
fn blend_f32_portable(
    out: &mut [u8],
    [tl, tr, bl, br]: [&[f32]; 4],
    [wtl, wtr, wbl, wbr]: &[Vec<f32>; 4],
) {
    let n = out.len();
    let (tl, tr, bl, br) = (&tl[..n], &tr[..n], &bl[..n], &br[..n]);
    let (wtl, wtr, wbl, wbr) = (&wtl[..n], &wtr[..n], &wbl[..n], &wbr[..n]);
    for i in 0..n {
        let v = wtl[i] * tl[i] + wtr[i] * tr[i] + wbl[i] * bl[i] + wbr[i] * br[i];
        // dlib truncates to int32, then keeps the low byte.
        // SAFETY: v is finite and in [0, 256]: a blend of values in
        // 0..=255 with weights in [0, 1] summing to 1 (to within rounding).
        out[i] = unsafe { v.to_int_unchecked::<i32>() } as u8;
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
