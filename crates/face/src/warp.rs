//! Affine resampling exactly as OpenCV's `warpAffine` does it for 8-bit
//! three-channel images with `INTER_LINEAR | WARP_INVERSE_MAP` and a
//! constant black border (OpenCV 4.11 and later, whose bilinear warp works
//! in single precision), and the similarity fit of Open Model Zoo's face
//! recognition demo. Together they cut the aligned face crops Intel's
//! models were made for.

use zeroize::Zeroize;

use crate::{Point, RgbImage};

/// A map from output pixel `(x, y)` to the source point it shows:
/// `(a x + b y + c, d x + e y + f)` for `[a, b, c, d, e, f]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [f64; 6]);

impl Affine {
    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, e, f] = self.0;
        (a * x + b * y + c, d * x + e * y + f)
    }

    /// The map OpenCV's `resize` samples with: output pixel centres spread
    /// evenly over `region` (left, top, width, height) at `width x height`.
    pub fn resize(region: (f64, f64, f64, f64), width: usize, height: usize) -> Affine {
        let (left, top, w, h) = region;
        let (sx, sy) = (w / width as f64, h / height as f64);
        Affine([
            sx,
            0.0,
            left + 0.5 * sx - 0.5,
            0.0,
            sy,
            top + 0.5 * sy - 0.5,
        ])
    }
}

/// RGB pixels of a resampled picture; zeroised on drop (it shows a face).
pub struct Warped {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Drop for Warped {
    fn drop(&mut self) {
        self.pixels.zeroize();
    }
}

impl std::fmt::Debug for Warped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Warped({}x{})", self.width, self.height)
    }
}

/// `width x height` pixels, each sampling `image` at `map` of its position
/// by OpenCV's arithmetic: coordinates and weights in `f32`, the column
/// term by a fused multiply-add onto the row term, neighbours outside the
/// image black, the result rounded half to even.
pub fn warp_affine(image: &RgbImage, map: &Affine, width: usize, height: usize) -> Warped {
    let m = map.0.map(|v| v as f32);
    let (cols, rows) = (image.width() as i64, image.height() as i64);
    let src = image.as_raw();
    let mut pixels = vec![0u8; width * height * 3];
    // The channels of source pixel (x, y), black outside the image.
    let fetch = |x: i64, y: i64| -> [f32; 3] {
        if (0..cols).contains(&x) && (0..rows).contains(&y) {
            let i = ((y * cols + x) * 3) as usize;
            [src[i], src[i + 1], src[i + 2]].map(f32::from)
        } else {
            [0.0; 3]
        }
    };
    for (y, row) in pixels.chunks_exact_mut(width * 3).enumerate() {
        let row_x = y as f32 * m[1] + m[2];
        let row_y = y as f32 * m[4] + m[5];
        for (x, out) in row.chunks_exact_mut(3).enumerate() {
            let sx = m[0].mul_add(x as f32, row_x);
            let sy = m[3].mul_add(x as f32, row_y);
            let (fx, fy) = (sx.floor(), sy.floor());
            // As OpenCV's integer conversion of an out-of-range value: far
            // outside, which the border test below catches.
            let (ix, iy) = (float_to_index(fx), float_to_index(fy));
            let (ax, ay) = (sx - fx, sy - fy);
            if ix < -1 || iy < -1 || ix >= cols || iy >= rows {
                continue; // all four neighbours outside: the border colour
            }
            let [p00, p01, p10, p11] =
                [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| fetch(ix + dx, iy + dy));
            for (ch, o) in out.iter_mut().enumerate() {
                let top = ax.mul_add(p01[ch] - p00[ch], p00[ch]);
                let bottom = ax.mul_add(p11[ch] - p10[ch], p10[ch]);
                let v = ay.mul_add(bottom - top, top);
                *o = v.round_ties_even().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Warped {
        width,
        height,
        pixels,
    }
}

/// A floored coordinate as an index; NaN and values beyond `i32` become a
/// value far outside any image.
fn float_to_index(v: f32) -> i64 {
    if v.is_finite() && v.abs() < 2e9 {
        v as i64
    } else {
        i64::MIN / 4
    }
}

/// The similarity that Open Model Zoo's face recognition demo fits
/// (`FaceIdentifier.get_transform`): both point sets centred and scaled by
/// their overall standard deviation, the rotation the orthogonal polar
/// factor of their cross-covariance (a reflection where that is one, as
/// the demo does not check), the scale the ratio of the deviations. It
/// maps `from` onto `to`; `None` for degenerate points.
pub fn fit_similarity(from: &[Point; 5], to: &[Point; 5]) -> Option<Affine> {
    let normalise = |points: &[Point; 5]| {
        let n = points.len() as f64;
        let mean = (
            points.iter().map(|p| p.x).sum::<f64>() / n,
            points.iter().map(|p| p.y).sum::<f64>() / n,
        );
        let centred = points.map(|p| (p.x - mean.0, p.y - mean.1));
        let deviation =
            (centred.iter().map(|(x, y)| x * x + y * y).sum::<f64>() / (2.0 * n)).sqrt();
        (
            mean,
            centred.map(|(x, y)| (x / deviation, y / deviation)),
            deviation,
        )
    };
    let (from_mean, from_n, from_dev) = normalise(from);
    let (to_mean, to_n, to_dev) = normalise(to);
    // A = from_n^T to_n (2 x 2).
    let (mut a, mut b, mut c, mut d) = (0.0, 0.0, 0.0, 0.0);
    for ((fx, fy), (tx, ty)) in from_n.iter().zip(&to_n) {
        a += fx * tx;
        b += fx * ty;
        c += fy * tx;
        d += fy * ty;
    }
    // Its orthogonal polar factor Q = U V^T: a rotation for det > 0, a
    // reflection for det < 0.
    let q = if a * d - b * c >= 0.0 {
        let (p, s) = (a + d, c - b);
        let norm = p.hypot(s);
        [p / norm, -s / norm, s / norm, p / norm]
    } else {
        let (p, s) = (a - d, b + c);
        let norm = p.hypot(s);
        [p / norm, s / norm, s / norm, -p / norm]
    };
    // The demo's rotation is Q^T, scaled.
    let scale = to_dev / from_dev;
    let r = [q[0] * scale, q[2] * scale, q[1] * scale, q[3] * scale];
    let map = Affine([
        r[0],
        r[1],
        to_mean.0 - (r[0] * from_mean.0 + r[1] * from_mean.1),
        r[2],
        r[3],
        to_mean.1 - (r[2] * from_mean.0 + r[3] * from_mean.1),
    ]);
    map.0.iter().all(|v| v.is_finite()).then_some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_similarity_is_recovered_from_its_points() {
        let from = [
            (10.0, 20.0),
            (50.0, 21.0),
            (30.0, 40.0),
            (15.0, 60.0),
            (45.0, 61.0),
        ]
        .map(|(x, y)| Point::new(x, y));
        let (angle, scale, shift): (f64, f64, (f64, f64)) = (0.3, 1.7, (-12.0, 40.0));
        let to = from.map(|p| {
            Point::new(
                scale * (angle.cos() * p.x - angle.sin() * p.y) + shift.0,
                scale * (angle.sin() * p.x + angle.cos() * p.y) + shift.1,
            )
        });
        let map = fit_similarity(&from, &to).expect("fits");
        for (f, t) in from.iter().zip(&to) {
            let (x, y) = map.apply(f.x, f.y);
            assert!((x - t.x).abs() < 1e-9 && (y - t.y).abs() < 1e-9);
        }
        assert!(fit_similarity(&[Point::new(1.0, 1.0); 5], &to).is_none());
    }

    #[test]
    fn identity_and_border() {
        let data: Vec<u8> = (0..4 * 3 * 3).map(|i| i as u8 * 7).collect();
        let image = RgbImage::from_raw(4, 3, data.clone()).expect("size");
        let same = warp_affine(&image, &Affine([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), 4, 3);
        assert_eq!(same.pixels, data);
        // Half a pixel left of the image: half of the first column.
        let shifted = warp_affine(&image, &Affine([1.0, 0.0, -0.5, 0.0, 1.0, 0.0]), 1, 1);
        assert_eq!(shifted.pixels, [0, 4, 7]);
        let outside = warp_affine(&image, &Affine([1.0, 0.0, 100.0, 0.0, 1.0, 0.0]), 2, 2);
        assert!(outside.pixels.iter().all(|&v| v == 0));
    }
}
