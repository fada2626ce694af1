//! Chroma upsampling and YCbCr → RGB, with libjpeg's default ("fancy")
//! triangle-filter upsampling and its fixed-point conversion tables, so the
//! rounding matches PIL's pixel for pixel.

/// Fraction bits of the colour-conversion fixed point.
const SCALE_BITS: u32 = 16;
const ONE_HALF: i32 = 1 << (SCALE_BITS - 1);

/// `round(x * 2^16)`, computed at compile time.
const fn fix(x: f64) -> i32 {
    (x * (1u32 << SCALE_BITS) as f64 + 0.5) as i32
}

/// Per-chroma-value contributions to R, G and B (ITU-R BT.601, full range).
pub(super) struct YccTables {
    cr_to_r: [i32; 256],
    cb_to_b: [i32; 256],
    cr_to_g: [i32; 256],
    cb_to_g: [i32; 256],
}

impl YccTables {
    pub(super) fn new() -> Self {
        let centred = |i: usize| i as i32 - 128;
        YccTables {
            cr_to_r: std::array::from_fn(|i| (fix(1.402) * centred(i) + ONE_HALF) >> SCALE_BITS),
            cb_to_b: std::array::from_fn(|i| (fix(1.772) * centred(i) + ONE_HALF) >> SCALE_BITS),
            cr_to_g: std::array::from_fn(|i| -fix(0.71414) * centred(i)),
            // The rounding half for G rides on the Cb term.
            cb_to_g: std::array::from_fn(|i| -fix(0.34414) * centred(i) + ONE_HALF),
        }
    }

    /// Converts one row of full-resolution Y, Cb, Cr into interleaved RGB.
    pub(super) fn convert_row(&self, y: &[u8], cb: &[u8], cr: &[u8], rgb: &mut [u8]) {
        let clamp = |v: i32| v.clamp(0, 255) as u8;
        for (((px, &y), &cb), &cr) in rgb.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
            let (y, cb, cr) = (i32::from(y), usize::from(cb), usize::from(cr));
            px[0] = clamp(y + self.cr_to_r[cr]);
            px[1] = clamp(y + ((self.cb_to_g[cb] + self.cr_to_g[cr]) >> SCALE_BITS));
            px[2] = clamp(y + self.cb_to_b[cb]);
        }
    }
}

/// Doubles a row horizontally: each output sample weighs its own input 3/4
/// and the nearer neighbour 1/4, rounding alternately down and up so the
/// errors do not drift (libjpeg's h2v1 fancy upsampling). The edges repeat
/// the outermost input. `input.len()` must be at least 2.
pub(super) fn double_row(input: &[u8], out: &mut [u8]) {
    let n = input.len();
    for (i, pair) in out.chunks_exact_mut(2).take(n).enumerate() {
        let here = 3 * u16::from(input[i]);
        let left = u16::from(input[i.saturating_sub(1)]);
        let right = u16::from(input[(i + 1).min(n - 1)]);
        pair[0] = if i == 0 {
            input[0]
        } else {
            ((here + left + 1) >> 2) as u8
        };
        pair[1] = if i == n - 1 {
            input[i]
        } else {
            ((here + right + 2) >> 2) as u8
        };
    }
}

/// Doubles a row in both directions: `near` is the chroma row closest to the
/// output row (weight 3/4) and `far` the one on its other side (1/4); then
/// the horizontal 3/4–1/4 step, rounding with +8 and +7 alternately (libjpeg's
/// h2v2 fancy upsampling). Edges repeat the outermost column.
pub(super) fn double_row_from_two(near: &[u8], far: &[u8], out: &mut [u8]) {
    let n = near.len().min(far.len());
    let sum = |i: usize| 3 * u32::from(near[i]) + u32::from(far[i]);
    for (i, pair) in out.chunks_exact_mut(2).take(n).enumerate() {
        let here = sum(i);
        let left = if i == 0 { here } else { sum(i - 1) };
        let right = if i + 1 == n { here } else { sum(i + 1) };
        pair[0] = ((3 * here + left + 8) >> 4) as u8;
        pair[1] = ((3 * here + right + 7) >> 4) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_chroma_stays_flat() {
        let mut out = [0u8; 8];
        double_row(&[77; 4], &mut out);
        assert_eq!(out, [77; 8]);
        double_row_from_two(&[200; 4], &[200; 4], &mut out);
        assert_eq!(out, [200; 8]);
    }

    #[test]
    fn grey_converts_to_equal_channels() {
        let tables = YccTables::new();
        let mut rgb = [0u8; 6];
        tables.convert_row(&[0, 255], &[128, 128], &[128, 128], &mut rgb);
        assert_eq!(rgb, [0, 0, 0, 255, 255, 255]);
    }
}
