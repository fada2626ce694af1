//! When each camera device was last heard from, and how many frames it
//! sent in the last hour.
//!
//! The frame endpoint is hot, so an instance does not write per frame: it
//! tallies in memory and hands the tallies here every few seconds. Counts
//! are added (an upsert that sums) and the last-seen time only moves
//! forward, so several instances on one PostgreSQL each add their own
//! tallies and every frame is counted once, whichever flushes first.

use std::time::Duration;

use limen_domain::{Device, DeviceId, DeviceStatus, EntranceId, OrgId, UnixTime};
use sqlx::Row;

use crate::store::{Store, StoreError, parse_col};

/// Minutes of frame counts kept: the last hour's.
const MINUTES_KEPT: i64 = 60;

/// What one instance saw of one device since it last flushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTally {
    pub device: DeviceId,
    /// Its latest frame or heartbeat.
    pub last_seen: UnixTime,
    /// Frames by minute (Unix time divided by 60); none for heartbeats only.
    pub frames: Vec<(i64, u64)>,
}

impl Store {
    /// Adds the tallies of one flush, in one transaction, and forgets
    /// counts older than an hour. A device revoked meanwhile is skipped.
    pub async fn record_device_activity(
        &self,
        tallies: &[DeviceTally],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for tally in tallies {
            sqlx::query(
                "UPDATE devices SET last_seen_at = $1 \
                 WHERE id = $2 AND (last_seen_at IS NULL OR last_seen_at < $1)",
            )
            .bind(tally.last_seen)
            .bind(tally.device.as_str())
            .execute(&mut *tx)
            .await?;
            for &(minute, frames) in &tally.frames {
                sqlx::query(
                    "INSERT INTO device_frames (device_id, minute, frames) \
                     SELECT id, $2, $3 FROM devices WHERE id = $1 \
                     ON CONFLICT (device_id, minute) \
                     DO UPDATE SET frames = device_frames.frames + excluded.frames",
                )
                .bind(tally.device.as_str())
                .bind(minute)
                .bind(i64::try_from(frames).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("DELETE FROM device_frames WHERE minute <= $1")
            .bind(now / 60 - MINUTES_KEPT)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The devices of `org`'s entrance, oldest first, each up or down as
    /// seen at `now` after `down_after` of silence; `None` when the
    /// organisation has no such entrance.
    pub async fn devices(
        &self,
        org: &OrgId,
        entrance: &EntranceId,
        now: UnixTime,
        down_after: Duration,
    ) -> Result<Option<Vec<Device>>, StoreError> {
        if self.entrance(org, entrance).await?.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT d.id, d.created_at, d.last_seen_at, \
             COALESCE((SELECT CAST(SUM(f.frames) AS BIGINT) FROM device_frames f \
                       WHERE f.device_id = d.id AND f.minute > $2), 0) AS frames_last_hour \
             FROM devices d WHERE d.entrance_id = $1 ORDER BY d.created_at, d.id",
        )
        .bind(entrance.as_str())
        .bind(now / 60 - MINUTES_KEPT)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let last_seen: Option<UnixTime> = row.try_get("last_seen_at")?;
                let frames: i64 = row.try_get("frames_last_hour")?;
                Ok(Device {
                    id: parse_col(row, "id", DeviceId::parse)?,
                    entrance_id: entrance.clone(),
                    created_at: row.try_get("created_at")?,
                    last_seen,
                    frames_last_hour: u64::try_from(frames).unwrap_or(0),
                    status: DeviceStatus::at(last_seen, now, down_after),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map(Some)
    }
}
