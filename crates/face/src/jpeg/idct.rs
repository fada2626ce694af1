//! The accurate integer inverse DCT that libjpeg calls JDCT_ISLOW: the
//! Loeffler–Ligtenberg–Moschytz factorisation in 13-bit fixed point, with
//! two extra bits of precision kept between the column and row passes.
//! Reproducing its exact constants and rounding is what makes our pixels
//! equal to PIL's.

/// Fraction bits of the fixed-point constants.
const CONST_BITS: u32 = 13;
/// Extra precision bits carried from the column pass to the row pass.
const PASS1_BITS: u32 = 2;

/// `round(c * 2^13)` for each cosine-derived constant the factorisation uses.
const F_0_298631336: i64 = 2446;
const F_0_390180644: i64 = 3196;
const F_0_541196100: i64 = 4433;
const F_0_765366865: i64 = 6270;
const F_0_899976223: i64 = 7373;
const F_1_175875602: i64 = 9633;
const F_1_501321110: i64 = 12299;
const F_1_847759065: i64 = 15137;
const F_1_961570560: i64 = 16069;
const F_2_053119869: i64 = 16819;
const F_2_562915447: i64 = 20995;
const F_3_072711026: i64 = 25172;

/// Divides by 2^bits, rounding halves up, as libjpeg's DESCALE does.
#[inline(always)]
fn descale(x: i64, bits: u32) -> i64 {
    (x + (1 << (bits - 1))) >> bits
}

/// One 8-point inverse transform of `s[0..8]` (strided by the caller),
/// returning the eight outputs still scaled by 2^CONST_BITS.
#[inline(always)]
fn butterfly(s: [i64; 8]) -> [i64; 8] {
    // Even part: inputs 0, 2, 4, 6.
    let z1 = (s[2] + s[6]) * F_0_541196100;
    let tmp2 = z1 - s[6] * F_1_847759065;
    let tmp3 = z1 + s[2] * F_0_765366865;
    let tmp0 = (s[0] + s[4]) << CONST_BITS;
    let tmp1 = (s[0] - s[4]) << CONST_BITS;
    let tmp10 = tmp0 + tmp3;
    let tmp13 = tmp0 - tmp3;
    let tmp11 = tmp1 + tmp2;
    let tmp12 = tmp1 - tmp2;

    // Odd part: inputs 7, 5, 3, 1.
    let (o0, o1, o2, o3) = (s[7], s[5], s[3], s[1]);
    let z1 = o0 + o3;
    let z2 = o1 + o2;
    let z3 = o0 + o2;
    let z4 = o1 + o3;
    let z5 = (z3 + z4) * F_1_175875602;
    let z1 = -z1 * F_0_899976223;
    let z2 = -z2 * F_2_562915447;
    let z3 = -z3 * F_1_961570560 + z5;
    let z4 = -z4 * F_0_390180644 + z5;
    let o0 = o0 * F_0_298631336 + z1 + z3;
    let o1 = o1 * F_2_053119869 + z2 + z4;
    let o2 = o2 * F_3_072711026 + z2 + z3;
    let o3 = o3 * F_1_501321110 + z1 + z4;

    [
        tmp10 + o3,
        tmp11 + o2,
        tmp12 + o1,
        tmp13 + o0,
        tmp13 - o0,
        tmp12 - o1,
        tmp11 - o2,
        tmp10 - o3,
    ]
}

/// Inverse-transforms one block of dequantised coefficients (natural order)
/// into 8×8 samples written at `out[offset + row * stride + col]`.
///
/// Arithmetic is 64-bit so that corrupt coefficients cannot overflow; for
/// valid data every intermediate fits 32 bits, as in libjpeg.
pub(super) fn idct_islow(coefs: &[i32; 64], out: &mut [u8], offset: usize, stride: usize) {
    let mut work = [0i64; 64];
    for col in 0..8 {
        let column: [i64; 8] = std::array::from_fn(|row| i64::from(coefs[row * 8 + col]));
        // A column with no AC energy is flat: the butterfly would give its
        // DC, scaled, in every row (libjpeg takes the same shortcut).
        if column[1..].iter().all(|&v| v == 0) {
            for row in 0..8 {
                work[row * 8 + col] = column[0] << PASS1_BITS;
            }
            continue;
        }
        let result = butterfly(column);
        for (row, v) in result.into_iter().enumerate() {
            work[row * 8 + col] = descale(v, CONST_BITS - PASS1_BITS);
        }
    }
    for row in 0..8 {
        let line: [i64; 8] = std::array::from_fn(|col| work[row * 8 + col]);
        // Same shortcut for flat rows.
        let result = if line[1..].iter().all(|&v| v == 0) {
            [line[0] << CONST_BITS; 8]
        } else {
            butterfly(line)
        };
        let start = offset + row * stride;
        if let Some(dest) = out.get_mut(start..start + 8) {
            for (d, v) in dest.iter_mut().zip(result) {
                // Level shift by 128 and clamp, as the SIMD builds of
                // libjpeg-turbo (which PIL ships) do.
                *d = (descale(v, CONST_BITS + PASS1_BITS + 3) + 128).clamp(0, 255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dc_only_block_is_flat() {
        let mut coefs = [0i32; 64];
        // DC of 80 -> 80 / 8 = 10 above mid-grey.
        coefs[0] = 80;
        let mut out = [0u8; 64];
        idct_islow(&coefs, &mut out, 0, 8);
        assert!(out.iter().all(|&v| v == 138), "{out:?}");
    }

    #[test]
    fn extreme_coefficients_clamp_without_overflow() {
        let coefs = [i32::MAX; 64];
        let mut out = [0u8; 64];
        idct_islow(&coefs, &mut out, 0, 8);
        let coefs = [i32::MIN; 64];
        idct_islow(&coefs, &mut out, 0, 8);
    }
}
