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

/// The one table of password links holds an employee's and an admin's
/// side by side, on either database: the admin's link is no person's,
/// works once, sets the password and ends the admin's sessions, and
/// leaves the person's link alone.
pub(crate) async fn an_admins_password_link_shares_the_employees_table(db: &TestDb) {
    use limen_store::RedeemError;
    let store = &db.store;
    let org = new_org(store, "Forgetful").await;
    let person = registered_person(store, &org, "ann@forgetful.test", "F-1").await;
    let email = limen_domain::EmailAddress::parse("ada@forgetful.test").expect("email");
    let name = limen_domain::PersonName::parse("Ada").expect("name");
    let (_, invitation) = new_token();
    let later = limen_domain::now() + 3600;
    store
        .invite_admin(|_| entry(), &org, &email, &name, &invitation, later)
        .await
        .expect("invited")
        .expect("a new admin");
    let (_, admin) = store
        .redeem_admin_invitation(|_, _| entry(), &invitation, "old hash")
        .await
        .expect("registered");
    store
        .create_admin_session(&admin.id, &new_token().1, later)
        .await
        .expect("session");
    let (_, person_link) = new_token();
    let (_, admin_link) = new_token();
    store
        .replace_password_reset(&entry(), &person, &person_link, later)
        .await
        .expect("person's link");
    store
        .replace_admin_password_reset(&entry(), &admin.id, &admin_link, later)
        .await
        .expect("admin's link");

    assert!(matches!(
        store.password_reset(&admin_link).await,
        Err(RedeemError::Unknown)
    ));
    assert!(matches!(
        store.admin_password_reset(&person_link).await,
        Err(RedeemError::Unknown)
    ));
    let (found_org, found) = store
        .redeem_admin_password_reset(|_, _| entry(), &admin_link, "new hash")
        .await
        .expect("redeemed");
    assert_eq!(
        (found_org, found.id.clone()),
        (org.clone(), admin.id.clone())
    );
    assert!(matches!(
        store.admin_password_reset(&admin_link).await,
        Err(RedeemError::Unknown)
    ));
    let login = store.admin_logins(&email).await.expect("logins");
    assert_eq!(login[0].password_hash, "new hash");
    let mut conn = raw(db).await;
    let sessions: i64 = sqlx::query("SELECT COUNT(*) FROM admin_sessions WHERE admin_id = $1")
        .bind(admin.id.as_str())
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get(0);
    assert_eq!(sessions, 0, "every session of the admin ends");
    assert_eq!(
        store.password_reset(&person_link).await.expect("kept").id,
        person.id
    );
}
