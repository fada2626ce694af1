//! Which devices this instance heard from, tallied in memory and written
//! to the store every few seconds rather than once per frame: the frame
//! endpoint is the hot path. The store adds each instance's tallies (see
//! `limen_store::DeviceTally`), so instances sharing a database need not
//! coordinate; an instance that dies loses at most one interval's counts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use limen_domain::{Device, DeviceId, EntranceId, OrgAdmin, UnixTime, now};
use limen_store::{DeviceTally, Store};

use crate::Services;
use crate::error::ServiceError;

/// How often the tallies are written.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub(crate) struct DeviceActivity(Mutex<HashMap<DeviceId, Seen>>);

struct Seen {
    last: UnixTime,
    frames_by_minute: BTreeMap<i64, u64>,
}

impl DeviceActivity {
    fn note(&self, device: &DeviceId, frame: bool) {
        let at = now();
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let entry = seen.entry(device.clone()).or_insert_with(|| Seen {
            last: at,
            frames_by_minute: BTreeMap::new(),
        });
        entry.last = entry.last.max(at);
        if frame {
            *entry.frames_by_minute.entry(at / 60).or_default() += 1;
        }
    }

    fn take(&self) -> Vec<DeviceTally> {
        let seen = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        seen.into_iter()
            .map(|(device, seen)| DeviceTally {
                device,
                last_seen: seen.last,
                frames: seen.frames_by_minute.into_iter().collect(),
            })
            .collect()
    }

    /// Writes what was tallied since the last flush. On failure the tally
    /// is lost (and logged): counts are an operator's view, not a record.
    pub(crate) async fn flush(&self, store: &Store) {
        let tallies = self.take();
        if tallies.is_empty() {
            return;
        }
        if let Err(e) = store.record_device_activity(&tallies, now()).await {
            tracing::warn!(error = %e, devices = tallies.len(), "cannot record device activity");
        }
    }
}

impl Services {
    /// A device sent a frame (counted whether or not it was decided).
    pub fn frame_arrived(&self, device: &DeviceId) {
        self.device_activity.note(device, true);
    }

    /// A device with nothing to send said it is still there.
    pub fn heartbeat(&self, device: &DeviceId) {
        self.device_activity.note(device, false);
    }

    /// The devices of one of the admin's entrances, with when each was
    /// last heard from, its frames in the last hour, and whether it is down
    /// (silent for longer than `down_after`); `None` when the organisation
    /// has no such entrance. This instance's tally is written first, so
    /// what it heard is never missing; other instances' is at most
    /// [`FLUSH_EVERY`] old.
    pub async fn devices(
        &self,
        admin: &OrgAdmin,
        entrance: &EntranceId,
        down_after: Duration,
    ) -> Result<Option<Vec<Device>>, ServiceError> {
        self.device_activity.flush(&self.store).await;
        Ok(self
            .store
            .devices(&admin.org, entrance, now(), down_after)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_frames_by_minute_and_heartbeats_only_as_seen() {
        let activity = DeviceActivity::default();
        let camera = DeviceId::generate();
        let quiet = DeviceId::generate();
        activity.note(&camera, true);
        activity.note(&camera, true);
        activity.note(&quiet, false);
        let mut tallies = activity.take();
        tallies.sort_by_key(|t| t.frames.len());
        assert_eq!(tallies.len(), 2);
        assert_eq!(tallies[0].device, quiet);
        assert!(tallies[0].frames.is_empty());
        assert_eq!(tallies[1].device, camera);
        assert_eq!(tallies[1].frames.iter().map(|(_, n)| n).sum::<u64>(), 2);
        assert!(activity.take().is_empty(), "a flush empties the tally");
    }
}
