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

/// Converts one row of full-resolution Y, Cb, Cr into interleaved RGB with
/// libjpeg's fixed-point BT.601 (full range) coefficients and rounding.
pub(super) fn ycc_to_rgb_row(y: &[u8], cb: &[u8], cr: &[u8], rgb: &mut [u8]) {
    const CR_TO_R: i32 = fix(1.402);
    const CB_TO_B: i32 = fix(1.772);
    const CR_TO_G: i32 = fix(0.71414);
    const CB_TO_G: i32 = fix(0.34414);
    let clamp = |v: i32| v.clamp(0, 255) as u8;
    for (((px, &y), &cb), &cr) in rgb.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        let (y, cb, cr) = (i32::from(y), i32::from(cb) - 128, i32::from(cr) - 128);
        px[0] = clamp(y + ((CR_TO_R * cr + ONE_HALF) >> SCALE_BITS));
        px[1] = clamp(y + ((ONE_HALF - CB_TO_G * cb - CR_TO_G * cr) >> SCALE_BITS));
        px[2] = clamp(y + ((CB_TO_B * cb + ONE_HALF) >> SCALE_BITS));
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
/// h2v2 fancy upsampling). Edges repeat the outermost column. `sums` is
/// scratch space as long as `near`.
pub(super) fn double_row_from_two(near: &[u8], far: &[u8], sums: &mut [u16], out: &mut [u8]) {
    for ((sum, &n), &f) in sums.iter_mut().zip(near).zip(far) {
        *sum = 3 * u16::from(n) + u16::from(f);
    }
    let (Some(&first), Some(&last)) = (sums.first(), sums.last()) else {
        return;
    };
    let n = sums.len();
    if out.len() < 2 * n {
        return;
    }
    out[0] = ((4 * first + 8) >> 4) as u8;
    // Between each pair of neighbouring sums fall two outputs: the right
    // half of the left one and the left half of the right one.
    for (pair, out) in sums.windows(2).zip(out[1..2 * n - 1].chunks_exact_mut(2)) {
        let (left, right) = (pair[0], pair[1]);
        out[0] = ((3 * left + right + 7) >> 4) as u8;
        out[1] = ((3 * right + left + 8) >> 4) as u8;
    }
    out[2 * n - 1] = ((4 * last + 7) >> 4) as u8;
}

/// Doubles a row vertically only: 3/4 of the nearer chroma row and 1/4 of
/// the farther, rounding with +1 above and +2 below the chroma row
/// (libjpeg-turbo's h1v2 fancy upsampling).
pub(super) fn blend_rows(near: &[u8], far: &[u8], below: bool, out: &mut [u8]) {
    let round = if below { 2 } else { 1 };
    for ((o, &n), &f) in out.iter_mut().zip(near).zip(far) {
        *o = ((3 * u16::from(n) + u16::from(f) + round) >> 2) as u8;
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
        double_row_from_two(&[200; 4], &[200; 4], &mut [0; 4], &mut out);
        assert_eq!(out, [200; 8]);
    }

    #[test]
    fn grey_converts_to_equal_channels() {
        let mut rgb = [0u8; 6];
        ycc_to_rgb_row(&[0, 255], &[128, 128], &[128, 128], &mut rgb);
        assert_eq!(rgb, [0, 0, 0, 255, 255, 255]);
    }
}
