//! Entrances as their admin reads them. Device activity as several
//! instances on one database record it: their tallies add up, the
//! last-seen time only moves forward, counts older than an hour are
//! neither shown nor kept. Decision events filtered, with names.

use std::time::Duration;

use limen_domain::{Decision, DeviceStatus, EntranceId, now};
use limen_store::token::new_token;
use limen_store::{DecisionFilter, DeviceTally, NewConnector, Store};
use sqlx::Row;

use crate::{TestDb, entry, master, new_org, raw, registered_person};

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

pub(crate) async fn decision_events_are_filtered_and_named(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Events").await;
    let front = store
        .create_entrance(|_| entry(), &org, "Front", &NewConnector::Osdp)
        .await
        .expect("entrance")
        .id;
    let back = store
        .create_entrance(|_| entry(), &org, "Back", &NewConnector::Osdp)
        .await
        .expect("entrance")
        .id;
    let ann = registered_person(store, &org, "ann@events.test", "A-1").await;
    let record = |entrance: EntranceId, decision, person| {
        let org = org.clone();
        async move {
            store
                .record_decision(
                    &org,
                    &entrance,
                    decision,
                    person,
                    &limen_domain::DecisionDetail::default(),
                )
                .await
                .expect("recorded")
        }
    };
    record(front.clone(), Decision::Matched, Some(&ann.id)).await;
    record(front.clone(), Decision::Unknown, None).await;
    record(back.clone(), Decision::NoFace, None).await;

    let all = store
        .named_decision_events(&org, &DecisionFilter::default())
        .await
        .expect("events");
    assert_eq!(all.len(), 3);
    let matched = store
        .named_decision_events(
            &org,
            &DecisionFilter {
                decision: Some(Decision::Matched),
                ..DecisionFilter::default()
            },
        )
        .await
        .expect("events");
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0].entrance, "Front");
    assert_eq!(matched[0].person.as_deref(), Some("Ann Lee"));
    let at_back = store
        .named_decision_events(
            &org,
            &DecisionFilter {
                entrance: Some(back.clone()),
                ..DecisionFilter::default()
            },
        )
        .await
        .expect("events");
    assert_eq!(
        at_back.iter().map(|e| e.event.decision).collect::<Vec<_>>(),
        vec![Decision::NoFace]
    );
    assert_eq!(at_back[0].person, None);
    let at = now();
    let later = store
        .named_decision_events(
            &org,
            &DecisionFilter {
                from: Some(at + 3600),
                ..DecisionFilter::default()
            },
        )
        .await
        .expect("events");
    assert!(later.is_empty());
    let until_now = store
        .named_decision_events(
            &org,
            &DecisionFilter {
                from: Some(at - 3600),
                until: Some(at + 1),
                ..DecisionFilter::default()
            },
        )
        .await
        .expect("events");
    assert_eq!(until_now.len(), 3);
    let other = new_org(store, "Not events").await;
    assert!(
        store
            .named_decision_events(&other, &DecisionFilter::default())
            .await
            .expect("events")
            .is_empty()
    );
    assert_eq!(
        store
            .verify_audit_chain(org.as_str())
            .await
            .expect("verify"),
        Ok(store.audit_trail(org.as_str()).await.expect("trail").len())
    );
    for org in [org, other] {
        store
            .delete_organisation(&entry(), &org)
            .await
            .expect("cleanup");
    }
}
