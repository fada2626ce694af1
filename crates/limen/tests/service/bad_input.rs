//! P7: bad input gets a 4xx with a clear message and changes nothing.

use serde_json::json;

use crate::support::{
    Backend, GOOD_PASSWORD, Server, SmtpSink, block_on, csrf_of, grey_png, multipart, onboard,
    registration_token, status_of,
};

const MB: usize = 1024 * 1024;

fn people_json(server: &Server, admin: &str) -> serde_json::Value {
    server.get("/api/v1/people", Some(admin)).json()
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    let people_before = people_json(&server, &admin);

    // Images: corrupt, 100 megapixels, wrong type, too many, none.
    let corrupt = b"\xFF\xD8\xFF\xE0 this is not really a JPEG".to_vec();
    // 10,000 × 10,000: 100 megapixels in a few kilobytes.
    let huge = grey_png(10_000, 10_000);
    assert!(huge.len() < MB);
    for (label, parts, expected) in [
        (
            "corrupt JPEG",
            vec![("image/jpeg", corrupt.as_slice())],
            422,
        ),
        (
            "100-megapixel PNG",
            vec![("image/png", huge.as_slice())],
            422,
        ),
        (
            "text in a frame part",
            vec![("text/plain", b"hello".as_slice())],
            415,
        ),
        (
            "six frames",
            vec![("image/jpeg", corrupt.as_slice()); 6],
            422,
        ),
    ] {
        let (content_type, body) = multipart(&parts);
        let reply = server.send(
            "POST",
            "/api/v1/me/face",
            Some(&ann.session),
            &content_type,
            &body,
        );
        assert_eq!(reply.status, expected, "{label}: {}", reply.body);
        assert!(
            reply.error().len() > 10,
            "{label}: the message says what is wrong: {}",
            reply.body
        );
    }
    let json_instead = server.send(
        "POST",
        "/api/v1/me/face",
        Some(&ann.session),
        "application/json",
        b"{}",
    );
    assert_eq!(json_instead.status, 415, "{}", json_instead.body);
    assert!(json_instead.error().contains("multipart/form-data"));
    let (content_type, empty) = multipart(&[]);
    assert_eq!(
        server
            .send(
                "POST",
                "/api/v1/me/face",
                Some(&ann.session),
                &content_type,
                &empty
            )
            .status,
        422
    );
    assert_eq!(
        status_of(&server, &admin, &ann.person_id).as_deref(),
        Some("consented")
    );

    // Oversized bodies: 20 MB, each refused with 413.
    for (path, content_type, bearer) in [
        ("/api/v1/people", "text/csv", admin.as_str()),
        (
            "/api/v1/me/face",
            "multipart/form-data; boundary=x",
            ann.session.as_str(),
        ),
        (
            "/api/v1/me/consent",
            "application/json",
            ann.session.as_str(),
        ),
        ("/api/v1/session", "application/json", ""),
    ] {
        assert_eq!(
            server.raw_post_status(path, bearer, content_type, 20 * MB),
            413,
            "20 MB to {path}"
        );
    }

    // Wrong content types and malformed documents.
    let plain = server.send(
        "POST",
        "/api/v1/people",
        Some(&admin),
        "text/plain",
        b"Ann,Lee",
    );
    assert_eq!(plain.status, 415);
    assert!(plain.error().contains("text/csv"));
    let login_form = server.send(
        "POST",
        "/api/v1/session",
        None,
        "text/plain",
        b"email=a&password=b",
    );
    assert_eq!(login_form.status, 415);
    assert_eq!(
        server
            .send(
                "POST",
                "/api/v1/people",
                Some(&admin),
                "application/json",
                b"{\"not\": \"an array\"}"
            )
            .status,
        400
    );
    let unclosed = server.send(
        "POST",
        "/api/v1/people",
        Some(&admin),
        "text/csv",
        b"first_name,last_name,email,acs_id\n\"Ann,Lee,a@b.test,1\n",
    );
    assert_eq!(unclosed.status, 422);
    assert!(unclosed.error().contains("CSV"), "{}", unclosed.body);
    let rows = "first_name,last_name,email,acs_id\nCat,Day,cat@acme.test,C-1\nDan,,not-an-email,C-2\nEve,Fox,cat@acme.test,A-1\nGus,Ray,gus@acme.test\n";
    let refused = server.send(
        "POST",
        "/api/v1/people",
        Some(&admin),
        "text/csv",
        rows.as_bytes(),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    let details = refused.json()["details"]["rows"].clone();
    assert_eq!(
        details,
        json!([
            { "row": 3, "field": "last_name", "message": "a name must be 1 to 100 characters, without control characters" },
            { "row": 3, "field": "email", "message": "not a valid e-mail address" },
            { "row": 4, "field": "email", "message": "duplicate of row 2" },
            { "row": 4, "field": "acs_id", "message": "already belongs to another person in this organisation" },
            { "row": 5, "field": "line", "message": "expected 4 fields, found 3" },
        ]),
        "every row's problems at once, by row as a spreadsheet numbers it (the header is row 1)"
    );
    assert_eq!(
        people_json(&server, &admin),
        people_before,
        "no refused import changed anything"
    );

    // Invitation links: replaced, reused, expired.
    let csv = "first_name,last_name,email,acs_id\nBob,Ray,bob@acme.test,B-1\n";
    assert_eq!(
        server
            .send(
                "POST",
                "/api/v1/people",
                Some(&admin),
                "text/csv",
                csv.as_bytes()
            )
            .status,
        200
    );
    let people = people_json(&server, &admin);
    let bob = people
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["email"] == "bob@acme.test")
        .expect("bob")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let invite = |n| {
        assert_eq!(
            server
                .send(
                    "POST",
                    &format!("/api/v1/people/{bob}/invitation"),
                    Some(&admin),
                    "application/json",
                    b""
                )
                .status,
            200
        );
        registration_token(&smtp.message(n))
    };
    let first = invite(2);
    let second = invite(3);
    let register = |token: &str| {
        server.post_json(
            "/api/v1/registration",
            None,
            &json!({ "token": token, "password": GOOD_PASSWORD }),
        )
    };
    let replaced = register(&first);
    assert_eq!(
        replaced.status, 410,
        "a resent invitation voids the old link"
    );
    assert!(replaced.error().contains("not valid"));
    let weak = register_with(&server, &second, "short");
    assert_eq!(weak.status, 422);
    assert!(weak.error().contains("at least 15 characters"));
    block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&server.database_url)
            .await
            .expect("connect");
        sqlx::query("UPDATE invitations SET expires_at = 0")
            .execute(&mut conn)
            .await
            .expect("expire");
    });
    let expired = register(&second);
    assert_eq!(expired.status, 410);
    assert!(expired.error().contains("expired"));
    assert_eq!(
        server
            .get(&format!("/register?token={second}"), None)
            .status,
        410
    );
    assert_eq!(
        status_of(&server, &admin, &bob).as_deref(),
        Some("invited"),
        "no account was created"
    );
    let third = invite(4);
    assert_eq!(register(&third).status, 201);
    assert_eq!(
        register(&third).status,
        410,
        "a used link cannot be used again"
    );

    // Pages: a form without the right CSRF token changes nothing.
    let cookie = ann.session.as_str();
    let account = server.page("GET", "/account", Some(cookie), &[]);
    let csrf = csrf_of(&account.body);
    let forged = server.page(
        "POST",
        "/account/consent/withdraw",
        Some(cookie),
        &[("csrf", "0123456789abcdef")],
    );
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("security token"));
    assert_eq!(
        status_of(&server, &admin, &ann.person_id).as_deref(),
        Some("consented")
    );
    let genuine = server.page(
        "POST",
        "/account/consent/withdraw",
        Some(cookie),
        &[("csrf", &csrf)],
    );
    assert_eq!(genuine.status, 303);
    assert_eq!(
        status_of(&server, &admin, &ann.person_id).as_deref(),
        Some("registered")
    );

    // Failed logins slow the account down: after five, further attempts
    // wait (and are not checked).
    let statuses: Vec<u16> = (0..12)
        .map(|_| {
            server
                .post_json(
                    "/api/v1/session",
                    None,
                    &json!({ "email": "bob@acme.test", "password": "wrong password, surely" }),
                )
                .status
        })
        .collect();
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    assert_eq!(statuses[11], 429, "{statuses:?}");
    let trail = server.get("/api/v1/audit", Some(&admin)).json();
    let failures = trail
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["action"] == "login.failed" && e["subject"] == bob.as_str())
        .count();
    assert_eq!(
        failures, 5,
        "each refused (not slowed-down) attempt is in the audit trail"
    );
}

fn register_with(server: &Server, token: &str, password: &str) -> crate::support::Reply {
    server.post_json(
        "/api/v1/registration",
        None,
        &json!({ "token": token, "password": password }),
    )
}

#[test]
fn an_invitation_that_cannot_be_sent_changes_nothing() {
    // Nothing listens on this loopback port: the mail server is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("address")
        .port();
    let Some(server) = Server::start(Backend::Sqlite, &format!("smtp://127.0.0.1:{closed}")) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let csv = "first_name,last_name,email,acs_id\nAnn,Lee,ann@acme.test,A-1\n";
    let person = server.import_csv(&admin, csv);
    let reply = server.send(
        "POST",
        &format!("/api/v1/people/{person}/invitation"),
        Some(&admin),
        "application/json",
        b"",
    );
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert!(reply.error().contains("could not be sent"));
    assert_eq!(
        status_of(&server, &admin, &person).as_deref(),
        Some("imported")
    );

    // Sent in the background, it is tried a few times, then reported as
    // not sent: never dropped unsaid.
    let queued = server.send(
        "POST",
        "/api/v1/invitations",
        Some(&admin),
        "application/json",
        b"",
    );
    assert_eq!(queued.json(), serde_json::json!({ "queued": 1 }));
    let mut progress = server.get("/api/v1/invitations", Some(&admin)).json();
    for _ in 0..100 {
        if progress["waiting"] == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        progress = server.get("/api/v1/invitations", Some(&admin)).json();
    }
    assert_eq!(
        progress,
        serde_json::json!({ "sent": 0, "waiting": 0, "failed": ["ann@acme.test"] })
    );
    assert_eq!(
        status_of(&server, &admin, &person).as_deref(),
        Some("imported")
    );
    assert!(server.logs().contains("attempts=3"), "tried three times");
}
