//! Matches at entrances whose access panel hears of them from the device
//! (the `osdp` connector): the server answers the device, and the device
//! reports the card read to the panel. Until the device says the panel has
//! been told, the match stays held here, so that a withdrawal, removal or
//! erasure of that person waits for the door's decision instead of
//! answering while a card read of them is still on its way. A device that
//! never says so holds it for [`HANDOVER_HOLD`] at most; the device itself
//! reports nothing to its panel after that time (it counts from before it
//! sent the frame, so it stops first).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use limen_domain::{DeviceId, HandoverId};

use crate::Services;
use crate::error::ServiceError;
use crate::recognition::Recognised;

/// How long a device has to tell its panel of a match: its panel answers a
/// card read within two seconds (the agent's default wait), and the rest is
/// for the network.
pub const HANDOVER_HOLD: Duration = Duration::from_secs(5);
/// Held matches across all devices at once; each device is rate-limited,
/// so this is only reached by a flood of matches, which are then refused.
const MAX_HELD: usize = 10_000;

#[derive(Default)]
pub(crate) struct Handovers {
    held: Mutex<HashMap<(DeviceId, HandoverId), Held>>,
}

struct Held {
    /// Holds off the removal of the matched person while alive.
    _recognised: Recognised,
    since: Instant,
}

impl Handovers {
    /// Holds `recognised` for `device`; `None` when too many are held.
    pub(crate) fn hold(&self, device: &DeviceId, recognised: Recognised) -> Option<HandoverId> {
        let mut held = self.lock();
        if held.len() >= MAX_HELD {
            return None;
        }
        let id = HandoverId::generate();
        held.insert(
            (device.clone(), id.clone()),
            Held {
                _recognised: recognised,
                since: Instant::now(),
            },
        );
        Some(id)
    }

    /// Lets go of `device`'s handover `id`; whether it was still held.
    pub(crate) fn end(&self, device: &DeviceId, id: &HandoverId) -> bool {
        // Removed under the lock, dropped (releasing the person) after it.
        let ended = self.lock().remove(&(device.clone(), id.clone()));
        ended.is_some()
    }

    /// Lets go of every handover held for longer than [`HANDOVER_HOLD`].
    pub(crate) fn sweep(&self) {
        let expired: Vec<_> = self
            .lock()
            .extract_if(|_, held| held.since.elapsed() >= HANDOVER_HOLD)
            .collect();
        drop(expired);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(DeviceId, HandoverId), Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Services {
    /// Holds the match `recognised` until `device` ends the handover it is
    /// answered with (once its panel has been told), or for
    /// [`HANDOVER_HOLD`].
    pub fn hold_for_handover(
        &self,
        device: &DeviceId,
        recognised: Recognised,
    ) -> Result<HandoverId, ServiceError> {
        self.handovers
            .hold(device, recognised)
            .ok_or(ServiceError::Busy {
                retry_after: Duration::from_secs(1),
            })
    }

    /// Ends `device`'s handover `id`: the person it matched may now be
    /// removed. Whether it was still held (another device's, an unknown or
    /// an expired one is not).
    pub fn end_handover(&self, device: &DeviceId, id: &HandoverId) -> bool {
        self.handovers.end(device, id)
    }
}
