//! The primitives of dlib's `serialize.h`: integers, floats, bools, strings
//! and vectors, read from an in-memory byte slice.
//!
//! Integers are a control byte (high bit: negative; low 4 bits: byte count)
//! followed by the magnitude in little-endian order. Floats are a signed
//! 64-bit mantissa and a 16-bit exponent, both integers, meaning
//! `mantissa * 2^exponent`; three reserved exponents stand for +inf, -inf
//! and NaN. A bool is the ASCII byte `'1'` or `'0'`.

use thiserror::Error;

/// Why a model file could not be read.
#[derive(Debug, Error, PartialEq)]
pub enum FormatError {
    #[error("unexpected end of file at byte {offset} while reading {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("malformed {what} at byte {offset}")]
    Malformed { offset: usize, what: &'static str },
    #[error("unsupported {what}: {found}")]
    Unsupported { what: &'static str, found: String },
}

// Reserved exponents of dlib's `float_details`.
const EXPONENT_POS_INF: i64 = 32000;
const EXPONENT_NEG_INF: i64 = 32001;
const EXPONENT_NAN: i64 = 32002;

/// A cursor over the bytes of one dlib serialised file.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, offset: 0 }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// The next `n` raw bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        if self.remaining() < n {
            return Err(FormatError::Truncated {
                offset: self.offset,
                what,
            });
        }
        let out = &self.bytes[self.offset..self.offset + n];
        self.offset += n;
        Ok(out)
    }

    pub fn byte(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.bytes(1, what)?[0])
    }

    fn malformed(&self, what: &'static str) -> FormatError {
        FormatError::Malformed {
            offset: self.offset,
            what,
        }
    }

    /// A signed integer of any width dlib writes (short … int64).
    pub fn i64(&mut self, what: &'static str) -> Result<i64, FormatError> {
        let control = self.byte(what)?;
        let negative = control & 0x80 != 0;
        let magnitude = self.magnitude(control & 0x0F, what)?;
        let value = i64::try_from(magnitude).map_err(|_| self.malformed(what))?;
        Ok(if negative { -value } else { value })
    }

    /// An unsigned integer; a negative sign bit is an error, as in dlib.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        let control = self.byte(what)?;
        if control & 0x80 != 0 {
            return Err(self.malformed(what));
        }
        self.magnitude(control & 0x0F, what)
    }

    /// An unsigned integer used as a count or index.
    pub fn usize(&mut self, what: &'static str) -> Result<usize, FormatError> {
        let v = self.u64(what)?;
        usize::try_from(v).map_err(|_| self.malformed(what))
    }

    /// An `int`-typed value (dlib writes `int` and `long` alike).
    pub fn i32(&mut self, what: &'static str) -> Result<i32, FormatError> {
        let v = self.i64(what)?;
        i32::try_from(v).map_err(|_| self.malformed(what))
    }

    fn magnitude(&mut self, size: u8, what: &'static str) -> Result<u64, FormatError> {
        if size > 8 {
            return Err(self.malformed(what));
        }
        let raw = self.bytes(usize::from(size), what)?;
        Ok(raw
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A `float` or `double` in dlib's portable binary form.
    pub fn f64(&mut self, what: &'static str) -> Result<f64, FormatError> {
        // The old ASCII float format is never produced by the dlib versions
        // that wrote these models; its first byte has bits in 0x70.
        if self.bytes.get(self.offset).is_some_and(|b| b & 0x70 != 0) {
            return Err(FormatError::Unsupported {
                what: "float encoding",
                found: "dlib's legacy ASCII floats".into(),
            });
        }
        let mantissa = self.i64(what)?;
        let exponent = self.i64(what)?;
        Ok(match exponent {
            EXPONENT_POS_INF => f64::INFINITY,
            EXPONENT_NEG_INF => f64::NEG_INFINITY,
            EXPONENT_NAN => f64::NAN,
            e => {
                let e = i32::try_from(e).map_err(|_| self.malformed(what))?;
                (mantissa as f64) * 2f64.powi(e)
            }
        })
    }

    pub fn f32(&mut self, what: &'static str) -> Result<f32, FormatError> {
        Ok(self.f64(what)? as f32)
    }

    pub fn bool(&mut self, what: &'static str) -> Result<bool, FormatError> {
        match self.byte(what)? {
            b'1' => Ok(true),
            b'0' => Ok(false),
            _ => Err(self.malformed(what)),
        }
    }

    pub fn string(&mut self, what: &'static str) -> Result<String, FormatError> {
        let len = self.usize(what)?;
        let raw = self.bytes(len, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.malformed(what))
    }

    /// A length-prefixed sequence, each element read by `item`.
    pub fn vec<T>(
        &mut self,
        what: &'static str,
        mut item: impl FnMut(&mut Self) -> Result<T, FormatError>,
    ) -> Result<Vec<T>, FormatError> {
        let len = self.usize(what)?;
        // Every element takes at least one byte: a corrupt length cannot make
        // us reserve more memory than the file could describe.
        if len > self.remaining() {
            return Err(self.malformed(what));
        }
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(item(self)?);
        }
        Ok(out)
    }

    /// `n` raw little-endian f32 values (how dlib's dnn tensors store data).
    pub fn f32_le(&mut self, n: usize, what: &'static str) -> Result<Vec<f32>, FormatError> {
        let len = n.checked_mul(4).ok_or_else(|| self.malformed(what))?;
        let raw = self.bytes(len, what)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Fails unless every byte has been consumed.
    pub fn finish(self, what: &'static str) -> Result<(), FormatError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(FormatError::Malformed {
                offset: self.offset,
                what,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_dlib_control_byte() {
        // 300 = 0x012C -> control 2, bytes 2C 01; -5 -> control 0x81, 05; 0 -> control 0.
        let bytes = [0x02, 0x2C, 0x01, 0x81, 0x05, 0x00];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u64("a"), Ok(300));
        assert_eq!(r.i64("b"), Ok(-5));
        assert_eq!(r.usize("c"), Ok(0));
        assert!(r.finish("end").is_ok());
    }

    #[test]
    fn unsigned_rejects_sign_bit_and_oversize() {
        assert!(Reader::new(&[0x81, 0x05]).u64("x").is_err());
        assert!(
            Reader::new(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0])
                .u64("x")
                .is_err()
        );
    }

    #[test]
    fn floats_are_mantissa_times_power_of_two() {
        // 3 * 2^-1 = 1.5 ; mantissa -1, exponent 0 -> -1.0 ; exponent 32000 -> +inf
        let bytes = [
            0x01, 0x03, 0x81, 0x01, 0x81, 0x01, 0x00, 0x01, 0x01, 0x02, 0x00, 0x7D,
        ];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.f64("a"), Ok(1.5));
        assert_eq!(r.f64("b"), Ok(-1.0));
        assert_eq!(r.f64("c"), Ok(f64::INFINITY));
    }

    #[test]
    fn truncation_is_an_error_not_a_panic() {
        let mut r = Reader::new(&[0x04, 0x01]);
        assert!(matches!(r.u64("x"), Err(FormatError::Truncated { .. })));
        let mut r = Reader::new(&[0x05, b'a']);
        assert!(r.string("s").is_err());
        let mut r = Reader::new(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(r.vec("v", |r| r.byte("e")).is_err());
    }

    #[test]
    fn bools_strings_and_vectors() {
        let bytes = [
            b'1', b'0', 0x01, 0x02, b'h', b'i', 0x01, 0x02, 0x01, 0x07, 0x01, 0x08,
        ];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.bool("a"), Ok(true));
        assert_eq!(r.bool("b"), Ok(false));
        assert_eq!(r.string("c").as_deref(), Ok("hi"));
        assert_eq!(r.vec("d", |r| r.u64("e")), Ok(vec![7, 8]));
    }
}
