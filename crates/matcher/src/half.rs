//! IEEE 754 half-precision numbers (binary16) as their bits: how the
//! compressed scan stores each row's scale, squared norm and offset, two
//! bytes each, beside its codes.

/// `value` rounded to the nearest half-precision number (ties to even);
/// beyond the largest finite one (65,504) or not a number, infinity.
pub(crate) fn to_half(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let magnitude = f32::from_bits(bits & 0x7fff_ffff);
    if magnitude >= 65_520.0 || magnitude.is_nan() {
        // 65,520 and above round to infinity; NaN has no place here either.
        return sign | 0x7c00;
    }
    if magnitude < SMALLEST_NORMAL {
        // Subnormal: a multiple of 2^-24, rounded; 1024 of them is the
        // smallest normal number, whose bits are the same integer.
        return sign | (magnitude * 16_777_216.0).round_ties_even() as u16;
    }
    let bits = magnitude.to_bits();
    // Round the mantissa's 13 dropped bits to even; a carry moves into the
    // exponent as it should. Then rebias the exponent from 127 to 15.
    let rounded = bits + 0x0fff + ((bits >> 13) & 1);
    sign | ((rounded >> 13) - (112 << 10)) as u16
}

/// The value of a finite half-precision number. Its exponent and mantissa,
/// moved to where a single's are, read as that single 2^-112 times the
/// value, subnormals included, so one exact multiplication rebiases it (the
/// same bit operations a vector kernel can do lane by lane).
#[inline(always)]
pub(crate) fn from_half(half: u16) -> f32 {
    let sign = u32::from(half & 0x8000) << 16;
    let magnitude = f32::from_bits(u32::from(half & 0x7fff) << 13) * REBIAS;
    f32::from_bits(magnitude.to_bits() | sign)
}

/// Whether `half` is a finite number.
pub(crate) fn is_finite_half(half: u16) -> bool {
    half & 0x7c00 != 0x7c00
}

const SMALLEST_NORMAL: f32 = 6.103_515_6e-5; // 2^-14
/// 2^112.
const REBIAS: f32 = 5.192_297e33;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_to_nearest_even() {
        for (value, bits) in [
            (0.0, 0x0000),
            (-0.0, 0x8000),
            (1.0, 0x3c00),
            (-2.0, 0xc000),
            (1.0 / 3.0, 0x3555),
            (65_504.0, 0x7bff),
            (65_519.0, 0x7bff),
            (65_520.0, 0x7c00),
            (f32::INFINITY, 0x7c00),
            (5.960_464_5e-8, 0x0001), // 2^-24
            (SMALLEST_NORMAL, 0x0400),
            // Halfway between 1 and the next half: to the even one, 1.
            (1.0 + 1.0 / 2048.0, 0x3c00),
            (1.0 + 3.0 / 2048.0, 0x3c02),
        ] {
            assert_eq!(to_half(value), bits, "{value}");
        }
        assert_eq!(to_half(f32::NAN) & 0x7c00, 0x7c00);
        assert!(!is_finite_half(to_half(1e5)) && is_finite_half(to_half(-1e4)));
    }

    #[test]
    fn every_finite_half_reads_back_as_itself() {
        for half in (0..=0xffffu16).filter(|&h| is_finite_half(h)) {
            let value = from_half(half);
            assert_eq!(to_half(value), half, "{half:#06x}");
            // Exactly the value binary16 defines.
            let exponent = i32::from((half >> 10) & 0x1f);
            let mantissa = f64::from(half & 0x3ff);
            let magnitude = if exponent == 0 {
                mantissa * 2f64.powi(-24)
            } else {
                (1024.0 + mantissa) * 2f64.powi(exponent - 25)
            };
            let sign = if half & 0x8000 == 0 { 1.0 } else { -1.0 };
            assert_eq!(f64::from(value), sign * magnitude, "{half:#06x}");
        }
    }

    #[test]
    fn a_value_rounds_to_the_nearer_neighbour() {
        for value in [0.0371f32, 0.999, 1.2345, 311.7, -0.5001, 1.5e-6, 40_000.3] {
            let nearest = from_half(to_half(value));
            let step = (from_half(to_half(value) + 1) - nearest).abs();
            assert!((nearest - value).abs() <= step / 2.0, "{value}");
        }
    }
}
