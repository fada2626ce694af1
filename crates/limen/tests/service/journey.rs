//! Acceptance 1, 2, 3, 5 (end to end), 6: the whole journey, on SQLite and
//! on PostgreSQL, with the privacy checks made on what it leaves behind.

use serde_json::{Value, json};

use crate::support::{
    Backend, GOOD_PASSWORD, Server, SmtpSink, assert_no_vector_in, block_on, enrolment_frames,
    files_under, first_exported_vector, image_trace, links, mail_part, multipart, raw_connection,
};

#[test]
fn journey_on_sqlite() {
    journey(Backend::Sqlite);
}

#[test]
fn journey_on_postgres() {
    journey(Backend::Postgres);
}

fn status_of(server: &Server, admin: &str, person: &str) -> String {
    let people = server.get("/api/v1/people", Some(admin));
    assert_eq!(people.status, 200, "{}", people.body);
    let people = people.json();
    let entry = people
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["id"] == person)
        .cloned()
        .expect("listed");
    assert!(
        ["vector", "face_vector", "face_vectors"]
            .iter()
            .all(|key| entry.get(*key).is_none()),
        "the admin never sees a vector"
    );
    entry["status"].as_str().expect("status").to_owned()
}

fn vector_rows(server: &Server) -> i64 {
    use sqlx::Row;
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        sqlx::query("SELECT COUNT(*) FROM face_vectors")
            .fetch_one(&mut conn)
            .await
            .expect("count")
            .get(0)
    })
}

/// Every byte string the database holds, for PostgreSQL where the data
/// is not in a file the test can read.
fn database_blobs(server: &Server) -> Vec<Vec<u8>> {
    use sqlx::Row;
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        let mut blobs = Vec::new();
        for (table, column) in [
            ("organisations", "wrapped_key"),
            ("face_vectors", "sealed"),
            ("sessions", "token_hash"),
            ("invitations", "token_hash"),
            ("api_keys", "token_hash"),
            ("audit_entries", "hash"),
        ] {
            let rows = sqlx::query(&format!("SELECT {column} FROM {table}"))
                .fetch_all(&mut conn)
                .await
                .expect("select");
            blobs.extend(rows.iter().map(|r| r.get::<Vec<u8>, _>(0)));
        }
        let texts = sqlx::query("SELECT detail || action || subject FROM audit_entries")
            .fetch_all(&mut conn)
            .await
            .expect("audit");
        blobs.extend(texts.iter().map(|r| r.get::<String, _>(0).into_bytes()));
        blobs
    })
}

fn password_hashes(server: &Server) -> Vec<String> {
    use sqlx::Row;
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        let rows = sqlx::query("SELECT password_hash FROM accounts")
            .fetch_all(&mut conn)
            .await
            .expect("select");
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    })
}

fn journey(backend: Backend) {
    let smtp = SmtpSink::start();
    let Some(mut server) = Server::start(backend, &smtp.url()) else {
        return;
    };
    let (org_id, admin) = server.create_org("Acme Gates");

    // Import two people as CSV.
    let csv = "first_name,last_name,email,acs_id\nAndre,Agassi,andre@acme.test,CARD-1\nAbdullah,Gul,abdullah@acme.test,CARD-2\n";
    let imported = server.send(
        "POST",
        "/api/v1/people",
        Some(&admin),
        "text/csv",
        csv.as_bytes(),
    );
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.json(), json!({ "created": 2, "updated": 0 }));
    let people = server.get("/api/v1/people", Some(&admin)).json();
    let person = people
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["email"] == "andre@acme.test")
        .expect("imported")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(status_of(&server, &admin, &person), "imported");

    // Invite: the e-mail arrives over SMTP with both links.
    let invited = server.send(
        "POST",
        &format!("/api/v1/people/{person}/invitation"),
        Some(&admin),
        "application/json",
        b"",
    );
    assert_eq!(invited.status, 200, "{}", invited.body);
    assert_eq!(status_of(&server, &admin, &person), "invited");
    let message = smtp.message(1);
    assert!(message.contains("To: andre@acme.test"), "{message}");
    let text = mail_part(&message, "text/plain");
    let html = mail_part(&message, "text/html");
    let text_links = links(&text);
    let statement_link = format!("{}/privacy/{org_id}", server.url);
    assert!(text_links.contains(&statement_link), "{text}");
    let register_link = text_links
        .iter()
        .find(|l| l.starts_with(&format!("{}/register?token=", server.url)))
        .expect("registration link")
        .clone();
    assert!(
        html.contains(&format!("href=\"{statement_link}\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"{register_link}\"")),
        "{html}"
    );
    let registration_token = register_link
        .split("token=")
        .nth(1)
        .expect("token")
        .to_owned();

    // Both links work; the statement names the organisation.
    let statement_page = server.get(&format!("/privacy/{org_id}"), None);
    assert_eq!(statement_page.status, 200);
    assert!(statement_page.body.contains("Acme Gates"));
    assert_eq!(
        server
            .get(&format!("/register?token={registration_token}"), None)
            .status,
        200
    );

    // Register through the API; the link is single-use.
    let registered = server.post_json(
        "/api/v1/registration",
        None,
        &json!({ "token": registration_token, "password": GOOD_PASSWORD }),
    );
    assert_eq!(registered.status, 201, "{}", registered.body);
    let again = server.post_json(
        "/api/v1/registration",
        None,
        &json!({ "token": registration_token, "password": GOOD_PASSWORD }),
    );
    assert_eq!(again.status, 410, "{}", again.body);
    assert_eq!(status_of(&server, &admin, &person), "registered");

    let login = server.post_json(
        "/api/v1/session",
        None,
        &json!({ "email": "andre@acme.test", "password": GOOD_PASSWORD }),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let session = login.json()["token"]
        .as_str()
        .expect("session token")
        .to_owned();

    // P3: no enrolment before consent.
    let frames = enrolment_frames();
    let parts: Vec<(&str, &[u8])> = frames
        .iter()
        .map(|f| ("image/jpeg", f.as_slice()))
        .collect();
    let (content_type, body) = multipart(&parts);
    let refused = server.send(
        "POST",
        "/api/v1/me/face",
        Some(&session),
        &content_type,
        &body,
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.error().contains("consent"), "{}", refused.body);
    assert_eq!(vector_rows(&server), 0);

    // Consent to the statement as shown.
    let statement = server.get("/api/v1/me/statement", Some(&session)).json();
    let version = statement["version"].as_str().expect("version").to_owned();
    assert!(
        statement["text"]
            .as_str()
            .expect("text")
            .contains("Acme Gates")
    );
    assert!(
        statement_page.body.contains(&version),
        "the page shows the version it is"
    );
    let consent = server.post_json(
        "/api/v1/me/consent",
        Some(&session),
        &json!({ "statement_version": version }),
    );
    assert_eq!(consent.status, 204, "{}", consent.body);
    assert_eq!(status_of(&server, &admin, &person), "consented");

    // Enrol with real photographs.
    let enrolled = server.send(
        "POST",
        "/api/v1/me/face",
        Some(&session),
        &content_type,
        &body,
    );
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    let model_version = enrolled.json()["model_version"]
        .as_str()
        .expect("model version")
        .to_owned();
    assert_eq!(status_of(&server, &admin, &person), "enrolled");
    // One vector per photo of the sitting: the set the gallery matches.
    assert_eq!(enrolled.json()["vectors"], 3, "{}", enrolled.body);
    assert_eq!(vector_rows(&server), 3);

    // P1: no trace of the images on disk, in the temporary directory or in the database.
    for file in files_under(&server.data_dir)
        .into_iter()
        .chain(files_under(&server.tmp_dir))
    {
        let bytes = std::fs::read(&file).expect("read");
        if let Some(trace) = image_trace(&bytes, &frames) {
            panic!("{} holds {trace}", file.display());
        }
    }
    assert!(
        files_under(&server.tmp_dir).is_empty(),
        "nothing is written to TMPDIR"
    );
    for blob in database_blobs(&server) {
        assert!(
            image_trace(&blob, &frames).is_none(),
            "the database holds image data"
        );
    }

    // P8: secrets are stored only as hashes: no token or password in the
    // clear in any file of the data directory or any stored byte string.
    let secrets = [
        admin.as_str(),
        session.as_str(),
        registration_token.as_str(),
        GOOD_PASSWORD,
    ];
    let stored: Vec<Vec<u8>> = files_under(&server.data_dir)
        .iter()
        .map(|f| std::fs::read(f).expect("read"))
        .chain(database_blobs(&server))
        .collect();
    for secret in secrets {
        assert!(
            !stored
                .iter()
                .any(|b| b.windows(secret.len()).any(|w| w == secret.as_bytes())),
            "a secret is stored in the clear"
        );
    }
    let hashes = password_hashes(&server);
    assert!(!hashes.is_empty() && hashes.iter().all(|h| h.starts_with("$argon2id$")));

    // Export: consent record and model version, and the person's own data.
    let export = server.get("/api/v1/me/export", Some(&session));
    assert_eq!(export.status, 200);
    let export: Value = export.json();
    assert_eq!(export["consents"][0]["statement_version"], version.as_str());
    assert_eq!(export["consents"][0]["method"], "api");
    assert!(export["consents"][0]["given_at"].as_i64().is_some());
    assert_eq!(
        export["face_vectors"].as_array().map(Vec::len),
        Some(3),
        "one sitting of three photos, three vectors"
    );
    assert_eq!(
        export["face_vectors"][0]["model_version"],
        model_version.as_str()
    );
    assert_eq!(export["person"]["acs_id"], "CARD-1");
    let vector = first_exported_vector(&export);
    assert_eq!(vector.len(), 256, "the default model version's vectors");

    // Withdraw: the vector is gone at once, the account stays.
    let withdrawn = server.delete("/api/v1/me/consent", Some(&session));
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.body);
    assert_eq!(status_of(&server, &admin, &person), "registered");
    assert_eq!(vector_rows(&server), 0, "no vector left in the database");
    assert_eq!(
        server.get("/api/v1/me", Some(&session)).json()["face"],
        Value::Null
    );

    // The audit trail tells the story, and verifies.
    let trail = server.get("/api/v1/audit", Some(&admin)).json();
    let actions: Vec<&str> = trail
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for expected in [
        "people.imported",
        "invitation.sent",
        "account.registered",
        "consent.given",
        "vector.enrolled",
        "data.exported",
        "consent.withdrawn",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }

    // Cancel the registration: the account goes, a dated record stays.
    let cancelled = server.delete("/api/v1/me", Some(&session));
    assert_eq!(cancelled.status, 204);
    assert_eq!(
        server.get("/api/v1/me", Some(&session)).status,
        401,
        "the session ended with the account"
    );
    assert_eq!(status_of(&server, &admin, &person), "imported");

    server.stop();
    let logs = server.logs();
    assert!(
        logs.contains("shutting down") && logs.contains("stopped"),
        "SIGTERM shuts down gracefully:\n{logs}"
    );
    assert!(
        logs.contains("route=\"/api/v1/me/face\""),
        "the log is the server's request log:\n{logs}"
    );
    // P6: the log of the whole journey carries no secret and no vector.
    for (what, secret) in [
        ("password", GOOD_PASSWORD.to_owned()),
        ("admin token", admin.clone()),
        ("registration token", registration_token.clone()),
        ("session token", session.clone()),
    ] {
        assert!(!logs.contains(&secret), "the log contains the {what}");
    }
    assert_no_vector_in(&logs, &vector);

    // Acceptance 6: the audit trail verifies, and a tampered row is found.
    let verified = server.admin(&["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).contains("intact"));
    block_on(async {
        let mut conn = raw_connection(&server.database_url).await;
        sqlx::query("UPDATE audit_entries SET detail = 'nothing to see' WHERE chain = $1 AND action = 'consent.withdrawn'")
            .bind(&org_id)
            .execute(&mut conn)
            .await
            .expect("tamper");
    });
    let tampered_seq = trail
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["action"] == "consent.withdrawn")
        .expect("entry")["seq"]
        .as_i64()
        .expect("seq");
    let broken = server.admin(&["audit", "verify"]);
    assert!(!broken.status.success());
    let report = String::from_utf8_lossy(&broken.stderr);
    assert!(
        report.contains(&format!("broken at entry {tampered_seq}")) && report.contains(&org_id),
        "{report}"
    );
}
