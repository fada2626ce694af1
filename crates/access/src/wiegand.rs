//! Card formats in which a reader reports an ACS id: the id's number in a
//! fixed count of raw bits, or the common Wiegand formats with a facility
//! code and parity bits.
//!
//! Bits are kept as OSDP carries them: first bit in the most significant bit
//! of the first byte, the last byte padded with zeros.

/// How an ACS id is encoded on the card a reader reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFormat {
    /// The ACS id as an unsigned number of `bits` bits (1 to 64), no parity.
    Raw { bits: u8 },
    /// HID H10301: even parity, 8-bit facility code, 16-bit card number, odd parity.
    Wiegand26 { facility: u8 },
    /// HID H10306: even parity, 16-bit facility code, 16-bit card number, odd parity.
    Wiegand34 { facility: u16 },
}

/// The bits of one card read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardBits {
    /// Number of valid bits in `bytes`.
    pub len: usize,
    pub bytes: Vec<u8>,
}

/// Why an ACS id cannot be put on a card of a format.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CardFormatError {
    #[error("ACS id is not a decimal number")]
    NotANumber,
    #[error("ACS id {id} does not fit the card number's range 0..={max}")]
    OutOfRange { id: u64, max: u64 },
    #[error("raw card formats have 1 to 64 bits, not {0}")]
    BadBitCount(u8),
    #[error("card format must be raw:BITS, wiegand26:FACILITY or wiegand34:FACILITY, not {0:?}")]
    Unrecognised(String),
}

impl std::str::FromStr for CardFormat {
    type Err = CardFormatError;

    /// Parses the agent's `--osdp-card-format`: `raw:32`, `wiegand26:18`, `wiegand34:4711`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unrecognised = || CardFormatError::Unrecognised(text.to_owned());
        let (kind, number) = text.split_once(':').ok_or_else(unrecognised)?;
        match kind {
            "raw" => {
                let bits = number.parse().map_err(|_| unrecognised())?;
                if !(1..=64).contains(&bits) {
                    return Err(CardFormatError::BadBitCount(bits));
                }
                Ok(CardFormat::Raw { bits })
            }
            "wiegand26" => Ok(CardFormat::Wiegand26 {
                facility: number.parse().map_err(|_| unrecognised())?,
            }),
            "wiegand34" => Ok(CardFormat::Wiegand34 {
                facility: number.parse().map_err(|_| unrecognised())?,
            }),
            _ => Err(unrecognised()),
        }
    }
}

/// Written as the agent's `--osdp-card-format` takes it.
impl std::fmt::Display for CardFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CardFormat::Raw { bits } => write!(f, "raw:{bits}"),
            CardFormat::Wiegand26 { facility } => write!(f, "wiegand26:{facility}"),
            CardFormat::Wiegand34 { facility } => write!(f, "wiegand34:{facility}"),
        }
    }
}

impl CardFormat {
    /// Encodes `acs_id` (a decimal card number, as access systems number
    /// their credentials) in this format.
    pub fn encode(&self, acs_id: &str) -> Result<CardBits, CardFormatError> {
        // `u64::from_str` alone would accept a leading '+'.
        if acs_id.is_empty() || !acs_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardFormatError::NotANumber);
        }
        let id: u64 = acs_id.parse().map_err(|_| CardFormatError::OutOfRange {
            id: u64::MAX,
            max: self.max_card_number(),
        })?;
        if let CardFormat::Raw { bits } = *self
            && !(1..=64).contains(&bits)
        {
            return Err(CardFormatError::BadBitCount(bits));
        }
        let max = self.max_card_number();
        if id > max {
            return Err(CardFormatError::OutOfRange { id, max });
        }
        let mut bits = BitWriter::default();
        match *self {
            CardFormat::Raw { bits: count } => bits.push(id, count),
            CardFormat::Wiegand26 { facility } => {
                bits.push_with_parity(u64::from(facility), 8, id, 16)
            }
            CardFormat::Wiegand34 { facility } => {
                bits.push_with_parity(u64::from(facility), 16, id, 16)
            }
        }
        Ok(bits.finish())
    }

    fn max_card_number(&self) -> u64 {
        match *self {
            CardFormat::Raw { bits } if bits >= 64 => u64::MAX,
            CardFormat::Raw { bits } => (1u64 << bits) - 1,
            CardFormat::Wiegand26 { .. } | CardFormat::Wiegand34 { .. } => u64::from(u16::MAX),
        }
    }
}

#[derive(Default)]
struct BitWriter {
    bits: Vec<bool>,
}

impl BitWriter {
    /// Appends the low `count` bits of `value`, most significant first.
    fn push(&mut self, value: u64, count: u8) {
        for shift in (0..count).rev() {
            self.bits.push(value >> shift & 1 == 1);
        }
    }

    /// Facility code and card number framed by a leading even parity bit
    /// over the first half of the data bits and a trailing odd parity bit
    /// over the second half.
    fn push_with_parity(&mut self, facility: u64, facility_bits: u8, card: u64, card_bits: u8) {
        let mut data = BitWriter::default();
        data.push(facility, facility_bits);
        data.push(card, card_bits);
        let (first, second) = data.bits.split_at(data.bits.len() / 2);
        let ones = |half: &[bool]| half.iter().filter(|&&b| b).count();
        self.bits.push(ones(first) % 2 == 1);
        self.bits.extend_from_slice(&data.bits);
        self.bits.push(ones(second) % 2 == 0);
    }

    fn finish(self) -> CardBits {
        let mut bytes = vec![0u8; self.bits.len().div_ceil(8)];
        for (i, _) in self.bits.iter().enumerate().filter(|(_, b)| **b) {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
        CardBits {
            len: self.bits.len(),
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bits as a string of '0' and '1', for comparison with hand-worked
    /// examples.
    fn bit_string(card: &CardBits) -> String {
        (0..card.len)
            .map(|i| {
                if card.bytes[i / 8] & (0x80 >> (i % 8)) != 0 {
                    '1'
                } else {
                    '0'
                }
            })
            .collect()
    }

    #[test]
    fn wiegand_26_worked_examples() {
        // FC 1, card 1: the first half (00000001 0000) has one 1, so even
        // parity is 1; the second half (000000000001) has one 1, so odd parity is 0.
        let card = CardFormat::Wiegand26 { facility: 1 }
            .encode("1")
            .expect("fits");
        assert_eq!(
            bit_string(&card),
            "1_00000001_0000000000000001_0".replace('_', "")
        );
        // FC 0, card 0: no ones anywhere: even parity 0, odd parity 1.
        let card = CardFormat::Wiegand26 { facility: 0 }
            .encode("0")
            .expect("fits");
        assert_eq!(bit_string(&card), "00000000000000000000000001");
        // FC 255, card 65535: twelve ones in each half.
        let card = CardFormat::Wiegand26 { facility: 255 }
            .encode("65535")
            .expect("fits");
        assert_eq!(bit_string(&card), "01111111111111111111111111");
        assert_eq!(card.len, 26);
        assert_eq!(card.bytes.len(), 4);
        // FC 18, card 4660 (0x1234): 00010010 0001 | 001000110100.
        let card = CardFormat::Wiegand26 { facility: 18 }
            .encode("4660")
            .expect("fits");
        assert_eq!(
            bit_string(&card),
            "1_00010010_0001001000110100_1".replace('_', "")
        );
    }

    #[test]
    fn wiegand_34_worked_example() {
        // FC 0x0102, card 0x0304: 0000000100000010 | 0000001100000100.
        // First half has two ones (even parity 0), second half three (odd parity 0).
        let card = CardFormat::Wiegand34 { facility: 0x0102 }
            .encode("772")
            .expect("fits");
        assert_eq!(
            bit_string(&card),
            "0_0000000100000010_0000001100000100_0".replace('_', "")
        );
        assert_eq!(card.bytes.len(), 5);
    }

    #[test]
    fn raw_bits_are_the_number_most_significant_first() {
        let card = CardFormat::Raw { bits: 12 }.encode("2748").expect("fits"); // 0xABC
        assert_eq!(bit_string(&card), "101010111100");
        assert_eq!(card.bytes, [0xAB, 0xC0]);
        let card = CardFormat::Raw { bits: 64 }
            .encode("18446744073709551615")
            .expect("fits");
        assert_eq!(card.bytes, [0xFF; 8]);
    }

    #[test]
    fn parses_the_agents_format_option() {
        assert_eq!("raw:32".parse(), Ok(CardFormat::Raw { bits: 32 }));
        assert_eq!(
            "wiegand26:18".parse(),
            Ok(CardFormat::Wiegand26 { facility: 18 })
        );
        assert_eq!(
            "wiegand34:4711".parse(),
            Ok(CardFormat::Wiegand34 { facility: 4711 })
        );
        assert_eq!(
            "raw:0".parse::<CardFormat>(),
            Err(CardFormatError::BadBitCount(0))
        );
        for bad in [
            "raw",
            "raw:",
            "wiegand26:256",
            "wiegand34:-1",
            "wiegand37:1",
            "",
        ] {
            assert_eq!(
                bad.parse::<CardFormat>(),
                Err(CardFormatError::Unrecognised(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn displays_as_the_option_it_parses_from() {
        for text in ["raw:32", "raw:64", "wiegand26:18", "wiegand34:4711"] {
            let format: CardFormat = text.parse().expect("valid format");
            assert_eq!(format.to_string(), text);
        }
    }

    #[test]
    fn refuses_ids_that_do_not_fit() {
        let w26 = CardFormat::Wiegand26 { facility: 7 };
        assert_eq!(
            w26.encode("65536"),
            Err(CardFormatError::OutOfRange {
                id: 65536,
                max: 65535
            })
        );
        assert_eq!(w26.encode("+5"), Err(CardFormatError::NotANumber));
        assert_eq!(w26.encode(""), Err(CardFormatError::NotANumber));
        assert_eq!(w26.encode("E-1234"), Err(CardFormatError::NotANumber));
        assert!(matches!(
            w26.encode("99999999999999999999999"),
            Err(CardFormatError::OutOfRange { .. })
        ));
        assert_eq!(
            CardFormat::Raw { bits: 4 }.encode("16"),
            Err(CardFormatError::OutOfRange { id: 16, max: 15 })
        );
        assert_eq!(
            CardFormat::Raw { bits: 0 }.encode("0"),
            Err(CardFormatError::BadBitCount(0))
        );
        assert_eq!(
            CardFormat::Raw { bits: 65 }.encode("0"),
            Err(CardFormatError::BadBitCount(65))
        );
    }
}
