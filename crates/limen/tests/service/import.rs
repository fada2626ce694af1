//! Large imports of people (issue 8, finding 7): written in batches, so a
//! 60,000-row import does not hold the database from other writers, and a
//! batch that fails leaves the ones before it, which sending the same rows
//! again completes.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::support::{Backend, Server, SmtpSink, block_on, raw_connection};

/// A CSV of `count` people, `prefix` in their e-mail addresses and ids.
fn people_csv(prefix: &str, count: usize) -> String {
    let mut csv = String::from("first_name,last_name,email,acs_id\n");
    for i in 0..count {
        csv.push_str(&format!(
            "Person,Number {i},{prefix}{i}@big.example.org,{prefix}-{i}\n"
        ));
    }
    csv
}

fn import(server: &Server, admin: &str, csv: &str) -> crate::support::Reply {
    server.send(
        "POST",
        "/api/v1/people",
        Some(admin),
        "text/csv",
        csv.as_bytes(),
    )
}

#[test]
fn a_60000_row_import_next_to_other_writers_succeeds() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Big Imports");
    let csv = people_csv("p", 60_000);
    let stop = AtomicBool::new(false);
    let (import, created) = std::thread::scope(|scope| {
        // Another admin's writes while the import runs: entrances created
        // one after another, each an audited write of its own.
        let writer = scope.spawn(|| {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let created = server.post_json(
                    "/api/v1/entrances",
                    Some(&admin),
                    &json!({ "name": "Side door", "connector": { "type": "osdp" } }),
                );
                statuses.push((created.status, created.body));
            }
            statuses
        });
        let import = import(&server, &admin, &csv);
        stop.store(true, Ordering::SeqCst);
        (import, writer.join().expect("the writer"))
    });
    assert_eq!(import.status, 200, "{}", import.body);
    assert_eq!(import.json()["created"], 60_000, "{}", import.body);
    assert!(
        created.len() > 1,
        "the writer wrote alongside: {}",
        created.len()
    );
    for (status, body) in &created {
        assert_eq!(
            *status,
            201,
            "a write next to the import failed: {body}\n{}",
            server.logs()
        );
    }
    let people = server.get("/api/v1/people", Some(&admin)).json();
    assert_eq!(people.as_array().map(Vec::len), Some(60_000));
}

#[test]
fn an_import_cut_short_keeps_its_first_batches_and_sending_it_again_completes_it() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Cut Imports");
    let csv = people_csv("q", 2_500);
    // Row 1,500 (in the second batch) cannot be written, as if someone took
    // its place meanwhile or the disk filled up.
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        sqlx::query(
            "CREATE TRIGGER refuse_row BEFORE INSERT ON people \
             WHEN NEW.email = 'q1499@big.example.org' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(&mut conn)
        .await
        .expect("trigger");
    });
    let cut = import(&server, &admin, &csv);
    assert_eq!(cut.status, 409, "{}", cut.body);
    assert!(
        cut.error()
            .contains("stopped after 1000 of 2500 rows, which were imported"),
        "{}",
        cut.body
    );
    let count = || {
        server
            .get("/api/v1/people", Some(&admin))
            .json()
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(count(), Some(1_000));

    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        sqlx::query("DROP TRIGGER refuse_row")
            .execute(&mut conn)
            .await
            .expect("drop trigger");
    });
    let again = import(&server, &admin, &csv);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json(), json!({ "created": 1_500, "updated": 1_000 }));
    assert_eq!(count(), Some(2_500));

    // Each batch written is in the trail, with the rows it wrote.
    let trail = server.get("/api/v1/audit", Some(&admin)).json();
    let imported: Vec<&str> = trail
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "people.imported")
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert_eq!(
        imported.len(),
        4,
        "one entry per batch written: {imported:?}"
    );
    assert!(
        imported.contains(&"rows 2001 to 2500 of 2500: 500 created, 0 updated"),
        "{imported:?}"
    );
}
