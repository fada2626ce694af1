//! Which model version makes new vectors, and which older one the
//! entrances still accept while its holders renew.
//!
//! A vector cannot be recomputed by a newer model: no picture is kept. So
//! activating a version opens a transition: enrolment uses the new
//! version at once, the entrances match both, people still holding only
//! the old version's vectors are asked to renew (a first notice, then
//! reminders), and when the transition ends the old vectors are deleted
//! and their holders need to enrol again. Consent is untouched throughout.

use crate::face::ModelVersion;
use crate::values::UnixTime;

/// The installation's model versions in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRollout {
    /// The version enrolment uses.
    pub active: ModelVersion,
    pub activated_at: UnixTime,
    pub transition: Option<Transition>,
}

/// An older version still matched until `ends_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub retiring: ModelVersion,
    pub ends_at: UnixTime,
    /// Seconds before `ends_at` at which people who have not renewed are
    /// reminded, largest first.
    pub reminders: Vec<i64>,
}

impl ModelRollout {
    /// The versions the entrances match, the active one first.
    pub fn in_use(&self) -> Vec<&ModelVersion> {
        let mut versions = vec![&self.active];
        versions.extend(self.transition.as_ref().map(|t| &t.retiring));
        versions
    }

    /// Whether the transition (if any) is over at `at`: its old vectors
    /// are due for deletion.
    pub fn transition_over(&self, at: UnixTime) -> bool {
        self.transition.as_ref().is_some_and(|t| at >= t.ends_at)
    }

    /// The renewal notice due at `at` to someone still holding only the
    /// retiring version's vectors: 0 (the first request) from the start of
    /// the transition, then reminder `n` once `reminders[n - 1]` seconds
    /// are left. `None` without a transition or once it is over.
    pub fn notice_due(&self, at: UnixTime) -> Option<u32> {
        let transition = self.transition.as_ref()?;
        if at >= transition.ends_at {
            return None;
        }
        let reached = transition
            .reminders
            .iter()
            .filter(|before| at >= transition.ends_at - **before)
            .count();
        Some(reached as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(reminders: Vec<i64>) -> ModelRollout {
        ModelRollout {
            active: ModelVersion::new("v2"),
            activated_at: 1000,
            transition: Some(Transition {
                retiring: ModelVersion::new("v1"),
                ends_at: 2000,
                reminders,
            }),
        }
    }

    #[test]
    fn both_versions_are_in_use_during_a_transition() {
        let r = rollout(vec![]);
        assert_eq!(
            r.in_use(),
            [&ModelVersion::new("v2"), &ModelVersion::new("v1")]
        );
        let settled = ModelRollout {
            transition: None,
            ..r
        };
        assert_eq!(settled.in_use(), [&ModelVersion::new("v2")]);
        assert!(!settled.transition_over(5000));
    }

    #[test]
    fn notices_follow_the_reminders() {
        let r = rollout(vec![500, 100]);
        assert_eq!(r.notice_due(1000), Some(0));
        assert_eq!(r.notice_due(1499), Some(0));
        assert_eq!(r.notice_due(1500), Some(1));
        assert_eq!(r.notice_due(1900), Some(2));
        assert_eq!(r.notice_due(2000), None);
        assert!(r.transition_over(2000));
        assert!(!r.transition_over(1999));
    }
}
