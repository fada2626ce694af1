//! The decision rule: when is the nearest person close enough, and far
//! enough ahead of everyone else, to be reported as a match.

use std::fmt;

use limen_domain::SecurityLevel;
use parking_lot::RawRwLock;
use parking_lot::lock_api::ArcRwLockReadGuard;

/// An organisation's rule for when the nearest person is a match: close
/// enough for its security level (the threshold comes from the gallery's
/// calibration), and far enough ahead of the second-nearest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionRule {
    pub level: SecurityLevel,
    /// The second-nearest person must be at least this much farther than the
    /// nearest. On lfw-dev no stranger was ever refused by it alone and no
    /// enrolled person was ever taken for another, so it costs almost
    /// nothing; it stays as a guard against confusing two enrolled people
    /// who look alike (twins), which LFW does not hold.
    pub min_margin: f32,
}

impl DecisionRule {
    pub const DEFAULT_MIN_MARGIN: f32 = 0.02;

    pub fn new(level: SecurityLevel) -> Self {
        DecisionRule {
            level,
            min_margin: Self::DEFAULT_MIN_MARGIN,
        }
    }

    /// Why `distance` (nearest) and `second_distance` (second-nearest,
    /// infinite when nobody else is enrolled) are not a match under
    /// `threshold`, if they are not.
    pub fn reject(
        &self,
        threshold: f32,
        distance: f32,
        second_distance: f32,
    ) -> Option<UnknownReason> {
        // Accepting only on an explicit `Less`/`Equal` rejects NaN anywhere.
        use std::cmp::Ordering::Greater;
        let margin = second_distance - distance;
        if distance
            .partial_cmp(&threshold)
            .is_none_or(|o| o == Greater)
        {
            Some(UnknownReason::TooFar)
        } else if self
            .min_margin
            .partial_cmp(&margin)
            .is_none_or(|o| o == Greater)
        {
            Some(UnknownReason::Ambiguous)
        } else {
            None
        }
    }
}

/// The outcome of a search under a [`DecisionRule`].
#[derive(Debug)]
pub enum Identification<P> {
    Matched(Match<P>),
    Unknown(UnknownReason),
}

/// Why nobody was identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownReason {
    /// Nobody of this organisation is enrolled for this model.
    EmptyGallery,
    /// The nearest person is farther than the threshold.
    TooFar,
    /// The nearest person is not far enough ahead of the second-nearest.
    Ambiguous,
}

/// A person identified by a search. While it is alive, waiting for this
/// person's matches (`Galleries::wait_for_matches`, after their removal)
/// waits: drop it once the access system has been told.
pub struct Match<P> {
    person: P,
    distance: f32,
    _lease: ArcRwLockReadGuard<RawRwLock, ()>,
}

impl<P> Match<P> {
    pub(crate) fn new(person: P, distance: f32, lease: ArcRwLockReadGuard<RawRwLock, ()>) -> Self {
        Self {
            person,
            distance,
            _lease: lease,
        }
    }

    pub fn person(&self) -> &P {
        &self.person
    }

    /// Normalised distance between the probe and the person's nearest vector.
    pub fn distance(&self) -> f32 {
        self.distance
    }
}

impl<P: fmt::Debug> fmt::Debug for Match<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Match")
            .field("person", &self.person)
            .field("distance", &self.distance)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THRESHOLD: f32 = 0.41;

    fn rule() -> DecisionRule {
        DecisionRule::new(SecurityLevel::High)
    }

    #[test]
    fn accepts_close_and_unambiguous() {
        assert_eq!(rule().reject(THRESHOLD, 0.30, 0.80), None);
        assert_eq!(rule().reject(THRESHOLD, 0.30, f32::INFINITY), None);
    }

    #[test]
    fn rejects_beyond_threshold() {
        assert_eq!(
            rule().reject(THRESHOLD, 0.46, 0.90),
            Some(UnknownReason::TooFar)
        );
        assert_eq!(
            rule().reject(THRESHOLD, 0.42, 0.90),
            Some(UnknownReason::TooFar)
        );
        assert_eq!(rule().reject(THRESHOLD, 0.40, 0.90), None);
    }

    #[test]
    fn rejects_two_people_too_alike() {
        assert_eq!(
            rule().reject(THRESHOLD, 0.30, 0.31),
            Some(UnknownReason::Ambiguous)
        );
    }

    #[test]
    fn rejects_nan() {
        assert_eq!(
            rule().reject(THRESHOLD, f32::NAN, 0.9),
            Some(UnknownReason::TooFar)
        );
        assert_eq!(
            rule().reject(THRESHOLD, 0.1, f32::NAN),
            Some(UnknownReason::Ambiguous)
        );
        assert_eq!(
            rule().reject(f32::NAN, 0.1, 0.9),
            Some(UnknownReason::TooFar)
        );
    }
}
