//! The scan's block kernels: sixteen rows' coarse sums, estimates and the
//! mask of those within the limit, per instruction set.

use super::{BLOCK_ROWS, GROUP_BYTES, Lanes, ProbeCode, SIDE_BYTES};
use crate::half::from_half;

/// The block kernel available on this CPU, detected once per gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Kernel {
    pub(super) fn detect() -> Self {
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
    pub(super) fn available() -> Vec<Self> {
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

    /// The [`Lanes`] of one block, and which of its rows' estimates are
    /// at most `limit` (bit `l` for row `l`).
    #[inline]
    pub(super) fn block_estimates(
        self,
        block: &[u8],
        probe: &ProbeCode,
        limit: f32,
        lanes: &mut Lanes,
    ) -> u16 {
        assert_eq!(
            block.len(),
            probe.words.len() * GROUP_BYTES / 4 + SIDE_BYTES,
            "one block"
        );
        match self {
            // SAFETY: the variant exists only when `detect` found the CPU
            // features it is compiled for; the block holds the words' groups
            // and its side numbers.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe { block_avx512_vnni(block, probe, limit, lanes) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { block_avx2(block, probe, limit, lanes) },
            Kernel::Portable => block_portable(block, probe, limit, lanes),
        }
    }
}

/// The estimates from the sums and the block's side numbers (`side`): one
/// loop the compiler vectorises in each kernel's instruction set.
#[inline(always)]
fn estimates_from_sums(probe: &ProbeCode, side: &[u8], limit: f32, lanes: &mut Lanes) -> u16 {
    let number = |which: usize, lane: usize| {
        let at = 2 * (which * BLOCK_ROWS + lane);
        from_half(u16::from_le_bytes([side[at], side[at + 1]]))
    };
    let mut found = 0;
    for (lane, (estimate, &sum)) in lanes.estimates.iter_mut().zip(&lanes.sums).enumerate() {
        let squared = probe.coarse_squared(sum, number(0, lane), number(1, lane));
        *estimate = squared.max(0.0).sqrt() + number(2, lane);
        found |= u16::from(*estimate <= limit) << lane;
    }
    found
}

#[inline(always)]
fn block_portable(block: &[u8], probe: &ProbeCode, limit: f32, lanes: &mut Lanes) -> u16 {
    let (codes, side) = block.split_at(block.len() - SIDE_BYTES);
    lanes.sums = [0; BLOCK_ROWS];
    for (bytes, four) in codes
        .chunks_exact(GROUP_BYTES)
        .zip(probe.words.chunks_exact(4))
    {
        let numbers = group_probe(four);
        for (sum, row) in lanes.sums.iter_mut().zip(bytes.chunks_exact(4)) {
            for (j, &byte) in row.iter().enumerate() {
                for (k, r) in numbers.iter().enumerate() {
                    *sum += i32::from((byte >> (2 * k)) & 3) * r[j];
                }
            }
        }
    }
    estimates_from_sums(probe, side, limit, lanes)
}

/// A group's four probe words as signed numbers: `[k][j]` is number
/// `4k + j` of the group.
#[inline(always)]
fn group_probe(four: &[i32]) -> [[i32; 4]; 4] {
    std::array::from_fn(|k| four[k].to_le_bytes().map(|b| i32::from(b as i8)))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn block_avx2(block: &[u8], probe: &ProbeCode, limit: f32, lanes: &mut Lanes) -> u16 {
    block_portable(block, probe, limit, lanes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn block_avx512_vnni(block: &[u8], probe: &ProbeCode, limit: f32, lanes: &mut Lanes) -> u16 {
    use std::arch::x86_64::{
        __m512i, _CMP_LE_OQ, _mm256_loadu_si256, _mm512_add_epi32, _mm512_add_ps, _mm512_and_si512,
        _mm512_cmp_ps_mask, _mm512_cvtepi32_ps, _mm512_cvtph_ps, _mm512_dpbusd_epi32,
        _mm512_loadu_si512, _mm512_max_ps, _mm512_mul_ps, _mm512_set1_epi8, _mm512_set1_epi32,
        _mm512_set1_ps, _mm512_setzero_ps, _mm512_setzero_si512, _mm512_slli_epi32, _mm512_sqrt_ps,
        _mm512_srai_epi32, _mm512_storeu_ps, _mm512_storeu_si512, _mm512_sub_epi32, _mm512_sub_ps,
    };
    // Plane `k` is masked in place, not shifted down: its sums come out
    // 4^k times too large, exactly, and are shifted once at the end.
    let masks = [0x03u8, 0x0c, 0x30, 0xc0].map(|m| _mm512_set1_epi8(m as i8));
    // Two sums per plane, one for even groups and one for odd, so that
    // consecutive multiply-adds do not wait for each other. Each is indexed
    // by constants only, so that all eight stay in registers.
    let mut even: [__m512i; 4] = [_mm512_setzero_si512(); 4];
    let mut odd: [__m512i; 4] = [_mm512_setzero_si512(); 4];
    let add_group = |acc: &mut [__m512i; 4], group: usize, four: &[i32]| {
        // SAFETY: `block_estimates` checked that the block holds 64 bytes
        // per group, and `group` counts the words' groups.
        let bytes = unsafe { _mm512_loadu_si512(block.as_ptr().add(group * GROUP_BYTES).cast()) };
        for k in 0..4 {
            let plane = _mm512_and_si512(bytes, masks[k]);
            acc[k] = _mm512_dpbusd_epi32(acc[k], plane, _mm512_set1_epi32(four[k]));
        }
    };
    let pairs = probe.words.chunks_exact(8);
    let last = pairs.remainder();
    let mut group = 0;
    for eight in pairs {
        add_group(&mut even, group, &eight[..4]);
        add_group(&mut odd, group + 1, &eight[4..]);
        group += 2;
    }
    if !last.is_empty() {
        add_group(&mut even, group, last);
    }
    let plane = |k: usize| _mm512_add_epi32(even[k], odd[k]);
    let sums = _mm512_add_epi32(
        _mm512_add_epi32(plane(0), _mm512_srai_epi32::<2>(plane(1))),
        _mm512_add_epi32(
            _mm512_srai_epi32::<4>(plane(2)),
            _mm512_srai_epi32::<6>(plane(3)),
        ),
    );
    // The side numbers, widened exactly from half precision; then
    // `estimates_from_sums`'s arithmetic in the same order, so that every
    // lane comes out as the portable kernel's.
    let side = block.len() - SIDE_BYTES;
    // SAFETY: the block ends with three runs of sixteen 16-bit numbers.
    let [scales, norms, offsets] = std::array::from_fn(|which| unsafe {
        _mm512_cvtph_ps(_mm256_loadu_si256(
            block.as_ptr().add(side + 2 * BLOCK_ROWS * which).cast(),
        ))
    });
    let dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(
        _mm512_slli_epi32::<2>(sums),
        _mm512_set1_epi32(6 * probe.sum),
    ));
    let product = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(probe.scale), scales), dot);
    let squared = _mm512_sub_ps(
        _mm512_add_ps(_mm512_set1_ps(probe.squared_norm), norms),
        product,
    );
    let estimates = _mm512_add_ps(
        _mm512_sqrt_ps(_mm512_max_ps(squared, _mm512_setzero_ps())),
        offsets,
    );
    // SAFETY: `sums` and `estimates` are sixteen 32-bit numbers each, one
    // register's worth.
    unsafe {
        _mm512_storeu_si512(lanes.sums.as_mut_ptr().cast(), sums);
        _mm512_storeu_ps(lanes.estimates.as_mut_ptr(), estimates);
    }
    _mm512_cmp_ps_mask::<_CMP_LE_OQ>(estimates, _mm512_set1_ps(limit))
}
