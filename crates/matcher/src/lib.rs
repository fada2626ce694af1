//! Limen's matcher: per-organisation galleries of facial descriptors held in
//! memory, 1:N search (a compressed first pass, then the best candidates
//! ranked exactly), and the decision rule that turns distances into "this
//! is person X" or "unknown".
//!
//! It persists nothing; the store loads galleries at start and keeps them in
//! step with enrolment, renewal, withdrawal, removal and erasure.
//!
//! Isolation between organisations is structural: every operation names one
//! organisation and only ever touches that organisation's gallery.
//!
//! Removal is race-free: [`Galleries::remove`] returns only once the person is
//! out of the gallery *and* every [`Match`] of that person handed out before
//! has been dropped. A caller keeps the `Match` until it has told the access
//! system, so a withdrawal that has returned can never be followed by a
//! report of that person, not even from a request already in flight.
//!
//! A person holds up to [`MAX_VECTORS_PER_PERSON`] vectors (several poses
//! from one enrolment); their distance to a probe is that of their nearest
//! vector. Distances are normalised by each vector's neighbourhood and
//! decided against thresholds calibrated per security level and gallery
//! size ([`scoring`]).
//!
//! Search in a gallery of [`EXACT_SEARCH_BELOW`] vectors or more runs in
//! three passes (`compressed.rs`): a scan of every vector's 2-bit codes
//! estimates each normalised distance; the vectors estimated near the
//! nearest are estimated again from their 4-bit codes; the [`CANDIDATES`]
//! nearest by that estimate are ranked exactly, from the f32 vectors kept
//! beside the codes. The scan reads 70 bytes a 256-number vector instead of
//! 1,024, which is what bounds search in a large gallery. Smaller galleries
//! are compared exactly. To measure both against each other and the exact
//! search's top-1 agreement: `limen bench matcher` (release build).

mod calibrations;
mod compressed;
mod decision;
mod distance;
mod galleries;
mod gallery;
mod half;
mod neighbourhood;
pub mod scoring;

pub use calibrations::calibration_for;
pub use decision::{DecisionRule, Identification, Match, UnknownReason};
pub use galleries::{Galleries, Nearest};
pub use limen_domain::SecurityLevel;
pub use scoring::{Calibration, FUSED_FRAME_CLASSES, Scoring};

pub use limen_domain::MAX_VECTORS_PER_PERSON;
use zeroize::Zeroize;

/// How many vectors, nearest by the 4-bit codes' estimate, a search ranks
/// exactly. Chosen with `limen bench matcher` on a synthetic gallery
/// of a million people (BENCHMARKS.md) and checked on lfw-dev's descriptors
/// (`tests/compressed_search.rs`).
pub const CANDIDATES: usize = 64;

/// Galleries of fewer vectors than this are searched exactly: below it,
/// comparing every f32 vector (which then sits in cache) takes less time
/// than coding the probe, scanning the codes and ranking the candidates.
/// With `limen bench matcher` the exact search took 0.85 of the compressed
/// one's time at 2,000 vectors and 1.35 times it at 5,000; interpolated,
/// they cross near 2,750 (BENCHMARKS.md).
pub const EXACT_SEARCH_BELOW: usize = 3_000;

/// What the matcher refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MatcherError {
    /// A descriptor made by another model than the gallery's would be
    /// compared in a different space and its distances would mean nothing.
    #[error("descriptor made by model {given:?}, gallery holds model {expected:?}")]
    ModelMismatch { expected: String, given: String },
    /// NaN or infinite components make every comparison false.
    #[error("descriptor has a component that is not a finite number")]
    NonFiniteDescriptor,
    #[error("a person holds 1 to {MAX_VECTORS_PER_PERSON} vectors, not {0}")]
    VectorCount(usize),
    /// The model's vectors have another length.
    #[error("a vector of {given} numbers, the model's have {expected}")]
    Dimensions { expected: usize, given: usize },
}

/// A vector the gallery can hold: the model's length, finite numbers.
fn check_vector(vector: &[f32], dimensions: usize) -> Result<(), MatcherError> {
    if vector.len() != dimensions {
        Err(MatcherError::Dimensions {
            expected: dimensions,
            given: vector.len(),
        })
    } else if vector.iter().all(|c| c.is_finite()) {
        Ok(())
    } else {
        Err(MatcherError::NonFiniteDescriptor)
    }
}

/// Makes room for `additional` more values without ever releasing a buffer
/// with values still in it: a vector that must grow zeroes its old buffer
/// first (a plain `Vec` would free it as it is).
fn reserve_zeroizing<T: Zeroize + Copy>(values: &mut Vec<T>, additional: usize) {
    if values.capacity() - values.len() < additional {
        let wanted = (values.capacity() * 2).max(values.len() + additional);
        let mut grown = Vec::with_capacity(wanted);
        grown.extend_from_slice(values);
        values.zeroize();
        *values = grown;
    }
}
