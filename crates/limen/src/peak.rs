//! This core's f32 arithmetic limit, measured: independent chains of fused
//! multiply-adds at the widest vector width the CPU offers. Benchmarks state
//! how far the descriptor network runs from it.

use std::hint::black_box;
use std::time::Instant;

/// Chains in flight: more than FMA latency × FMA units, so the loop is
/// bound by throughput, not by waiting on results.
const CHAINS: usize = 16;
const ROUNDS: usize = 20_000_000;

/// Measured single-core f32 GFLOP/s (a fused multiply-add counts as two).
pub fn single_core_f32_gflops() -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has just been checked for AVX-512F.
            return unsafe { fma_avx512() };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has just been checked for AVX2 and FMA.
            return unsafe { fma_avx2() };
        }
    }
    fma_scalar()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_avx512() -> f64 {
    use std::arch::x86_64::{_mm512_fmadd_ps, _mm512_set1_ps};
    let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_set1_ps(1.0); CHAINS];
    let t0 = Instant::now();
    for _ in 0..ROUNDS {
        for x in acc.iter_mut() {
            *x = _mm512_fmadd_ps(*x, a, b);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    black_box(acc);
    (ROUNDS * CHAINS * 16 * 2) as f64 / secs / 1e9
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_avx2() -> f64 {
    use std::arch::x86_64::{_mm256_fmadd_ps, _mm256_set1_ps};
    let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); CHAINS];
    let t0 = Instant::now();
    for _ in 0..ROUNDS {
        for x in acc.iter_mut() {
            *x = _mm256_fmadd_ps(*x, a, b);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    black_box(acc);
    (ROUNDS * CHAINS * 8 * 2) as f64 / secs / 1e9
}

fn fma_scalar() -> f64 {
    let mut acc = [1.0f32; CHAINS];
    let t0 = Instant::now();
    for _ in 0..ROUNDS / 4 {
        for x in acc.iter_mut() {
            *x = x.mul_add(0.999_999, 1e-7);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    black_box(acc);
    (ROUNDS / 4 * CHAINS * 2) as f64 / secs / 1e9
}
