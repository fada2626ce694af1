//! The decision rule: when is the nearest person close enough, and far
//! enough ahead of everyone else, to be reported as a match.

use std::fmt;

use parking_lot::RawRwLock;
use parking_lot::lock_api::ArcRwLockReadGuard;

/// Thresholds on euclidean distances between dlib descriptors.
///
/// dlib's author reports 99.38% accuracy on LFW pairs (1:1) at a distance of
/// 0.6. An entrance compares against a whole gallery (1:N), where the chance
/// that *someone* falls under the threshold grows with the gallery, so the
/// default is stricter.
///
/// ## Calibration
/// `limen eval lfw` on lfw-dev, open-set protocol (a gallery of about 980
/// people, probes of enrolled and of never-enrolled people): the distance
/// at which a probe of someone not enrolled is matched to somebody for 0.1%
/// of probes (false-positive identification rate, FPIR) is about 0.41; at
/// FPIR 1% it is about 0.46. The default `max_distance` is 0.41: it targets
/// **FPIR 0.1%** for a gallery of that size. Larger galleries raise the FPIR
/// at a fixed threshold (more people to be near by chance); an operator with
/// a much larger organisation should re-run the evaluation and lower it.
///
/// The margin rule (0.05) is kept as it was: it refuses a probe whose two
/// nearest people are almost equally near, which an FPIR measured on the
/// nearest person alone does not account for, at the price of a few
/// genuine matches sent round again (the agent tries the next frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionRule {
    /// The nearest person must be at most this far from the probe.
    pub max_distance: f32,
    /// The second-nearest person (always a different person: a gallery holds
    /// one descriptor per person) must be at least this much farther away
    /// than the nearest, so two similar people are not confused.
    pub min_margin: f32,
}

impl DecisionRule {
    /// Targets FPIR 0.1% on lfw-dev (see the calibration above).
    pub const DEFAULT_MAX_DISTANCE: f32 = 0.41;
    /// Two nearest people closer than this to each other's distance: ambiguous.
    pub const DEFAULT_MIN_MARGIN: f32 = 0.05;

    /// Why `distance` (nearest) and `second_distance` (second-nearest,
    /// infinite when nobody else is enrolled) are not a match, if they are not.
    pub fn reject(&self, distance: f32, second_distance: f32) -> Option<UnknownReason> {
        // Accepting only on an explicit `Less`/`Equal` rejects NaN anywhere.
        use std::cmp::Ordering::Greater;
        let margin = second_distance - distance;
        if distance
            .partial_cmp(&self.max_distance)
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

impl Default for DecisionRule {
    fn default() -> Self {
        Self {
            max_distance: Self::DEFAULT_MAX_DISTANCE,
            min_margin: Self::DEFAULT_MIN_MARGIN,
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

/// A person identified by a search. While it is alive, removing this person
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

    /// Euclidean distance between the probe and the person's descriptor.
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

    #[test]
    fn accepts_close_and_unambiguous() {
        let rule = DecisionRule::default();
        assert_eq!(rule.reject(0.30, 0.80), None);
        assert_eq!(rule.reject(0.30, f32::INFINITY), None);
    }

    #[test]
    fn rejects_beyond_threshold() {
        let rule = DecisionRule::default();
        assert_eq!(rule.reject(0.46, 0.90), Some(UnknownReason::TooFar));
        assert_eq!(rule.reject(0.42, 0.90), Some(UnknownReason::TooFar));
        assert_eq!(rule.reject(0.40, 0.90), None);
    }

    #[test]
    fn rejects_two_people_too_alike() {
        let rule = DecisionRule::default();
        assert_eq!(rule.reject(0.30, 0.34), Some(UnknownReason::Ambiguous));
    }

    #[test]
    fn rejects_nan() {
        let rule = DecisionRule::default();
        assert_eq!(rule.reject(f32::NAN, 0.9), Some(UnknownReason::TooFar));
        assert_eq!(rule.reject(0.1, f32::NAN), Some(UnknownReason::Ambiguous));
    }
}
