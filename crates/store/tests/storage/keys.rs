//! API keys: an organisation's cap holds when admins make keys at once.

use limen_domain::{Actor, Label};
use limen_store::token::new_token;
use limen_store::{MAX_API_KEYS, NewApiKey};

use crate::*;

pub(crate) async fn api_keys_stop_at_the_cap_when_made_at_once(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Keyed").await;
    let make = |store: Store, n: usize| {
        let org = org.clone();
        async move {
            let (_, hash) = new_token();
            let name = Label::parse(&format!("key {n}")).expect("label");
            store
                .create_api_key(|_| entry(), &org, &name, &hash, &Actor::Operator)
                .await
                .expect("create key")
        }
    };
    // The organisation's admin token is one key already.
    let room = 5;
    for n in 0..MAX_API_KEYS - 1 - room {
        assert!(matches!(
            make(store.clone(), n).await,
            NewApiKey::Created(_)
        ));
    }
    let mut racing = tokio::task::JoinSet::new();
    for n in 0..2 * room {
        racing.spawn(make(store.clone(), 1000 + n));
    }
    let mut created = 0;
    while let Some(result) = racing.join_next().await {
        match result.expect("joined") {
            NewApiKey::Created(_) => created += 1,
            NewApiKey::TooMany => {}
            NewApiKey::NameTaken => panic!("names are distinct"),
        }
    }
    assert_eq!(created, room);
    assert_eq!(
        store.api_keys(&org).await.expect("keys").len(),
        MAX_API_KEYS
    );
}

/// Whether an admin's second factor is on reads the row without opening
/// the secret, on either database.
pub(crate) async fn an_admins_second_factor_is_off_pending_then_on(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Two-step").await;
    let email = limen_domain::EmailAddress::parse("ada@two-step.test").expect("email");
    let name = limen_domain::PersonName::parse("Ada").expect("name");
    let (_, hash) = new_token();
    let admin = store
        .invite_admin(
            |_| entry(),
            &org,
            &email,
            &name,
            &hash,
            limen_domain::now() + 3600,
        )
        .await
        .expect("invited")
        .expect("a new admin");
    assert!(!store.admin_totp_on(&org, &admin.id).await.expect("read"));
    assert!(
        store
            .set_pending_admin_totp(&org, &admin.id, &[7; 20])
            .await
            .expect("set")
    );
    assert!(
        !store.admin_totp_on(&org, &admin.id).await.expect("read"),
        "pending is not on"
    );
    assert!(
        store
            .enable_admin_totp(&org, &admin.id, 1)
            .await
            .expect("enable")
    );
    assert!(store.admin_totp_on(&org, &admin.id).await.expect("read"));
}
