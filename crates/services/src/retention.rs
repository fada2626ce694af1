//! How long things are kept, and dropping them when their time is over.

use limen_domain::now;
use serde::Deserialize;

use crate::Services;

/// Retention periods, as the operator configures them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// A registration link stays valid this long.
    pub invitation_days: u32,
    /// A login lasts this long.
    pub session_hours: u32,
    /// The proof that someone cancelled their registration is kept this long.
    pub cancellation_record_days: u32,
    /// A decision event at an entrance is kept this long.
    pub decision_event_days: u32,
    /// After the privacy statement changes, a consent to the older one
    /// stays valid this long (0: lapses at once), then lapses.
    pub reconsent_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            invitation_days: 14,
            session_hours: 12,
            cancellation_record_days: 365,
            decision_event_days: 7,
            reconsent_days: 30,
        }
    }
}

/// Face changes are kept a day: time for every instance to apply them
/// (one that lags further reloads its galleries), short enough that the
/// ids of erased people do not linger.
const FACE_CHANGES_KEPT_SECS: i64 = 86_400;

const DAY: i64 = 86_400;

impl Services {
    /// Drops what has outlived its retention period: expired sessions and
    /// invitations, old cancellation records, old decision events, and
    /// face changes every instance has had time to apply.
    pub async fn purge_expired(&self) {
        let retention = self.retention();
        let now = now();
        let store = self.store();
        let cancellations_before = now - i64::from(retention.cancellation_record_days) * DAY;
        if let Err(e) = store.purge_expired(cancellations_before).await {
            tracing::warn!(error = %e, "retention purge failed");
        }
        let decisions_before = now - i64::from(retention.decision_event_days) * DAY;
        match store.purge_decision_events(decisions_before).await {
            Ok(deleted) => tracing::debug!(deleted, "expired decision events purged"),
            Err(e) => tracing::warn!(error = %e, "decision event purge failed"),
        }
        if let Err(e) = store.prune_face_changes(now - FACE_CHANGES_KEPT_SECS).await {
            tracing::warn!(error = %e, "face change purge failed");
        }
    }
}
