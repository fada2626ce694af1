//! People: import, statuses, isolation, invitations.

use limen_domain::{ModelVersion, NewPerson, OrgId, PersonStatus, now};
use limen_store::token::new_token;
use limen_store::{RedeemError, StoreError};

use crate::*;

pub(crate) async fn import_is_all_or_nothing_and_updates_by_email(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let first = store
        .import_people(
            |_| entry(),
            &org,
            &[
                row(1, "Ann", "Lee", "ann@acme.test", "A1"),
                row(2, "Bob", "Ray", "bob@acme.test", "A2"),
            ],
        )
        .await
        .expect("import");
    assert_eq!(
        first.map(|r| (r.created, r.updated)).expect("accepted"),
        (2, 0)
    );

    let clash = store
        .import_people(
            |_| entry(),
            &org,
            &[
                row(1, "Cat", "Day", "cat@acme.test", "A3"),
                row(2, "Dan", "Eve", "cat@acme.test", "A4"),
                row(3, "Eli", "Fox", "eli@acme.test", "A2"),
            ],
        )
        .await
        .expect("import");
    let errors = clash.expect_err("refused");
    assert_eq!(
        errors.iter().map(|e| (e.row, e.field)).collect::<Vec<_>>(),
        vec![(2, "email"), (3, "acs_id")]
    );
    assert_eq!(
        store.people(&org, &model()).await.expect("people").len(),
        2,
        "nothing of the refused import was written"
    );

    let update = store
        .import_people(
            |_| entry(),
            &org,
            &[row(1, "Ann", "Lee-Smith", "ANN@acme.test", "A9")],
        )
        .await
        .expect("import");
    assert_eq!(
        update.map(|r| (r.created, r.updated)).expect("accepted"),
        (0, 1)
    );
    let ann = person_with_email(store, &org, "ann@acme.test").await;
    assert_eq!(
        (ann.last_name.as_str(), ann.acs_id.as_str()),
        ("Lee-Smith", "A9")
    );

    let bad = NewPerson::parse(4, "", "X", "not-an-email", "has space").expect_err("invalid");
    assert_eq!(
        bad.iter().map(|e| e.field).collect::<Vec<_>>(),
        vec!["first_name", "email", "acs_id"]
    );
}

pub(crate) async fn statuses_follow_the_journey(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    store
        .import_people(
            |_| entry(),
            &org,
            &[row(1, "Ann", "Lee", "ann@acme.test", "A1")],
        )
        .await
        .expect("import")
        .expect("ok");
    let person = person_with_email(store, &org, "ann@acme.test").await;
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Imported
    );
    let (_, hash) = new_token();
    store
        .replace_invitation(&entry(), &org, &person.id, &hash, now() + 3600)
        .await
        .expect("invite");
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Invited
    );
    store
        .redeem_invitation(|_| entry(), &hash, "$argon2id$fake")
        .await
        .expect("redeem");
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Registered
    );
    consent_to_v1(store, &person, "api").await;
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Consented
    );
    store
        .replace_vectors(&entry(), &person, &model(), &one_vector())
        .await
        .expect("vector");
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Enrolled
    );
    assert_eq!(
        status_of(store, &org, &person, &ModelVersion::new("dlib-resnet-v2")).await,
        PersonStatus::RenewalNeeded
    );
    let stored = store.vectors(&person).await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (&stored[0].model_version, stored[0].vector.as_slice()),
        (&model(), descriptor().as_slice())
    );
    assert!(
        store
            .withdraw_consent(&entry(), &person)
            .await
            .expect("withdraw")
    );
    assert_eq!(
        status_of(store, &org, &person, &model()).await,
        PersonStatus::Registered
    );
    let consents = store.consents(&person).await.expect("consents");
    assert_eq!(consents.len(), 1);
    assert!(consents[0].withdrawn_at.is_some());
}

pub(crate) async fn organisations_are_isolated(db: &TestDb) {
    let store = &db.store;
    let a = new_org(store, "Acme").await;
    let b = new_org(store, "Bolt").await;
    let ann = registered_person(store, &a, "ann@acme.test", "A1").await;
    consent_to_v1(store, &ann, "api").await;
    store
        .replace_vectors(&entry(), &ann, &model(), &one_vector())
        .await
        .expect("vector");

    assert!(store.person(&b, &ann.id).await.expect("lookup").is_none());
    assert!(store.people(&b, &model()).await.expect("people").is_empty());
    assert!(
        !store
            .delete_person(&entry(), &b, &ann.id)
            .await
            .expect("delete")
    );
    let (_, hash) = new_token();
    assert!(matches!(
        store
            .replace_invitation(&entry(), &b, &ann.id, &hash, now() + 60)
            .await,
        Err(StoreError::UnknownPerson)
    ));
    // Ann as if she belonged to organisation B: every person-scoped call must miss.
    let mut forged = ann.clone();
    forged.org_id = b.clone();
    assert!(store.vectors(&forged).await.expect("read").is_empty());
    assert!(
        !store
            .delete_vectors(&entry(), &forged)
            .await
            .expect("delete")
    );
    assert!(matches!(
        store.withdraw_consent(&entry(), &forged).await,
        Err(StoreError::UnknownPerson)
    ));
    assert!(matches!(
        store
            .replace_vectors(&entry(), &forged, &model(), &one_vector())
            .await,
        Err(StoreError::UnknownPerson)
    ));
    assert!(matches!(
        store.cancel_registration(&entry(), &forged).await,
        Err(StoreError::UnknownPerson)
    ));
    assert!(store.consents(&forged).await.expect("consents").is_empty());
    assert!(store.password_hash(&forged).await.expect("hash").is_none());
    assert!(
        !store.vectors(&ann).await.expect("read").is_empty(),
        "A's data is untouched"
    );
    assert!(store.person(&a, &ann.id).await.expect("lookup").is_some());

    // Replacing B's admin token revokes B's old one and leaves A's alone.
    let (_, a_token) = new_token();
    let (_, b_old) = new_token();
    let (_, b_new) = new_token();
    assert!(
        store
            .replace_admin_token(&entry(), &a, &a_token)
            .await
            .expect("replace")
    );
    assert!(
        store
            .replace_admin_token(&entry(), &b, &b_old)
            .await
            .expect("replace")
    );
    assert!(
        store
            .replace_admin_token(&entry(), &b, &b_new)
            .await
            .expect("replace")
    );
    let org_of = |token| async move {
        store
            .admin_for_api_key(token)
            .await
            .expect("lookup")
            .map(|admin| admin.org)
    };
    assert_eq!(org_of(&a_token).await, Some(a.clone()));
    assert_eq!(org_of(&b_old).await, None);
    assert_eq!(org_of(&b_new).await, Some(b.clone()));
    assert!(
        !store
            .replace_admin_token(&entry(), &OrgId::generate(), &b_old)
            .await
            .expect("replace")
    );

    // The same e-mail address may be imported by both organisations.
    let bob_b = registered_person(store, &b, "ann@acme.test", "B1").await;
    let accounts = store.accounts_by_email(&ann.email).await.expect("accounts");
    assert_eq!(
        accounts
            .iter()
            .filter(|(p, _)| p.org_id == a || p.org_id == b)
            .count(),
        2
    );
    assert_ne!(bob_b.id, ann.id);
}

pub(crate) async fn invitations_are_single_use_and_replaceable(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    store
        .import_people(
            |_| entry(),
            &org,
            &[row(1, "Ann", "Lee", "ann@acme.test", "A1")],
        )
        .await
        .expect("import")
        .expect("ok");
    let person = person_with_email(store, &org, "ann@acme.test").await;

    let (_, expired) = new_token();
    store
        .replace_invitation(&entry(), &org, &person.id, &expired, now() - 1)
        .await
        .expect("invite");
    assert!(matches!(
        store.invitation(&expired).await,
        Err(RedeemError::Expired)
    ));
    assert!(matches!(
        store.redeem_invitation(|_| entry(), &expired, "h").await,
        Err(RedeemError::Expired)
    ));
    assert!(
        store.password_hash(&person).await.expect("hash").is_none(),
        "an expired link creates nothing"
    );

    let (_, old) = new_token();
    let (_, new) = new_token();
    store
        .replace_invitation(&entry(), &org, &person.id, &old, now() + 60)
        .await
        .expect("invite");
    store
        .replace_invitation(&entry(), &org, &person.id, &new, now() + 60)
        .await
        .expect("re-invite");
    assert!(
        matches!(
            store.redeem_invitation(|_| entry(), &old, "h").await,
            Err(RedeemError::Unknown)
        ),
        "a resent invitation voids the old link"
    );
    assert_eq!(store.invitation(&new).await.expect("valid").id, person.id);
    store
        .redeem_invitation(|_| entry(), &new, "h")
        .await
        .expect("redeem");
    assert!(
        matches!(
            store.redeem_invitation(|_| entry(), &new, "h2").await,
            Err(RedeemError::Unknown)
        ),
        "links are single-use"
    );
    assert_eq!(
        store.password_hash(&person).await.expect("hash").as_deref(),
        Some("h")
    );
}

pub(crate) async fn a_page_of_people_matches_name_or_email_literally(db: &TestDb) {
    let store = &db.store;
    let org = new_org(store, "Acme").await;
    let other = new_org(store, "Other").await;
    let rows = [
        row(1, "Ann", "Lee", "ann@acme.test", "A1"),
        row(2, "Bob", "van der Berg", "bob@acme.test", "A2"),
        row(3, "Cat", "Day", "cat_100%@acme.test", "A3"),
        row(4, "Dan", "Berg", "dan@acme.test", "A4"),
    ];
    store
        .import_people(|_| entry(), &org, &rows)
        .await
        .expect("import")
        .expect("accepted");
    store
        .import_people(
            |_| entry(),
            &other,
            &[row(1, "Bea", "Berg", "bea@other.test", "B1")],
        )
        .await
        .expect("import")
        .expect("accepted");
    let page = |search: &'static str, offset, limit| {
        let org = org.clone();
        async move {
            let (people, total) = store
                .people_page(&org, &model(), search, offset, limit)
                .await
                .expect("page");
            let emails: Vec<String> = people.iter().map(|p| p.person.email.to_string()).collect();
            (emails, total)
        }
    };
    // Ordered by last name; the other organisation's Berg never shows.
    assert_eq!(
        page("BERG", 0, 10).await,
        (vec!["dan@acme.test".into(), "bob@acme.test".into()], 2)
    );
    assert_eq!(
        page("bob van", 0, 10).await.1,
        1,
        "first and last name as one"
    );
    assert_eq!(
        page("ACME.TEST", 1, 2).await,
        (vec!["cat_100%@acme.test".into(), "ann@acme.test".into()], 4)
    );
    // LIKE's wildcards are searched for as themselves.
    assert_eq!(page("_100%", 0, 10).await.1, 1);
    assert_eq!(page("%", 0, 10).await.1, 1);
    assert_eq!(page("", 0, 10).await.1, 4);
}
