//! Every word of what the audit trail and the decision events record is in
//! the admin's language: a Dutch admin reads the actions, their details
//! and a decision's frames and live score (with a decimal comma) in Dutch,
//! none of the English sentences the API still gives programs; a row an
//! older version wrote as free text is shown as it is.

use serde_json::json;

use crate::support::{
    Backend, Server, SmtpSink, admin_page_session, block_on, create_device, create_entrance,
    csrf_of, org_with_admin_account, raw_connection,
};
use limen_domain::{AccessSystemAnswer, Decision, DecisionDetail, EntranceId, OrgId};
use limen_store::{MasterKey, Store};

#[test]
fn a_dutch_admin_reads_the_trail_and_the_decisions_in_dutch() {
    let smtp = SmtpSink::start();
    let server = Server::start(Backend::Sqlite, &smtp.url()).expect("a SQLite server");
    let key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    let cookie = admin_page_session(&server, "ada@acme.test");

    server.import_csv(
        &key,
        "first_name,last_name,email,acs_id\nAnn,Lee,ann@acme.test,A-1\nBen,Bos,ben@acme.test,B-2\n",
    );
    let door = create_entrance(&server, &key, "Voordeur", json!({ "type": "osdp" }));
    create_device(&server, &key, &door);
    let renamed = server.send(
        "PATCH",
        &format!("/api/v1/entrances/{door}"),
        Some(&key),
        "application/json",
        json!({ "name": "Hoofdingang" }).to_string().as_bytes(),
    );
    assert!(renamed.status < 300, "{}", renamed.body);

    // A decision of three frames fused, with its live score, that the
    // access system left unanswered, as the frame handler records it; and
    // one an older version recorded as an English sentence.
    let org = server.get("/api/v1/entrances", Some(&key)).json()[0]["org_id"]
        .as_str()
        .expect("organisation id")
        .to_owned();
    block_on(async {
        let store = Store::open(
            &server.database_url,
            MasterKey::load_or_create(&server.data_dir.join("master.key")).expect("master key"),
        )
        .await
        .expect("store");
        store
            .record_decision(
                &OrgId::parse(&org).expect("org id"),
                &EntranceId::parse(&door).expect("entrance id"),
                Decision::Denied,
                None,
                &DecisionDetail {
                    frames: 3,
                    live_score: Some(0.97),
                    access_system: Some(AccessSystemAnswer::NoAnswer),
                },
            )
            .await
            .expect("a decision");
        store.close().await;
        let mut conn = raw_connection(&server.database_url).await;
        sqlx::query(
            "INSERT INTO decision_events (org_id, entrance_id, at, decision, person_id, detail) \
             VALUES ($1, $2, 1000, 'unknown', NULL, '2 frames of one pass')",
        )
        .bind(&org)
        .bind(&door)
        .execute(&mut conn)
        .await
        .expect("an old decision");
    });

    let home = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    let dutch = server.admin_page(
        "POST",
        "/admin/language",
        Some(&cookie),
        &[("csrf", &csrf_of(&home.body)), ("language", "nl")],
    );
    assert_eq!(dutch.status, 303, "{}", dutch.body);

    let events = server.admin_page("GET", "/admin/events", Some(&cookie), &[]);
    assert_eq!(events.status, 200);
    assert!(
        events.body.contains(
            "3 beelden van één passage; echtheidsscore 0,97; het toegangssysteem gaf geen antwoord"
        ),
        "{}",
        events.body
    );
    assert!(events.body.contains("<td>2 frames of one pass</td>"));
    for english in ["3 frames", "live score", "did not answer", "0.97"] {
        assert!(!events.body.contains(english), "{english}: {}", events.body);
    }

    let audit = server.admin_page("GET", "/admin/audit", Some(&cookie), &[]);
    assert_eq!(audit.status, 200);
    for dutch in [
        "Het auditlog is in orde",
        "Mensen geïmporteerd",
        "Personen 1 tot en met 2 van 2: 2 toegevoegd, 0 bijgewerkt",
        "Ingang toegevoegd",
        "Koppeling: OSDP",
        "Camera toegevoegd",
        &format!("Bij ingang {door}"),
        "Naam van een ingang gewijzigd",
        "Naam: Hoofdingang",
        "Standaardtaal gewijzigd",
        "Nu: Nederlands",
        "Beheerdersaccount ingesteld",
        "API-sleutel ",
    ] {
        assert!(audit.body.contains(dutch), "{dutch}: {}", audit.body);
    }
    for english in [
        "people.imported",
        "entrance.created",
        "rows 1 to 2",
        "connector osdp",
        "Entrance added",
        "name Hoofdingang",
        "admin.registered",
        "api-key:",
    ] {
        assert!(!audit.body.contains(english), "{english}: {}", audit.body);
    }

    // Programs keep reading codes and English sentences.
    let decided = server.get(&format!("/api/v1/entrances/{door}/events"), Some(&key));
    assert_eq!(
        decided.json()[0]["detail"],
        "3 frames of one pass; live score 0.97; the access system did not answer"
    );
    let trail = server.get("/api/v1/audit", Some(&key)).json();
    let imported = trail
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "people.imported")
        .expect("the import's entry");
    assert_eq!(imported["detail"], "rows 1 to 2 of 2: 2 created, 0 updated");
}
