//! The compressed first pass of 1:N search: every row is also held as 4-bit
//! codes, one scale per row, which a scan reads at an eighth of the f32
//! rows' bytes. The scan estimates every row's normalised distance and keeps
//! the few nearest; the gallery then ranks those exactly in f32.
//!
//! A row `x` is coded `q_i = round(x_i / s) ∈ −8..=7` with `s = max|x_i| / 7`;
//! a probe `p` as `r_i = round(p_i / t) ∈ −127..=127` with `t = max|p_i| / 127`.
//! The estimate of `‖p − x‖²` is `‖p‖² + ‖x‖² − 2·s·t·Σ r_i q_i`: only the
//! dot product is approximated, and it is summed exactly, in integers.
//!
//! Codes are stored in blocks of [`BLOCK_ROWS`] rows so that one 64-byte
//! load holds the same eight dimensions of all sixteen rows, and one
//! multiply-add instruction advances sixteen rows' sums at once (AVX-512
//! VNNI's `vpdpbusd`, unsigned codes times signed probe bytes): in a block,
//! group `g` of eight dimensions takes 64 bytes, row `l`'s four at
//! `4l..4l + 4`; byte `j` holds dimension `8g + j` in its low nibble and
//! `8g + 4 + j` in its high one, each as `q + 8`.

use zeroize::Zeroize;

use crate::reserve_zeroizing;

/// Rows per block of codes: one 512-bit register of 32-bit sums.
const BLOCK_ROWS: usize = 16;
/// Dimensions per group: two nibbles in each of a row's four bytes.
const GROUP_DIMENSIONS: usize = 8;
const GROUP_BYTES: usize = BLOCK_ROWS * GROUP_DIMENSIONS / 2;
/// Stored codes are `q + CODE_BIAS`, unsigned as `vpdpbusd` wants them.
const CODE_BIAS: i32 = 8;

/// Every row of a gallery as 4-bit codes, with what turns their dot
/// products with a probe into estimated squared distances.
pub(crate) struct Codes {
    dimensions: usize,
    groups: usize,
    kernel: Kernel,
    rows: usize,
    /// Whole blocks; rows past `rows` in the last block are zero.
    bytes: Vec<u8>,
    scales: Vec<f32>,
    squared_norms: Vec<f32>,
}

/// A probe coded for the scan.
pub(crate) struct ProbeCode {
    /// Per group, two words of four signed bytes: dimensions `8g..8g + 4`,
    /// then `8g + 4..8g + 8`.
    words: Vec<i32>,
    scale: f32,
    /// `CODE_BIAS · Σ r_i`: what the stored codes' bias adds to each dot.
    bias: i32,
    squared_norm: f32,
}

impl ProbeCode {
    pub(crate) fn new(probe: &[f32]) -> Self {
        let groups = probe.len().div_ceil(GROUP_DIMENSIONS);
        let largest = probe.iter().fold(0.0f32, |m, c| m.max(c.abs()));
        let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        let mut codes = vec![0i8; groups * GROUP_DIMENSIONS];
        for (code, value) in codes.iter_mut().zip(probe) {
            *code = (value / scale).round().clamp(-127.0, 127.0) as i8;
        }
        let words = codes
            .chunks_exact(4)
            .map(|four| i32::from_le_bytes([four[0], four[1], four[2], four[3]].map(|c| c as u8)))
            .collect();
        ProbeCode {
            words,
            scale,
            bias: CODE_BIAS * codes.iter().map(|&c| i32::from(c)).sum::<i32>(),
            squared_norm: probe.iter().map(|c| c * c).sum(),
        }
    }
}

impl Codes {
    pub(crate) fn new(dimensions: usize) -> Self {
        Codes {
            dimensions,
            groups: dimensions.div_ceil(GROUP_DIMENSIONS),
            kernel: Kernel::detect(),
            rows: 0,
            bytes: Vec::new(),
            scales: Vec::new(),
            squared_norms: Vec::new(),
        }
    }

    fn block_bytes(&self) -> usize {
        self.groups * GROUP_BYTES
    }

    pub(crate) fn push(&mut self, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dimensions);
        if self.rows.is_multiple_of(BLOCK_ROWS) {
            let block = self.block_bytes();
            reserve_zeroizing(&mut self.bytes, block);
            self.bytes.resize(self.bytes.len() + block, 0);
        }
        reserve_zeroizing(&mut self.scales, 1);
        reserve_zeroizing(&mut self.squared_norms, 1);
        let largest = vector.iter().fold(0.0f32, |m, c| m.max(c.abs()));
        let scale = if largest > 0.0 { largest / 7.0 } else { 1.0 };
        self.scales.push(scale);
        self.squared_norms.push(vector.iter().map(|c| c * c).sum());
        self.rows += 1;
        let row = self.rows - 1;
        let code = |dimension: usize| {
            let value = vector.get(dimension).map_or(0.0, |v| v / scale);
            (value.round().clamp(-8.0, 7.0) as i32 + CODE_BIAS) as u8
        };
        for group in 0..self.groups {
            for j in 0..4 {
                let first = GROUP_DIMENSIONS * group + j;
                let at = self.byte_at(row, group, j);
                self.bytes[at] = code(first) | code(first + 4) << 4;
            }
        }
    }

    fn byte_at(&self, row: usize, group: usize, j: usize) -> usize {
        let (block, lane) = (row / BLOCK_ROWS, row % BLOCK_ROWS);
        block * self.block_bytes() + group * GROUP_BYTES + lane * 4 + j
    }

    /// Moves the last row into `row` and zeroes the vacated last row.
    pub(crate) fn swap_remove(&mut self, row: usize) {
        let last = self.rows - 1;
        for group in 0..self.groups {
            for j in 0..4 {
                let (from, to) = (self.byte_at(last, group, j), self.byte_at(row, group, j));
                self.bytes[to] = self.bytes[from];
                self.bytes[from] = 0;
            }
        }
        self.scales.swap_remove(row);
        self.squared_norms.swap_remove(row);
        self.rows = last;
        if last.is_multiple_of(BLOCK_ROWS) {
            // The last block is empty (and already zero).
            self.bytes.truncate(last / BLOCK_ROWS * self.block_bytes());
        }
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.zeroize();
        self.scales.zeroize();
        self.squared_norms.zeroize();
        self.rows = 0;
    }

    /// The `count` rows with the smallest estimated distance to `probe`
    /// plus their row's offset (`offsets`, one per row), in no order.
    pub(crate) fn nearest(&self, probe: &ProbeCode, offsets: &[f32], count: usize) -> Vec<usize> {
        debug_assert_eq!(offsets.len(), self.rows);
        let mut kept = Kept::new(count);
        let mut dots = [0i32; BLOCK_ROWS];
        for (block, bytes) in self.bytes.chunks_exact(self.block_bytes()).enumerate() {
            self.kernel.block_dots(bytes, &probe.words, &mut dots);
            let first = block * BLOCK_ROWS;
            let rows = first..(first + BLOCK_ROWS).min(self.rows);
            let (scales, norms) = (
                &self.scales[rows.clone()],
                &self.squared_norms[rows.clone()],
            );
            let mut estimates = [f32::INFINITY; BLOCK_ROWS];
            for (lane, estimate) in estimates.iter_mut().enumerate().take(rows.len()) {
                let dot = probe.scale * scales[lane] * (dots[lane] - probe.bias) as f32;
                let squared = probe.squared_norm + norms[lane] - 2.0 * dot;
                *estimate = squared.max(0.0).sqrt() + offsets[first + lane];
            }
            for (lane, &estimate) in estimates.iter().enumerate() {
                if estimate < kept.worst {
                    kept.offer(estimate, first + lane);
                }
            }
        }
        kept.rows()
    }
}

impl Drop for Codes {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The best `count` (estimate, row) pairs offered so far.
struct Kept {
    entries: Vec<(f32, usize)>,
    count: usize,
    /// What a row must beat to be kept: infinite until `count` are kept.
    worst: f32,
}

impl Kept {
    fn new(count: usize) -> Self {
        Kept {
            entries: Vec::with_capacity(count),
            count,
            worst: f32::INFINITY,
        }
    }

    fn offer(&mut self, estimate: f32, row: usize) {
        if self.entries.len() < self.count {
            self.entries.push((estimate, row));
        } else {
            // Few rows get here past the first blocks: a linear search for
            // the farthest is cheaper than keeping a heap.
            let farthest = (0..self.entries.len())
                .max_by(|&a, &b| self.entries[a].0.total_cmp(&self.entries[b].0))
                .expect("count > 0");
            self.entries[farthest] = (estimate, row);
        }
        if self.entries.len() == self.count {
            self.worst = self
                .entries
                .iter()
                .map(|e| e.0)
                .fold(f32::NEG_INFINITY, f32::max);
        }
    }

    fn rows(self) -> Vec<usize> {
        self.entries.into_iter().map(|(_, row)| row).collect()
    }
}

/// The block kernel available on this CPU, detected once per gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
            {
                return Kernel::Avx512Vnni;
            }
            if is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::Portable
    }

    /// Every kernel the running CPU supports, for tests to compare.
    #[cfg(test)]
    fn available() -> Vec<Self> {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                kernels.push(Kernel::Avx2);
            }
            if Kernel::detect() == Kernel::Avx512Vnni {
                kernels.push(Kernel::Avx512Vnni);
            }
        }
        kernels
    }

    /// `dots[l] = Σ_i (stored code of row l, dimension i) · r_i` for the
    /// sixteen rows of one block; `words` is a [`ProbeCode`]'s.
    #[inline]
    fn block_dots(self, block: &[u8], words: &[i32], dots: &mut [i32; BLOCK_ROWS]) {
        assert_eq!(block.len(), words.len() * GROUP_BYTES / 2, "one block");
        match self {
            // SAFETY: the variant exists only when `detect` found the CPU
            // features it is compiled for; the block holds the words' groups.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe { block_dots_avx512_vnni(block, words, dots) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { block_dots_avx2(block, words, dots) },
            Kernel::Portable => block_dots_portable(block, words, dots),
        }
    }
}

#[inline(always)]
fn block_dots_portable(block: &[u8], words: &[i32], dots: &mut [i32; BLOCK_ROWS]) {
    *dots = [0; BLOCK_ROWS];
    for (bytes, pair) in block.chunks_exact(GROUP_BYTES).zip(words.chunks_exact(2)) {
        let low = pair[0].to_le_bytes().map(|b| i32::from(b as i8));
        let high = pair[1].to_le_bytes().map(|b| i32::from(b as i8));
        for (dot, row) in dots.iter_mut().zip(bytes.chunks_exact(4)) {
            for j in 0..4 {
                *dot += i32::from(row[j] & 0x0f) * low[j] + i32::from(row[j] >> 4) * high[j];
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn block_dots_avx2(block: &[u8], words: &[i32], dots: &mut [i32; BLOCK_ROWS]) {
    block_dots_portable(block, words, dots)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn block_dots_avx512_vnni(block: &[u8], words: &[i32], dots: &mut [i32; BLOCK_ROWS]) {
    use std::arch::x86_64::{
        __m512i, _mm512_add_epi32, _mm512_and_si512, _mm512_dpbusd_epi32, _mm512_loadu_si512,
        _mm512_set1_epi8, _mm512_set1_epi32, _mm512_setzero_si512, _mm512_srli_epi16,
        _mm512_storeu_si512,
    };
    let nibble = _mm512_set1_epi8(0x0f);
    // Four sums, so that consecutive multiply-adds do not wait for each other.
    let mut sums: [__m512i; 4] = [_mm512_setzero_si512(); 4];
    for (group, pair) in words.chunks_exact(2).enumerate() {
        // SAFETY: `block_dots` checked that the block holds 64 bytes per
        // group, and `group` counts the words' groups.
        let bytes = unsafe { _mm512_loadu_si512(block.as_ptr().add(group * GROUP_BYTES).cast()) };
        let low = _mm512_and_si512(bytes, nibble);
        let high = _mm512_and_si512(_mm512_srli_epi16::<4>(bytes), nibble);
        let at = 2 * (group % 2);
        sums[at] = _mm512_dpbusd_epi32(sums[at], low, _mm512_set1_epi32(pair[0]));
        sums[at + 1] = _mm512_dpbusd_epi32(sums[at + 1], high, _mm512_set1_epi32(pair[1]));
    }
    let total = _mm512_add_epi32(
        _mm512_add_epi32(sums[0], sums[1]),
        _mm512_add_epi32(sums[2], sums[3]),
    );
    // SAFETY: `dots` is sixteen 32-bit integers, one register's worth.
    unsafe { _mm512_storeu_si512(dots.as_mut_ptr().cast(), total) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in −0.3..0.3, as descriptor components are.
    fn values(count: usize, seed: u64) -> Vec<f32> {
        let mut state = seed | 1;
        (0..count)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
                ((bits >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
            })
            .collect()
    }

    /// The plain definition: each row's codes and the probe's, multiplied.
    fn plain_estimates(rows: &[f32], probe: &[f32]) -> Vec<f32> {
        let dimensions = probe.len();
        let t = probe.iter().fold(0.0f32, |m, c| m.max(c.abs())) / 127.0;
        let r: Vec<i32> = probe.iter().map(|p| (p / t).round() as i32).collect();
        rows.chunks_exact(dimensions)
            .map(|x| {
                let s = x.iter().fold(0.0f32, |m, c| m.max(c.abs())) / 7.0;
                let dot: i32 = x
                    .iter()
                    .zip(&r)
                    .map(|(v, r)| (v / s).round().clamp(-8.0, 7.0) as i32 * r)
                    .sum();
                let norms: f32 = probe.iter().chain(x).map(|c| c * c).sum();
                (norms - 2.0 * s * t * dot as f32).max(0.0).sqrt()
            })
            .collect()
    }

    fn coded(rows: &[f32], dimensions: usize) -> Codes {
        let mut codes = Codes::new(dimensions);
        for row in rows.chunks_exact(dimensions) {
            codes.push(row);
        }
        codes
    }

    /// Every estimate, through `nearest` asked for all rows, one at a time.
    fn estimates(codes: &Codes, probe: &[f32]) -> Vec<f32> {
        let probe = ProbeCode::new(probe);
        (0..codes.rows)
            .map(|row| {
                // An offset that only `row` can overcome.
                let offsets: Vec<f32> = (0..codes.rows)
                    .map(|r| if r == row { -100.0 } else { 0.0 })
                    .collect();
                assert_eq!(codes.nearest(&probe, &offsets, 1), [row]);
                let mut dots = [0; BLOCK_ROWS];
                let block =
                    &codes.bytes[row / BLOCK_ROWS * codes.block_bytes()..][..codes.block_bytes()];
                codes.kernel.block_dots(block, &probe.words, &mut dots);
                let dot = (dots[row % BLOCK_ROWS] - probe.bias) as f32;
                (probe.squared_norm + codes.squared_norms[row]
                    - 2.0 * probe.scale * codes.scales[row] * dot)
                    .max(0.0)
                    .sqrt()
            })
            .collect()
    }

    #[test]
    fn estimates_follow_the_plain_definition_for_every_length() {
        for dimensions in [256, 128, 100] {
            let rows = values(37 * dimensions, dimensions as u64);
            let probe = values(dimensions, 7);
            let codes = coded(&rows, dimensions);
            let plain = plain_estimates(&rows, &probe);
            for (found, plain) in estimates(&codes, &probe).iter().zip(&plain) {
                assert!(
                    (found - plain).abs() <= 1e-5 * plain.max(1.0),
                    "{found} {plain}"
                );
            }
        }
    }

    #[test]
    fn every_kernel_sums_the_same_integers() {
        let dimensions = 256;
        let codes = coded(&values(48 * dimensions, 3), dimensions);
        let probe = ProbeCode::new(&values(dimensions, 11));
        let sums = |kernel: Kernel| {
            let mut all = Vec::new();
            for block in codes.bytes.chunks_exact(codes.block_bytes()) {
                let mut dots = [0; BLOCK_ROWS];
                kernel.block_dots(block, &probe.words, &mut dots);
                all.extend(dots);
            }
            all
        };
        let portable = sums(Kernel::Portable);
        for kernel in Kernel::available() {
            assert_eq!(sums(kernel), portable, "{kernel:?}");
        }
    }

    #[test]
    fn estimates_are_close_to_the_distances() {
        let dimensions = 256;
        let rows = values(200 * dimensions, 5);
        let probe = values(dimensions, 9);
        let codes = coded(&rows, dimensions);
        for (row, estimate) in rows.chunks_exact(dimensions).zip(estimates(&codes, &probe)) {
            let exact = row
                .iter()
                .zip(&probe)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt();
            assert!(
                (estimate - exact).abs() < 0.02 * exact,
                "{estimate} {exact}"
            );
        }
    }

    #[test]
    fn a_removed_row_leaves_the_others_as_they_were() {
        let dimensions = 128;
        let rows = values(33 * dimensions, 13);
        let probe = values(dimensions, 17);
        let mut codes = coded(&rows, dimensions);
        // Row 32, the only one of the third block, moves to 3; the block goes.
        codes.swap_remove(3);
        assert_eq!(codes.bytes.len(), 2 * codes.block_bytes());
        let mut expected_rows = rows.clone();
        expected_rows.copy_within(32 * dimensions.., 3 * dimensions);
        expected_rows.truncate(32 * dimensions);
        assert_eq!(
            estimates(&codes, &probe),
            estimates(&coded(&expected_rows, dimensions), &probe)
        );
        codes.clear();
        assert!(codes.bytes.is_empty());
        assert!(codes.nearest(&ProbeCode::new(&probe), &[], 4).is_empty());
    }

    #[test]
    fn nearest_keeps_the_smallest_estimates() {
        let dimensions = 128;
        let rows = values(100 * dimensions, 19);
        let probe = values(dimensions, 23);
        let codes = coded(&rows, dimensions);
        let offsets: Vec<f32> = (0..100).map(|r| r as f32 * 0.001).collect();
        let plain = plain_estimates(&rows, &probe);
        let mut by_estimate: Vec<usize> = (0..100).collect();
        by_estimate.sort_by(|&a, &b| (plain[a] + offsets[a]).total_cmp(&(plain[b] + offsets[b])));
        let mut found = codes.nearest(&ProbeCode::new(&probe), &offsets, 10);
        found.sort_unstable();
        let mut expected = by_estimate[..10].to_vec();
        expected.sort_unstable();
        assert_eq!(found, expected);
    }
}
