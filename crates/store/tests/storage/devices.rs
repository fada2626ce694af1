//! Device activity as several instances on one database record it: their
//! tallies add up, the last-seen time only moves forward, counts older
//! than an hour are neither shown nor kept.

use std::time::Duration;

use limen_domain::{DeviceStatus, EntranceId, now};
use limen_store::token::new_token;
use limen_store::{DeviceTally, NewConnector, Store};
use sqlx::Row;

use crate::{TestDb, entry, master, new_org, raw};

pub(crate) async fn activity_from_several_instances_adds_up(db: &TestDb) {
    let store = &db.store;
    // A second instance: a pool of its own on the same database.
    let other_instance = Store::open(&db.url, master()).await.expect("open again");
    let org = new_org(store, "Doors").await;
    let entrance = store
        .create_entrance(|_| entry(), &org, "Front", &NewConnector::Osdp)
        .await
        .expect("entrance")
        .id;
    let register = |entrance: EntranceId| {
        let org = org.clone();
        async move {
            store
                .create_device(|_| entry(), &org, &entrance, &new_token().1)
                .await
                .expect("device")
                .expect("the organisation's entrance")
        }
    };
    let camera = register(entrance.clone()).await;
    let silent = register(entrance.clone()).await;

    let at = now();
    let minute = at / 60;
    store
        .record_device_activity(
            &[DeviceTally {
                device: camera.clone(),
                last_seen: at - 10,
                frames: vec![(minute - 1, 2), (minute, 3)],
            }],
            at,
        )
        .await
        .expect("one instance's tally");
    other_instance
        .record_device_activity(
            &[DeviceTally {
                device: camera.clone(),
                // Older than what the first instance saw: not taken.
                last_seen: at - 20,
                frames: vec![(minute, 4), (minute - 60, 100)],
            }],
            at,
        )
        .await
        .expect("the other instance's tally");

    let down_after = Duration::from_secs(120);
    let devices = store
        .devices(&org, &entrance, at, down_after)
        .await
        .expect("devices")
        .expect("the organisation's entrance");
    let seen = devices.iter().find(|d| d.id == camera).expect("camera");
    assert_eq!(
        seen.frames_last_hour, 9,
        "2 + 3 + 4; the hour-old 100 is not"
    );
    assert_eq!(seen.last_seen, Some(at - 10));
    assert_eq!(seen.status, DeviceStatus::Up);
    let quiet = devices.iter().find(|d| d.id == silent).expect("silent");
    assert_eq!(
        (quiet.last_seen, quiet.frames_last_hour, quiet.status),
        (None, 0, DeviceStatus::Down)
    );
    let later = store
        .devices(&org, &entrance, at + 131, down_after)
        .await
        .expect("devices")
        .expect("entrance");
    assert!(later.iter().all(|d| d.status == DeviceStatus::Down));

    let mut conn = raw(db).await;
    let old: i64 = sqlx::query("SELECT COUNT(*) AS n FROM device_frames WHERE minute <= $1")
        .bind(minute - 60)
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .try_get("n")
        .expect("n");
    assert_eq!(old, 0, "counts older than an hour are not kept");

    // A device revoked before an instance flushes is skipped, not an error.
    assert!(
        store
            .revoke_device(&entry(), &org, &entrance, &silent)
            .await
            .expect("revoke")
    );
    store
        .record_device_activity(
            &[DeviceTally {
                device: silent.clone(),
                last_seen: at,
                frames: vec![(minute, 1)],
            }],
            at,
        )
        .await
        .expect("a revoked device's tally");
    let other_org = new_org(store, "Elsewhere").await;
    assert!(
        store
            .devices(&other_org, &entrance, at, down_after)
            .await
            .expect("devices")
            .is_none(),
        "another organisation's entrance is not found"
    );
    for org in [org, other_org] {
        store
            .delete_organisation(&entry(), &org)
            .await
            .expect("cleanup");
    }
}
