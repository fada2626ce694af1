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
use crate::nn::gemm::Kernel;

mod blend;

use blend::BlendRow;

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
pub fn pyramid_up(kernel: Kernel, image: &PlanarImage) -> Option<PlanarImage> {
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
    Some(resize_bilinear(kernel, image, out_w, out_h))
}

/// dlib's `pyramid_down<6>`: the image at 5/6 of its size (integer division).
pub fn pyramid_down_6(kernel: Kernel, image: &PlanarImage) -> PlanarImage {
    resize_bilinear(kernel, image, image.width() * 5 / 6, image.height() * 5 / 6)
}

/// dlib's `resize_image(in, out)` for RGB images (bilinear, corners
/// aligned); the caller keeps the output no larger than the input times a
/// small factor. The f32 columns run on the instruction set `kernel` names.
pub fn resize_bilinear(
    kernel: Kernel,
    image: &PlanarImage,
    out_w: usize,
    out_h: usize,
) -> PlanarImage {
    let (in_w, in_h) = (image.width, image.height);
    let mut planes: [Vec<u8>; 3] = std::array::from_fn(|_| vec![0u8; out_w * out_h]);
    if in_w > 0 && in_h > 0 && out_w > 0 && out_h > 0 {
        let columns = ColumnTable::new(in_w, out_w);
        resize_planes(kernel, image, &mut planes, out_w, out_h, &columns);
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
    left: Vec<u32>,
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
                left.push(l.max(0) as u32);
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

fn resize_planes(
    kernel: Kernel,
    image: &PlanarImage,
    dst: &mut [Vec<u8>; 3],
    out_w: usize,
    out_h: usize,
    columns: &ColumnTable,
) {
    let (in_w, in_h) = (image.width, image.height);
    let simd_cols = columns.left.len();
    let y_scale = (in_h - 1) as f64 / (out_h - 1).max(1) as f64;
    let mut y = -y_scale;
    for r in 0..out_h {
        y += y_scale;
        let top = (y.floor().max(0.0) as usize).min(in_h - 1);
        let bottom = (top + 1).min(in_h - 1);
        let tb = y - top as f64;
        for (src, dst) in image.planes.iter().zip(dst.iter_mut()) {
            let out_row = &mut dst[r * out_w..(r + 1) * out_w];
            BlendRow {
                plane: src,
                top: top * in_w,
                bottom: bottom * in_w,
                left: &columns.left,
                lr: &columns.lr,
                inv_lr: &columns.inv_lr,
                tb: tb as f32,
                inv_tb: (1.0 - tb) as f32,
            }
            .run(kernel, &mut out_row[..simd_cols]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_up_size_follows_dlib_geometry() {
        let img = PlanarImage::from_rgb(&RgbImage::from_raw(10, 6, vec![7; 180]).expect("valid"));
        let up = pyramid_up(Kernel::Portable, &img).expect("small");
        assert_eq!((up.width(), up.height()), (22, 13));
        // dlib truncates the f32 blend, so a flat 7 may come out as 6.
        assert!((0..3).all(|c| up.plane(c).iter().all(|&v| v == 7 || v == 6)));
        let down = pyramid_down_6(Kernel::Portable, &up);
        assert_eq!((down.width(), down.height()), (18, 10));
    }

    /// Odd sizes, up and down, so the vector kernels meet partial blocks
    /// and the plane's last row (where their gathers stop short).
    #[test]
    fn every_available_kernel_resizes_as_the_portable_code() {
        for (w, h) in [(3, 2), (10, 6), (37, 23), (131, 47)] {
            let raw: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
            let img = PlanarImage::from_rgb(&RgbImage::from_raw(w, h, raw).expect("valid"));
            for (out_w, out_h) in [(w * 5 / 6, h * 5 / 6), (2 * w + 2, 2 * h + 1), (w, h)] {
                let want = resize_bilinear(Kernel::Portable, &img, out_w, out_h);
                for kernel in Kernel::available() {
                    let got = resize_bilinear(kernel, &img, out_w, out_h);
                    for c in 0..3 {
                        assert_eq!(
                            got.plane(c),
                            want.plane(c),
                            "{kernel:?} {w}x{h} to {out_w}x{out_h}"
                        );
                    }
                }
            }
        }
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
