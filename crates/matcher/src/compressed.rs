//! The compressed first pass of 1:N search. Every row is also held as a
//! 4-bit scalar code per number, split into two planes of 2 bits: the scan
//! reads only the coarse plane (the high bits, a sixteenth of the f32 row's
//! bytes) and estimates every row's normalised distance; the rows within
//! [`COARSE_MARGIN`] of the nearest are estimated again with both planes
//! (4 bits), and the few nearest by that estimate go back to the gallery to
//! be ranked exactly in f32.
//!
//! A row `x` of `d` numbers is coded with the step `s = STEP_PER_RMS · ‖x‖/√d`
//! as `q_i = clamp(⌊x_i / s⌋ + 8, 0, 15)`, `c_i = q_i >> 2` (coarse) and
//! `f_i = q_i & 3` (fine). The coarse plane stands for `x ≈ α·(2c − 3)`, the
//! full code for `x ≈ β·(2q − 15)`, each scale the least-squares fit to the
//! row. A probe `p` is coded `r_i = round(p_i / t) ∈ −127..=127` with
//! `t = max|p_i| / 127`, and `‖p − x‖² ≈ ‖p‖² + ‖x‖² − 2·t·α·Σ r_i (2c_i − 3)`
//! (or with `β` and `q`): only the dot product is approximated, and it is
//! summed exactly, in integers. No codebook is trained, so a gallery that
//! grows never waits for one.
//!
//! Coarse codes are stored in blocks of [`BLOCK_ROWS`] rows so that one
//! 64-byte load holds the same sixteen numbers of all sixteen rows and one
//! multiply-add instruction advances sixteen rows' sums (AVX-512 VNNI's
//! `vpdpbusd`, unsigned codes times signed probe bytes): in a block, group
//! `g` of sixteen numbers takes 64 bytes, row `l`'s four at `4l..4l + 4`;
//! bits `2k..2k + 2` of byte `j` hold number `16g + 4k + j`. After its
//! codes, a block holds its rows' coarse scales, squared norms and offsets
//! as half-precision numbers (sixteen of each, in that order), so that the
//! scan reads one stream: 70 bytes a 256-number row. Fine codes are
//! stored row after row (64 bytes, one cache line, for 256 numbers), since
//! only a few rows' are read: bits `2k..2k + 2` of byte `b` hold number
//! `4b + k`.

use zeroize::Zeroize;

use crate::half::{is_finite_half, to_half};
use crate::{MAX_VECTORS_PER_PERSON, reserve_zeroizing};

mod block_scan;
use block_scan::Kernel;

/// Rows per block of coarse codes: one 512-bit register of 32-bit sums.
const BLOCK_ROWS: usize = 16;
/// Numbers per group: four 2-bit codes in each of a row's four bytes.
const GROUP_NUMBERS: usize = 16;
const GROUP_BYTES: usize = BLOCK_ROWS * GROUP_NUMBERS / 4;
/// A block's coarse scales, squared norms and offsets: [`SIDE_NUMBERS`]
/// runs of [`BLOCK_ROWS`] half-precision numbers.
const SIDE_NUMBERS: usize = 3;
const SIDE_BYTES: usize = SIDE_NUMBERS * BLOCK_ROWS * 2;
/// The code's step as a fraction of the row's root mean square: the coarse
/// plane's thresholds fall at 0 and ±1.2 root mean squares (a near-optimal
/// 2-bit quantiser of normally spread numbers), the full code clips at ±2.4.
const STEP_PER_RMS: f32 = 0.3;
/// How much farther than the [`RANK_GUARD`]-th nearest row by coarse
/// estimate a row may be estimated and still be estimated again with both
/// planes. On a synthetic gallery of a million unit vectors spread as
/// lfw-dev's descriptors (`limen bench matcher`'s), the nearest and
/// second-nearest people's rows lay at most 0.047 beyond that row in 100
/// probes (99th percentile 0.039); 0.08 keeps about 4,500 rows of a
/// million for the second estimate (BENCHMARKS.md).
pub(crate) const COARSE_MARGIN: f32 = 0.08;
/// The margin counts from this row by coarse estimate: among the nearest
/// this many rows at least two people are, so both the nearest and the
/// second-nearest person stay when the estimates err by less than half the
/// margin.
const RANK_GUARD: usize = MAX_VECTORS_PER_PERSON + 1;

/// Every row of a gallery as 2 + 2-bit codes, with what turns their dot
/// products with a probe into estimated squared distances.
pub(crate) struct Codes {
    dimensions: usize,
    groups: usize,
    kernel: Kernel,
    rows: usize,
    /// Whole blocks of coarse codes and side numbers; rows past `rows` in
    /// the last block are zero.
    blocks: Vec<u8>,
    /// `groups · 4` bytes per row.
    fine: Vec<u8>,
    full_scales: Vec<f32>,
    squared_norms: Vec<f32>,
    /// Whether every row's side numbers are finite in half precision: a
    /// row too large for it (a squared norm past 65,504) cannot be scanned,
    /// and its gallery is searched exactly.
    scannable: bool,
}

/// A probe coded for the scan.
pub(crate) struct ProbeCode {
    /// The probe's codes, zero past its length to whole groups.
    codes: Vec<i8>,
    /// Per group, four words of four signed bytes: numbers `16g + 4k..+4`
    /// for `k` in `0..4`.
    words: Vec<i32>,
    scale: f32,
    /// `Σ r_i`.
    sum: i32,
    squared_norm: f32,
}

impl ProbeCode {
    pub(crate) fn new(probe: &[f32]) -> Self {
        let groups = probe.len().div_ceil(GROUP_NUMBERS);
        let largest = probe.iter().fold(0.0f32, |m, c| m.max(c.abs()));
        let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        let mut codes = vec![0i8; groups * GROUP_NUMBERS];
        for (code, value) in codes.iter_mut().zip(probe) {
            *code = (value / scale).round().clamp(-127.0, 127.0) as i8;
        }
        let words = codes
            .chunks_exact(4)
            .map(|four| i32::from_le_bytes([four[0], four[1], four[2], four[3]].map(|c| c as u8)))
            .collect();
        ProbeCode {
            sum: codes.iter().map(|&c| i32::from(c)).sum(),
            codes,
            words,
            scale,
            squared_norm: probe.iter().map(|c| c * c).sum(),
        }
    }
}

impl ProbeCode {
    /// The estimated squared distance to a row from `coarse = Σ r_i c_i`.
    #[inline(always)]
    fn coarse_squared(&self, coarse: i32, scale: f32, squared_norm: f32) -> f32 {
        let dot = (4 * coarse - 6 * self.sum) as f32;
        self.squared_norm + squared_norm - self.scale * scale * dot
    }

    /// The estimated squared distance to a row from `full = Σ r_i q_i`.
    #[inline(always)]
    fn full_squared(&self, full: i32, scale: f32, squared_norm: f32) -> f32 {
        let dot = (4 * full - 30 * self.sum) as f32;
        self.squared_norm + squared_norm - self.scale * scale * dot
    }
}

/// What a block kernel finds, one lane per row of the block: the coarse
/// sum `Σ_i c_i r_i` and the coarse estimate of the distance plus offset.
#[derive(Default)]
struct Lanes {
    sums: [i32; BLOCK_ROWS],
    estimates: [f32; BLOCK_ROWS],
}

/// One row's codes and their least-squares scales.
struct RowCode {
    codes: Vec<u8>,
    coarse_scale: f32,
    full_scale: f32,
}

fn code_row(vector: &[f32], padded: usize) -> RowCode {
    let squared_norm: f32 = vector.iter().map(|c| c * c).sum();
    let rms = (squared_norm / vector.len().max(1) as f32).sqrt();
    let mut codes = vec![8u8; padded];
    if rms == 0.0 {
        return RowCode {
            codes,
            coarse_scale: 0.0,
            full_scale: 0.0,
        };
    }
    let step = STEP_PER_RMS * rms;
    let (mut x_u, mut u_u, mut x_v, mut v_v) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for (code, &x) in codes.iter_mut().zip(vector) {
        let q = ((x / step).floor() + 8.0).clamp(0.0, 15.0) as u8;
        *code = q;
        let u = f32::from(2 * (q >> 2)) - 3.0;
        let v = f32::from(2 * q) - 15.0;
        (x_u, u_u, x_v, v_v) = (x_u + x * u, u_u + u * u, x_v + x * v, v_v + v * v);
    }
    RowCode {
        codes,
        coarse_scale: x_u / u_u,
        full_scale: x_v / v_v,
    }
}

impl Codes {
    pub(crate) fn new(dimensions: usize) -> Self {
        Codes {
            dimensions,
            groups: dimensions.div_ceil(GROUP_NUMBERS),
            kernel: Kernel::detect(),
            rows: 0,
            blocks: Vec::new(),
            fine: Vec::new(),
            full_scales: Vec::new(),
            squared_norms: Vec::new(),
            scannable: true,
        }
    }

    fn codes_bytes(&self) -> usize {
        self.groups * GROUP_BYTES
    }

    fn block_bytes(&self) -> usize {
        self.codes_bytes() + SIDE_BYTES
    }

    /// Where side number `which` (0 scale, 1 squared norm, 2 offset) of
    /// `row` is.
    fn side_at(&self, row: usize, which: usize) -> usize {
        let (block, lane) = (row / BLOCK_ROWS, row % BLOCK_ROWS);
        block * self.block_bytes() + self.codes_bytes() + 2 * (which * BLOCK_ROWS + lane)
    }

    fn set_side(&mut self, row: usize, which: usize, value: f32) -> bool {
        let half = to_half(value);
        let at = self.side_at(row, which);
        self.blocks[at..at + 2].copy_from_slice(&half.to_le_bytes());
        is_finite_half(half)
    }

    /// Whether the scan can estimate every row: else the gallery must be
    /// searched exactly. Current once [`Codes::set_offsets`] has followed
    /// the last change.
    pub(crate) fn scannable(&self) -> bool {
        self.scannable
    }

    /// Sets every row's offset (what is added to its estimated distance),
    /// as the scan reads it.
    pub(crate) fn set_offsets(&mut self, offsets: &[f32]) {
        debug_assert_eq!(offsets.len(), self.rows);
        let mut scannable = true;
        for (row, &offset) in offsets.iter().enumerate() {
            scannable &= self.set_side(row, 2, offset);
            for which in 0..2 {
                let at = self.side_at(row, which);
                scannable &=
                    is_finite_half(u16::from_le_bytes([self.blocks[at], self.blocks[at + 1]]));
            }
        }
        self.scannable = scannable;
    }

    fn fine_bytes(&self) -> usize {
        self.groups * GROUP_NUMBERS / 4
    }

    pub(crate) fn push(&mut self, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dimensions);
        if self.rows.is_multiple_of(BLOCK_ROWS) {
            let block = self.block_bytes();
            reserve_zeroizing(&mut self.blocks, block);
            self.blocks.resize(self.blocks.len() + block, 0);
        }
        let fine_bytes = self.fine_bytes();
        reserve_zeroizing(&mut self.fine, fine_bytes);
        reserve_zeroizing(&mut self.full_scales, 1);
        reserve_zeroizing(&mut self.squared_norms, 1);
        let mut row = code_row(vector, self.groups * GROUP_NUMBERS);
        let squared_norm = vector.iter().map(|c| c * c).sum();
        self.full_scales.push(row.full_scale);
        self.squared_norms.push(squared_norm);
        self.rows += 1;
        let at = self.rows - 1;
        // Its offset is set with every row's when the gallery refreshes them.
        self.scannable &= self.set_side(at, 0, row.coarse_scale);
        self.scannable &= self.set_side(at, 1, squared_norm);
        for group in 0..self.groups {
            for j in 0..4 {
                let byte = (0..4).fold(0u8, |byte, k| {
                    byte | (row.codes[GROUP_NUMBERS * group + 4 * k + j] >> 2) << (2 * k)
                });
                let index = self.coarse_at(at, group, j);
                self.blocks[index] = byte;
            }
        }
        self.fine.extend(
            row.codes
                .chunks_exact(4)
                .map(|four| (0..4).fold(0u8, |byte, k| byte | (four[k] & 3) << (2 * k))),
        );
        row.codes.zeroize();
    }

    fn coarse_at(&self, row: usize, group: usize, j: usize) -> usize {
        let (block, lane) = (row / BLOCK_ROWS, row % BLOCK_ROWS);
        block * self.block_bytes() + group * GROUP_BYTES + lane * 4 + j
    }

    /// Moves the last row into `row` and zeroes the vacated last row.
    pub(crate) fn swap_remove(&mut self, row: usize) {
        let last = self.rows - 1;
        for group in 0..self.groups {
            for j in 0..4 {
                let (from, to) = (
                    self.coarse_at(last, group, j),
                    self.coarse_at(row, group, j),
                );
                self.blocks[to] = self.blocks[from];
                self.blocks[from] = 0;
            }
        }
        for which in 0..SIDE_NUMBERS {
            let (from, to) = (self.side_at(last, which), self.side_at(row, which));
            self.blocks.copy_within(from..from + 2, to);
            self.blocks[from..from + 2].zeroize();
        }
        let fine_bytes = self.fine_bytes();
        self.fine.copy_within(last * fine_bytes.., row * fine_bytes);
        self.fine[last * fine_bytes..].zeroize();
        self.fine.truncate(last * fine_bytes);
        self.full_scales.swap_remove(row);
        self.squared_norms.swap_remove(row);
        self.rows = last;
        if last.is_multiple_of(BLOCK_ROWS) {
            // The last block is empty (and already zero).
            self.blocks.truncate(last / BLOCK_ROWS * self.block_bytes());
        }
    }

    pub(crate) fn clear(&mut self) {
        self.blocks.zeroize();
        self.fine.zeroize();
        self.full_scales.zeroize();
        self.squared_norms.zeroize();
        self.rows = 0;
        self.scannable = true;
    }

    /// Up to `count` rows with the smallest estimated distance to `probe`
    /// plus their row's offset, in no order: the coarse scan keeps every
    /// row within [`COARSE_MARGIN`] of the [`RANK_GUARD`]-th nearest, and
    /// the `count` nearest of those by the full code's estimate are
    /// returned. `offsets` are those last given to [`Codes::set_offsets`]
    /// (the second estimate adds them as they are, the scan as it stored
    /// them); the rows must be [`Codes::scannable`].
    pub(crate) fn nearest(&self, probe: &ProbeCode, offsets: &[f32], count: usize) -> Vec<usize> {
        debug_assert_eq!(offsets.len(), self.rows);
        debug_assert!(self.scannable, "a row the scan cannot estimate");
        // The scan: every row's coarse estimate; a row is kept (with its
        // coarse sum) while it is within the margin of the guard row so far.
        // The kernel compares a block's sixteen estimates with the limit at
        // once, and only the rows within it are looked at one by one.
        let mut guard = Kept::new(RANK_GUARD);
        let mut within: Vec<(f32, usize, i32)> = Vec::new();
        let mut lanes = Lanes::default();
        for (block, bytes) in self.blocks.chunks_exact(self.block_bytes()).enumerate() {
            let first = block * BLOCK_ROWS;
            let limit = guard.worst + COARSE_MARGIN;
            let mut found = self.kernel.block_estimates(bytes, probe, limit, &mut lanes);
            if self.rows - first < BLOCK_ROWS {
                // The last block's empty lanes.
                found &= (1 << (self.rows - first)) - 1;
            }
            while found != 0 {
                let lane = found.trailing_zeros() as usize;
                found &= found - 1;
                let estimate = lanes.estimates[lane];
                within.push((estimate, first + lane, lanes.sums[lane]));
                if estimate < guard.worst {
                    guard.offer(estimate, first + lane);
                }
            }
        }
        let limit = guard.worst + COARSE_MARGIN;
        within.retain(|&(estimate, _, _)| estimate <= limit);
        // Both planes for the rows still within the margin. Their fine codes
        // and side numbers lie anywhere in the gallery: each row's are asked
        // for `PREFETCH_ROWS` rows ahead, so that their reads from memory
        // overlap instead of following one another.
        let mut kept = Kept::new(count);
        let fine_bytes = self.fine_bytes();
        for (at, &(_, row, coarse)) in within.iter().enumerate() {
            if let Some(&(_, ahead, _)) = within.get(at + PREFETCH_ROWS) {
                let fine = &self.fine[ahead * fine_bytes..][..fine_bytes];
                prefetch(fine.as_ptr());
                prefetch(fine[fine_bytes - 1..].as_ptr());
                prefetch(&self.full_scales[ahead]);
                prefetch(&self.squared_norms[ahead]);
                prefetch(&offsets[ahead]);
            }
            let fine = fine_sum(&self.fine[row * fine_bytes..][..fine_bytes], &probe.codes);
            let squared = probe.full_squared(
                4 * coarse + fine,
                self.full_scales[row],
                self.squared_norms[row],
            );
            let estimate = squared.max(0.0).sqrt() + offsets[row];
            if estimate < kept.worst {
                kept.offer(estimate, row);
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

/// How many rows ahead the second estimate asks for a row's codes: enough
/// reads in flight to cover a read from memory at a few rows' work each.
const PREFETCH_ROWS: usize = 16;

/// Asks for the cache line holding `at` ahead of its use: a hint, which
/// changes no result.
#[inline(always)]
fn prefetch<T>(at: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address, and SSE is
    // part of every x86-64 CPU.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// `Σ r_i f_i` over one row's fine codes.
fn fine_sum(fine: &[u8], probe: &[i8]) -> i32 {
    fine.iter()
        .zip(probe.chunks_exact(4))
        .map(|(&byte, r)| {
            (0..4)
                .map(|k| i32::from((byte >> (2 * k)) & 3) * i32::from(r[k]))
                .sum::<i32>()
        })
        .sum()
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

#[cfg(test)]
#[path = "compressed_tests.rs"]
mod tests;
