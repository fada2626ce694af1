use super::*;
use crate::half::from_half;

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

/// `value` as the scan stores it, in half precision.
fn stored(value: f32) -> f32 {
    from_half(to_half(value))
}

/// The plain definition, row by row: (coarse, full) estimated distances,
/// the coarse one from the scale and squared norm as the scan stores them.
fn plain_estimates(rows: &[f32], probe: &[f32]) -> Vec<(f32, f32)> {
    let dimensions = probe.len();
    let t = probe.iter().fold(0.0f32, |m, c| m.max(c.abs())) / 127.0;
    let r: Vec<f32> = probe.iter().map(|p| (p / t).round()).collect();
    rows.chunks_exact(dimensions)
        .map(|x| {
            let probe_norm: f32 = probe.iter().map(|c| c * c).sum();
            let row_norm: f32 = x.iter().map(|c| c * c).sum();
            let step =
                STEP_PER_RMS * (x.iter().map(|c| c * c).sum::<f32>() / dimensions as f32).sqrt();
            let q: Vec<f32> = x
                .iter()
                .map(|v| ((v / step).floor() + 8.0).clamp(0.0, 15.0))
                .collect();
            let estimate = |u: Vec<f32>, side: fn(f32) -> f32| {
                let scale = x.iter().zip(&u).map(|(x, u)| x * u).sum::<f32>()
                    / u.iter().map(|u| u * u).sum::<f32>();
                let dot: f32 = r.iter().zip(&u).map(|(r, u)| r * u).sum();
                (probe_norm + side(row_norm) - 2.0 * t * side(scale) * dot)
                    .max(0.0)
                    .sqrt()
            };
            (
                estimate(
                    q.iter().map(|q| 2.0 * (q / 4.0).floor() - 3.0).collect(),
                    stored,
                ),
                estimate(q.iter().map(|q| 2.0 * q - 15.0).collect(), |v| v),
            )
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

/// Every row's coarse sum and estimate (plus the offsets set, if any)
/// through `kernel`, checking that it finds just the rows at most `limit`.
fn coarse_within(
    codes: &Codes,
    probe: &ProbeCode,
    kernel: Kernel,
    limit: f32,
) -> (Vec<i32>, Vec<f32>) {
    let (mut all_sums, mut all_estimates) = (Vec::new(), Vec::new());
    for (block, bytes) in codes.blocks.chunks_exact(codes.block_bytes()).enumerate() {
        let rows = block * BLOCK_ROWS..((block + 1) * BLOCK_ROWS).min(codes.rows);
        let mut lanes = Lanes::default();
        let found = kernel.block_estimates(bytes, probe, limit, &mut lanes);
        for (lane, estimate) in lanes.estimates.iter().enumerate() {
            assert_eq!(found >> lane & 1 == 1, *estimate <= limit, "{kernel:?}");
        }
        all_sums.extend_from_slice(&lanes.sums[..rows.len()]);
        all_estimates.extend_from_slice(&lanes.estimates[..rows.len()]);
    }
    (all_sums, all_estimates)
}

fn coarse(codes: &Codes, probe: &ProbeCode, kernel: Kernel) -> (Vec<i32>, Vec<f32>) {
    coarse_within(codes, probe, kernel, f32::INFINITY)
}

/// Every row's full estimate (no offsets), from its coarse sum.
fn full(codes: &Codes, probe: &ProbeCode) -> Vec<f32> {
    let (sums, _) = coarse(codes, probe, codes.kernel);
    let bytes = codes.fine_bytes();
    sums.iter()
        .enumerate()
        .map(|(row, sum)| {
            let fine = fine_sum(&codes.fine[row * bytes..][..bytes], &probe.codes);
            probe
                .full_squared(
                    4 * sum + fine,
                    codes.full_scales[row],
                    codes.squared_norms[row],
                )
                .max(0.0)
                .sqrt()
        })
        .collect()
}

fn assert_close(found: &[f32], plain: &[f32]) {
    assert_eq!(found.len(), plain.len());
    for (found, plain) in found.iter().zip(plain) {
        assert!(
            (found - plain).abs() <= 1e-5 * plain.max(1.0),
            "{found} {plain}"
        );
    }
}

#[test]
fn estimates_follow_the_plain_definition_for_every_length() {
    for dimensions in [256, 128, 100] {
        let rows = values(37 * dimensions, dimensions as u64);
        let probe_values = values(dimensions, 7);
        let codes = coded(&rows, dimensions);
        let probe = ProbeCode::new(&probe_values);
        let (plain_coarse, plain_full): (Vec<f32>, Vec<f32>) =
            plain_estimates(&rows, &probe_values).into_iter().unzip();
        for kernel in Kernel::available() {
            assert_close(&coarse(&codes, &probe, kernel).1, &plain_coarse);
        }
        assert_close(&full(&codes, &probe), &plain_full);
    }
}

#[test]
fn every_kernel_sums_the_same_integers() {
    let dimensions = 256;
    let codes = coded(&values(48 * dimensions, 3), dimensions);
    let probe = ProbeCode::new(&values(dimensions, 11));
    let portable = coarse(&codes, &probe, Kernel::Portable);
    let mut sorted = portable.1.clone();
    sorted.sort_by(f32::total_cmp);
    for kernel in Kernel::available() {
        assert_eq!(coarse(&codes, &probe, kernel), portable, "{kernel:?}");
        for limit in [sorted[0], sorted[20], sorted[47]] {
            coarse_within(&codes, &probe, kernel, limit);
        }
    }
}

#[test]
fn estimates_are_close_to_the_distances() {
    let dimensions = 256;
    let rows = values(200 * dimensions, 5);
    let probe_values = values(dimensions, 9);
    let codes = coded(&rows, dimensions);
    let probe = ProbeCode::new(&probe_values);
    let (_, coarse) = coarse(&codes, &probe, codes.kernel);
    let full = full(&codes, &probe);
    for (row, x) in rows.chunks_exact(dimensions).enumerate() {
        let exact = x
            .iter()
            .zip(&probe_values)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt();
        assert!((coarse[row] - exact).abs() < 0.1 * exact, "{row}");
        assert!((full[row] - exact).abs() < 0.02 * exact, "{row}");
    }
}

#[test]
fn a_removed_row_leaves_the_others_as_they_were() {
    let dimensions = 128;
    let rows = values(33 * dimensions, 13);
    let probe = ProbeCode::new(&values(dimensions, 17));
    let mut codes = coded(&rows, dimensions);
    // Row 32, the only one of the third block, moves to 3; the block goes.
    codes.swap_remove(3);
    assert_eq!(codes.blocks.len(), 2 * codes.block_bytes());
    assert_eq!(codes.fine.len(), 32 * codes.fine_bytes());
    let mut expected_rows = rows.clone();
    expected_rows.copy_within(32 * dimensions.., 3 * dimensions);
    expected_rows.truncate(32 * dimensions);
    let expected = coded(&expected_rows, dimensions);
    assert_eq!(
        coarse(&codes, &probe, codes.kernel),
        coarse(&expected, &probe, codes.kernel)
    );
    assert_eq!(full(&codes, &probe), full(&expected, &probe));
    codes.clear();
    assert!(codes.blocks.is_empty() && codes.fine.is_empty());
    assert!(codes.nearest(&probe, &[], 4).is_empty());
}

#[test]
fn nearest_keeps_the_smallest_full_estimates_within_the_margin() {
    let dimensions = 128;
    let rows = values(300 * dimensions, 19);
    let probe_values = values(dimensions, 23);
    let mut codes = coded(&rows, dimensions);
    let offsets: Vec<f32> = (0..300).map(|r| (r % 50) as f32 * 0.01).collect();
    codes.set_offsets(&offsets);
    let plain = plain_estimates(&rows, &probe_values);
    // The scan adds the offsets as it stores them.
    let by_coarse: Vec<f32> = plain
        .iter()
        .zip(&offsets)
        .map(|(e, &o)| e.0 + stored(o))
        .collect();
    let mut sorted = by_coarse.clone();
    sorted.sort_by(f32::total_cmp);
    let limit = sorted[RANK_GUARD - 1] + COARSE_MARGIN;
    let mut within: Vec<usize> = (0..300).filter(|&r| by_coarse[r] <= limit).collect();
    assert!(within.len() > 10 && within.len() < 300, "{}", within.len());
    within.sort_by(|&a, &b| (plain[a].1 + offsets[a]).total_cmp(&(plain[b].1 + offsets[b])));
    let mut expected = within[..10].to_vec();
    expected.sort_unstable();
    let mut found = codes.nearest(&ProbeCode::new(&probe_values), &offsets, 10);
    found.sort_unstable();
    assert_eq!(found, expected);
}

#[test]
fn a_row_too_large_for_half_precision_cannot_be_scanned() {
    let dimensions = 128;
    let mut codes = coded(&values(20 * dimensions, 29), dimensions);
    codes.set_offsets(&[0.1; 20]);
    assert!(codes.scannable());
    // A squared norm of 128 · 30² = 115,200: past the largest half, 65,504.
    codes.push(&[30.0; 128]);
    assert!(!codes.scannable());
    codes.set_offsets(&[0.1; 21]);
    assert!(!codes.scannable());
    codes.swap_remove(20);
    codes.set_offsets(&[0.1; 20]);
    assert!(codes.scannable());
    codes.set_offsets(&[[0.1; 19].as_slice(), &[1e6]].concat());
    assert!(!codes.scannable());
}
