//! IEEE 754 binary16, the storage type of FP16 IR weights.

/// The `f32` equal to the half-precision number with bits `h` (exact: every
/// f16 value, subnormals, infinities and NaN included, is an f32 value).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        // Subnormal: mantissa * 2^-24, exactly representable as a normal f32.
        (0, m) => {
            let magnitude = m as f32 * f32::powi(2.0, -24);
            return if sign == 0 { magnitude } else { -magnitude };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_convert_exactly() {
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert!(f16_to_f32(0x8000).is_sign_negative());
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x83ff), -(1023.0 * 2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
    }

    #[test]
    fn every_finite_half_round_trips_through_its_decimal_value() {
        // Normal halves are m * 2^(e-25) with 1024 <= m < 2048.
        for h in 0x0400u16..0x7c00 {
            let e = i32::from(h >> 10);
            let m = f64::from(h & 0x3ff) + 1024.0;
            let want = m * 2f64.powi(e - 25);
            assert_eq!(f64::from(f16_to_f32(h)), want, "{h:#06x}");
        }
    }
}
