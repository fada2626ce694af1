//! The model rollout: activation, renewal requests claimed once, progress,
//! and the end of a transition. Each run has a database of its own, since
//! the rollout is the whole installation's.

use limen_domain::{FaceVector, ModelVersion, PersonStatus, now};
use limen_store::{ActivationRefused, Store};

use crate::{consent_to_v1, entry, new_org, person_with_email, registered_person};

fn v(tag: &str) -> ModelVersion {
    ModelVersion::new(tag)
}

fn vector(dimensions: usize) -> FaceVector {
    FaceVector::new(vec![0.1; dimensions]).expect("vector")
}

async fn status(store: &Store, org: &limen_domain::OrgId, email: &str) -> PersonStatus {
    store
        .people(
            org,
            &store
                .model_rollout()
                .await
                .expect("rollout")
                .expect("set")
                .active,
        )
        .await
        .expect("people")
        .into_iter()
        .find(|p| p.person.email.as_str() == email)
        .expect("person")
        .status
}

pub(crate) async fn a_transition_asks_renews_and_retires(store: &Store) {
    let (none, head) = store.rollout_and_face_change_head().await.expect("read");
    assert_eq!(
        (none, head),
        (None, store.face_change_head().await.expect("head")),
        "no rollout before the first start"
    );
    let started = store.start_model_rollout(&v("v1")).await.expect("start");
    assert_eq!(
        (started.active.as_str(), started.transition.is_none()),
        ("v1", true)
    );
    let again = store
        .start_model_rollout(&v("v9"))
        .await
        .expect("start again");
    assert_eq!(again, started, "the first start decides");

    let org = new_org(store, "Acme").await;
    let ann = registered_person(store, &org, "ann@acme.test", "A1").await;
    let bob = registered_person(store, &org, "bob@acme.test", "B1").await;
    for person in [&ann, &bob] {
        consent_to_v1(store, person, "api").await;
        store
            .replace_vectors(&entry(), person, &v("v1"), &[vector(4), vector(4)])
            .await
            .expect("enrol");
    }
    assert_eq!(
        status(store, &org, "ann@acme.test").await,
        PersonStatus::Enrolled
    );

    let at = now();
    assert_eq!(
        store
            .activate_model(&entry(), &v("v1"), at, at + 100, &[])
            .await
            .expect("db"),
        Err(ActivationRefused::AlreadyActive(v("v1")))
    );
    let rollout = store
        .activate_model(&entry(), &v("v2"), at, at + 100, &[20, 50])
        .await
        .expect("db")
        .expect("activated");
    let transition = rollout.transition.clone().expect("a transition");
    assert_eq!(
        (transition.retiring.as_str(), transition.ends_at),
        ("v1", at + 100)
    );
    assert_eq!(transition.reminders, [50, 20], "largest first");
    assert!(matches!(
        store
            .activate_model(&entry(), &v("v3"), at, at + 100, &[])
            .await
            .expect("db"),
        Err(ActivationRefused::TransitionUnderway { .. })
    ));
    assert_eq!(
        status(store, &org, "ann@acme.test").await,
        PersonStatus::RenewalNeeded
    );

    // The first request is due to both; each is claimed once.
    let due = store.due_renewals(&rollout, at).await.expect("due");
    assert_eq!(due.iter().map(|d| d.notice).collect::<Vec<_>>(), [0, 0]);
    assert!(
        store
            .claim_renewal_notice(&ann.id, &v("v2"), 0, at)
            .await
            .expect("claim")
    );
    assert!(
        !store
            .claim_renewal_notice(&ann.id, &v("v2"), 0, at)
            .await
            .expect("claim")
    );
    store
        .release_renewal_notice(&ann.id, &v("v2"), 0)
        .await
        .expect("release");
    assert!(
        store
            .claim_renewal_notice(&ann.id, &v("v2"), 0, at)
            .await
            .expect("claim")
    );
    assert!(
        store
            .claim_renewal_notice(&bob.id, &v("v2"), 0, at)
            .await
            .expect("claim")
    );
    assert!(
        store
            .due_renewals(&rollout, at)
            .await
            .expect("due")
            .is_empty()
    );
    // 50 s before the end, the first reminder.
    let reminded = store.due_renewals(&rollout, at + 50).await.expect("due");
    assert_eq!(
        reminded.iter().map(|d| d.notice).collect::<Vec<_>>(),
        [1, 1]
    );
    assert_eq!(
        store.renewal_notices(&ann.id).await.expect("notices").len(),
        1
    );

    // Ann renews with the new version; Bob does not.
    store
        .replace_vectors(&entry(), &ann, &v("v2"), &[vector(8)])
        .await
        .expect("renew");
    let progress = store
        .renewal_progress(&org, &rollout)
        .await
        .expect("progress");
    assert_eq!(
        (progress.renewed, progress.pending, progress.expired),
        (1, 1, 0)
    );
    assert!(
        store
            .due_renewals(&rollout, at + 50)
            .await
            .expect("due")
            .iter()
            .all(|d| d.person.id == bob.id)
    );

    // Not over yet: nothing happens. Over: Bob's old vectors go, in one
    // numbered change, and he needs to enrol again; consent stays.
    assert_eq!(
        store
            .end_model_transition(|_, _, _| entry(), at + 99, false)
            .await
            .expect("end"),
        None
    );
    let head = store.face_change_head().await.expect("head");
    // One read gives both, as a door frame asks for them.
    assert_eq!(
        store
            .rollout_and_face_change_head()
            .await
            .expect("one read"),
        (store.model_rollout().await.expect("rollout"), head)
    );
    assert!(
        store
            .model_rollout()
            .await
            .expect("rollout")
            .is_some_and(|r| r.transition.is_some()),
        "read during the transition"
    );
    let ended = store
        .end_model_transition(|_, _, _| entry(), at + 100, false)
        .await
        .expect("end")
        .expect("ended");
    assert_eq!(ended.retired, v("v1"));
    assert_eq!(ended.people, [(org.clone(), bob.id.clone())]);
    let changes = store.face_changes_after(head, 100).await.expect("changes");
    assert!(
        changes
            .iter()
            .any(|c| c.person_id.as_ref() == Some(&bob.id))
    );
    assert!(store.vectors(&bob).await.expect("vectors").is_empty());
    assert_eq!(store.vectors(&ann).await.expect("vectors").len(), 1);
    assert_eq!(
        status(store, &org, "bob@acme.test").await,
        PersonStatus::RenewalNeeded
    );
    assert_eq!(
        status(store, &org, "ann@acme.test").await,
        PersonStatus::Enrolled
    );
    assert!(
        store
            .consents(&bob)
            .await
            .expect("consents")
            .iter()
            .any(|c| c.is_active())
    );
    let settled = store.model_rollout().await.expect("rollout").expect("set");
    assert!(settled.transition.is_none());
    assert_eq!(
        store
            .end_model_transition(|_, _, _| entry(), at + 200, true)
            .await
            .expect("end"),
        None
    );
    let progress = store
        .renewal_progress(&org, &settled)
        .await
        .expect("progress");
    assert_eq!(progress.expired, 1);

    // Bob enrols again: the mark goes. A withdrawal after a lapse is a
    // plain withdrawal.
    store
        .replace_vectors(
            &entry(),
            &person_with_email(store, &org, "bob@acme.test").await,
            &v("v2"),
            &[vector(8)],
        )
        .await
        .expect("enrol again");
    assert_eq!(
        status(store, &org, "bob@acme.test").await,
        PersonStatus::Enrolled
    );

    // With nobody holding the active version's vectors, activating another
    // needs no transition.
    store.delete_vectors(&entry(), &ann).await.expect("remove");
    store.delete_vectors(&entry(), &bob).await.expect("remove");
    let direct = store
        .activate_model(&entry(), &v("v3"), at, at + 100, &[])
        .await
        .expect("db")
        .expect("activated");
    assert!(direct.transition.is_none());

    // A set read with the version of a moment ago (activated over while
    // the engine worked) is refused: no gallery would hold it and no
    // transition would ever delete it.
    assert!(matches!(
        store
            .replace_vectors(&entry(), &ann, &v("v2"), &[vector(8)])
            .await,
        Err(limen_store::StoreError::ModelNotInUse)
    ));
    assert!(store.vectors(&ann).await.expect("vectors").is_empty());
    store
        .replace_vectors(&entry(), &ann, &v("v3"), &[vector(8)])
        .await
        .expect("the active version is kept");
}
