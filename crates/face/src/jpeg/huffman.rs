//! Huffman tables and the bit reader of the entropy-coded data.

use crate::decode::DecodeError;

/// Codes up to this long are decoded with one table look-up.
const FAST_BITS: u32 = 9;

/// A canonical Huffman table (JPEG Annex C) for decoding.
pub(super) struct HuffmanTable {
    /// For each `FAST_BITS`-bit prefix: `(length << 8) | symbol`, or 0 when
    /// the code is longer.
    fast: [u16; 1 << FAST_BITS],
    /// Largest code of each length (index = length), -1 if none.
    max_code: [i32; 17],
    /// Added to a code of each length to get its index in `symbols`.
    symbol_offset: [i32; 17],
    symbols: Vec<u8>,
}

impl HuffmanTable {
    /// Builds a table from a DHT's 16 code-length counts and its symbols.
    pub(super) fn new(counts: &[u8; 16], symbols: &[u8], is_dc: bool) -> Result<Self, DecodeError> {
        let bad = || DecodeError::Corrupt("bad Huffman table".into());
        if symbols.len() > 256 || (is_dc && symbols.iter().any(|&s| s > 15)) {
            return Err(bad());
        }
        let mut table = HuffmanTable {
            fast: [0; 1 << FAST_BITS],
            max_code: [-1; 17],
            symbol_offset: [0; 17],
            symbols: symbols.to_vec(),
        };
        let mut code: u32 = 0;
        let mut index: usize = 0;
        for length in 1..=16u32 {
            let count = usize::from(counts[length as usize - 1]);
            table.symbol_offset[length as usize] = index as i32 - code as i32;
            for _ in 0..count {
                let symbol = *symbols.get(index).ok_or_else(bad)?;
                if length <= FAST_BITS {
                    let spare = FAST_BITS - length;
                    let first = (code << spare) as usize;
                    let entry = ((length as u16) << 8) | u16::from(symbol);
                    table
                        .fast
                        .get_mut(first..first + (1 << spare))
                        .ok_or_else(bad)?
                        .fill(entry);
                }
                code += 1;
                index += 1;
            }
            // As libjpeg: codes must fit their length, all-ones excluded.
            if code >= 1 << length {
                return Err(bad());
            }
            if count > 0 {
                table.max_code[length as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Ok(table)
    }

    /// Reads one symbol.
    pub(super) fn decode(&self, bits: &mut BitReader) -> Result<u8, DecodeError> {
        bits.fill();
        let entry = self.fast[bits.peek(FAST_BITS) as usize];
        if entry != 0 {
            bits.consume(u32::from(entry >> 8));
            return Ok(entry as u8);
        }
        for length in FAST_BITS + 1..=16 {
            let code = bits.peek(length) as i32;
            if code <= self.max_code[length as usize] {
                bits.consume(length);
                let index = code + self.symbol_offset[length as usize];
                return usize::try_from(index)
                    .ok()
                    .and_then(|i| self.symbols.get(i).copied())
                    .ok_or_else(|| DecodeError::Corrupt("bad Huffman code".into()));
            }
        }
        Err(DecodeError::Corrupt("bad Huffman code".into()))
    }
}

/// Reads entropy-coded bits, undoing 0xFF byte stuffing and stopping at the
/// next marker (after which it supplies zeros, as libjpeg does).
pub(super) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Pending bits, most significant first.
    buffer: u64,
    count: u32,
    at_marker: bool,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            buffer: 0,
            count: 0,
            at_marker: false,
        }
    }

    /// Tops the buffer up to at least 57 bits.
    #[inline]
    fn fill(&mut self) {
        while self.count <= 56 {
            let byte = if self.at_marker {
                0
            } else {
                match self.data.get(self.pos) {
                    Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0x00) => {
                        self.pos += 2;
                        0xFF
                    }
                    Some(&0xFF) | None => {
                        self.at_marker = true;
                        0
                    }
                    Some(&b) => {
                        self.pos += 1;
                        b
                    }
                }
            };
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline]
    fn peek(&self, n: u32) -> u32 {
        (self.buffer >> (64 - n)) as u32
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        self.buffer <<= n;
        self.count = self.count.saturating_sub(n);
    }

    /// Reads `size` bits as a signed coefficient (JPEG's EXTEND procedure).
    pub(super) fn receive_extend(&mut self, size: u8) -> i32 {
        if size == 0 {
            return 0;
        }
        let size = u32::from(size.min(16));
        self.fill();
        let raw = self.peek(size) as i32;
        self.consume(size);
        if raw < 1 << (size - 1) {
            raw - (1 << size) + 1
        } else {
            raw
        }
    }

    /// Drops the bits left before a restart marker and steps over it.
    pub(super) fn restart(&mut self) -> Result<(), DecodeError> {
        self.buffer = 0;
        self.count = 0;
        self.at_marker = false;
        // Skip whatever padding remains up to the next marker.
        while let Some(rest) = self.data.get(self.pos..) {
            match rest {
                [0xFF, 0xD0..=0xD7, ..] => {
                    self.pos += 2;
                    return Ok(());
                }
                [0xFF, 0x00 | 0xFF, ..] => self.pos += 1,
                [0xFF, ..] | [] => break,
                [_, ..] => self.pos += 1,
            }
        }
        Err(DecodeError::Corrupt("restart marker missing".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(usize, u8)]) -> [u8; 16] {
        let mut counts = [0; 16];
        for &(length, n) in pairs {
            counts[length - 1] = n;
        }
        counts
    }

    #[test]
    fn decodes_short_and_long_codes() {
        // Codes: 0 -> 'a' (1 bit), 10 -> 'b' (2 bits), then ten-bit codes.
        let table = HuffmanTable::new(&counts(&[(1, 1), (2, 1), (10, 2)]), &[1, 2, 3, 4], true)
            .expect("valid");
        // 0 | 10 | 1100000000 | 1100000001, padded with ones.
        let data = [0b0101_1000, 0b0000_0110, 0b0000_0011];
        let mut bits = BitReader::new(&data);
        let symbols: Vec<u8> = (0..4)
            .map(|_| table.decode(&mut bits).expect("code"))
            .collect();
        assert_eq!(symbols, [1, 2, 3, 4]);
    }

    #[test]
    fn oversubscribed_or_out_of_range_tables_are_refused() {
        // Three one-bit codes cannot exist.
        assert!(HuffmanTable::new(&counts(&[(1, 3)]), &[0, 1, 2], false).is_err());
        // Both one-bit codes used leaves no prefix for anything longer.
        assert!(HuffmanTable::new(&counts(&[(1, 2)]), &[0, 1], false).is_err());
        // A DC difference needs at most 15 bits.
        assert!(HuffmanTable::new(&counts(&[(2, 1)]), &[16], true).is_err());
    }

    #[test]
    fn stuffed_bytes_and_markers_are_handled() {
        // 0xFF 0x00 is a data byte 0xFF; the marker after it yields zeros.
        let data = [0xFF, 0x00, 0xFF, 0xD9];
        let mut bits = BitReader::new(&data);
        assert_eq!(bits.receive_extend(8), 255);
        assert_eq!(bits.receive_extend(8), -255);
    }
}
