//! P9 under load: every audited action has its entry, however many
//! requests arrive at once.

use crate::support::{Backend, Server, SmtpSink, block_on, onboard, raw_connection};

#[test]
fn concurrent_audited_actions_all_reach_the_trail_on_sqlite() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    const CLIENTS: usize = 8;
    const EXPORTS_EACH: usize = 25;
    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                for _ in 0..EXPORTS_EACH {
                    let export = server.get("/api/v1/me/export", Some(&ann.session));
                    assert_eq!(export.status, 200, "{}", export.body);
                }
            });
        }
    });
    let trail = server.get("/api/v1/audit", Some(&admin)).json();
    let exported = trail
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "data.exported")
        .count();
    assert_eq!(exported, CLIENTS * EXPORTS_EACH, "exports without an entry");
    assert!(
        !server.logs().contains("cannot append to the audit trail"),
        "{}",
        server.logs()
    );
    let verified = server.admin(&["audit", "verify"]);
    assert!(verified.status.success(), "{verified:?}");
}

/// Refuses every new audit entry, as a full disk, a lost permission or an
/// attacker's trigger would; returns the statement that lifts it.
async fn refuse_audit_entries(url: &str, backend: Backend) -> &'static str {
    let mut conn = raw_connection(url).await;
    let statements: &[&str] = match backend {
        Backend::Sqlite => &[
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries \
             BEGIN SELECT RAISE(ABORT, 'audit entries refused'); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit entries refused'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ],
    };
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect(statement);
    }
    match backend {
        Backend::Sqlite => "DROP TRIGGER refuse_audit",
        Backend::Postgres => "DROP TRIGGER refuse_audit ON audit_entries",
    }
}

/// P9: an audited action and its entry commit together. While the trail
/// refuses entries, a withdrawal, an erasure and an export are refused
/// and change nothing; once it accepts them again, each is done with its
/// entry.
fn actions_without_their_entry_do_not_happen(backend: Backend) {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(backend, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    let bob = onboard(&server, &smtp, &admin, "bob@acme.test", "B-1", 2);
    let entries = || server.get("/api/v1/audit", Some(&admin)).json();
    let before = entries();

    let lift = block_on(refuse_audit_entries(&server.database_url, backend));
    let withdrawn = server.delete("/api/v1/me/consent", Some(&ann.session));
    assert_eq!(withdrawn.status, 500, "{}", withdrawn.body);
    let erased = server.delete(&format!("/api/v1/people/{}", bob.person_id), Some(&admin));
    assert_eq!(erased.status, 500, "{}", erased.body);
    let export = server.get("/api/v1/me/export", Some(&ann.session));
    assert_eq!(
        export.status, 500,
        "an export that cannot be recorded is refused"
    );

    assert!(
        server.get("/api/v1/me", Some(&ann.session)).json()["consent"].is_object(),
        "the consent stays while its withdrawal cannot be recorded"
    );
    let people = server.get("/api/v1/people", Some(&admin)).json();
    assert!(
        people
            .as_array()
            .expect("people")
            .iter()
            .any(|p| p["id"] == bob.person_id.as_str()),
        "the person stays while the erasure cannot be recorded"
    );
    assert_eq!(entries(), before, "nothing was recorded");

    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        sqlx::query(lift).execute(&mut conn).await.expect(lift)
    });
    let withdrawn = server.delete("/api/v1/me/consent", Some(&ann.session));
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.body);
    let erased = server.delete(&format!("/api/v1/people/{}", bob.person_id), Some(&admin));
    assert_eq!(erased.status, 204, "{}", erased.body);
    let trail = entries();
    let actions: Vec<&str> = trail
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.ends_with(&["consent.withdrawn", "person.erased"]),
        "{actions:?}"
    );
    let verified = server.admin(&["audit", "verify"]);
    assert!(verified.status.success(), "{verified:?}");
}

#[test]
fn actions_without_their_entry_do_not_happen_on_sqlite() {
    actions_without_their_entry_do_not_happen(Backend::Sqlite);
}

#[test]
fn actions_without_their_entry_do_not_happen_on_postgres() {
    actions_without_their_entry_do_not_happen(Backend::Postgres);
}

/// Runs `limen admin audit verify` and returns its report when it fails.
fn verify_fails(server: &Server) -> String {
    let verified = server.admin(&["audit", "verify"]);
    assert!(
        !verified.status.success(),
        "verify passed: {}",
        String::from_utf8_lossy(&verified.stdout)
    );
    String::from_utf8_lossy(&verified.stderr).into_owned()
}

fn verify_passes(server: &Server) {
    let verified = server.admin(&["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

/// Edits the database as someone with access to it (not to the master
/// key or the data directory) would: `tamper` runs after the entries
/// `hidden` selects are set aside, `verify` fails with `expected`, and the
/// set-aside rows are put back.
fn tampered_trail_fails(server: &Server, hidden: &str, tamper: &[&str], expected: &[&str]) {
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        for statement in [
            format!("CREATE TABLE hidden_entries AS SELECT * FROM audit_entries WHERE {hidden}"),
            format!("DELETE FROM audit_entries WHERE {hidden}"),
        ] {
            sqlx::query(&statement)
                .execute(&mut conn)
                .await
                .expect(&statement);
        }
        for statement in tamper {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect(statement);
        }
    });
    let report = verify_fails(server);
    for words in expected {
        assert!(report.contains(words), "{words:?} not in: {report}");
    }
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        for statement in [
            "INSERT INTO audit_entries SELECT * FROM hidden_entries",
            "DROP TABLE hidden_entries",
        ] {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect(statement);
        }
    });
}

/// P9: the chains' heads are anchored in a file outside the database, so
/// deleting a chain's newest entries, an organisation's whole chain (with
/// or without its row), or the operator's newest entries fails `limen
/// admin audit verify`, while the operator's own deletion of an
/// organisation passes; an anchor edited without the key fails too.
fn truncated_or_deleted_chains_fail_verify(backend: Backend) {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(backend, &smtp.url()) else {
        return;
    };
    let set_level = |admin: &str, level: &str| {
        let reply = server.send(
            "PUT",
            "/api/v1/security",
            Some(admin),
            "application/json",
            serde_json::json!({ "level": level }).to_string().as_bytes(),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    };
    let (acme, acme_admin) = server.create_org("Acme");
    let (globex, globex_admin) = server.create_org("Globex");
    let (gone, gone_admin) = server.create_org("Gone");
    for level in ["standard", "very_high", "high"] {
        set_level(&acme_admin, level);
    }
    set_level(&globex_admin, "standard");
    set_level(&gone_admin, "standard");
    let deleted = server.admin(&["org", "delete", &gone]);
    assert!(deleted.status.success(), "{deleted:?}");
    verify_passes(&server);

    tampered_trail_fails(
        &server,
        &format!("chain = '{acme}' AND seq > 1"),
        &[],
        &[&acme, "broken at entry 3", "the chain ends before"],
    );
    tampered_trail_fails(
        &server,
        &format!("chain = '{globex}'"),
        &[],
        &[&globex, "whole chain is gone"],
    );
    tampered_trail_fails(
        &server,
        &format!("chain = '{globex}'"),
        &[
            &format!("DELETE FROM api_keys WHERE org_id = '{globex}'"),
            &format!("DELETE FROM organisations WHERE id = '{globex}'"),
        ],
        &[&globex, "whole chain is gone"],
    );
    tampered_trail_fails(
        &server,
        "chain = 'operator' AND action = 'organisation.deleted'",
        &[],
        &["\"operator\"", "the chain ends before"],
    );

    let anchor = server.data_dir.join("audit-anchor");
    let text = std::fs::read_to_string(&anchor).expect("the anchor");
    assert!(text.contains(&acme) && text.contains(&gone), "{text}");
    let without_acme: String = text
        .lines()
        .filter(|line| !line.starts_with(&acme))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&anchor, without_acme).expect("edit the anchor");
    assert!(verify_fails(&server).contains("altered"));
}

#[test]
fn truncated_or_deleted_chains_fail_verify_on_sqlite() {
    truncated_or_deleted_chains_fail_verify(Backend::Sqlite);
}

#[test]
fn truncated_or_deleted_chains_fail_verify_on_postgres() {
    truncated_or_deleted_chains_fail_verify(Backend::Postgres);
}
