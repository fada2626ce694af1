//! P5 and P3 over HTTP: one organisation's token, session or person id
//! reaches nothing of another's; every admin and employee endpoint is tried.

use serde_json::json;

use crate::support::{
    Backend, Server, SmtpSink, admin_page_session, create_device, create_entrance, csrf_of, enrol,
    multipart, onboard, org_with_admin_account, send_frame, status_of,
};

const ADMIN_ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/api/v1/people"),
    ("POST", "/api/v1/people"),
    ("DELETE", "/api/v1/people/{id}"),
    ("POST", "/api/v1/people/{id}/invitation"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys"),
    ("DELETE", "/api/v1/api-keys/{key}"),
    ("GET", "/api/v1/admins"),
    ("POST", "/api/v1/admins"),
    ("DELETE", "/api/v1/admins/{id}"),
];

const EMPLOYEE_ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("DELETE", "/api/v1/me"),
    ("GET", "/api/v1/me/statement"),
    ("POST", "/api/v1/me/consent"),
    ("DELETE", "/api/v1/me/consent"),
    ("POST", "/api/v1/me/face"),
    ("DELETE", "/api/v1/me/face"),
    ("GET", "/api/v1/me/export"),
    ("PUT", "/api/v1/me/password"),
    ("DELETE", "/api/v1/session"),
];

fn call(server: &Server, method: &str, path: &str, bearer: Option<&str>) -> crate::support::Reply {
    match method {
        "GET" => server.get(path, bearer),
        "DELETE" => server.delete(path, bearer),
        _ if path.ends_with("/face") => {
            let frames = crate::support::enrolment_frames();
            let (content_type, body) = multipart(&[("image/jpeg", frames[0].as_slice())]);
            server.send(method, path, bearer, &content_type, &body)
        }
        _ if path == "/api/v1/people" => server.send(
            method,
            path,
            bearer,
            "text/csv",
            b"first_name,last_name,email,acs_id\nEve,Intruder,eve@bolt.test,X-1\n",
        ),
        _ => server.send(
            method,
            path,
            bearer,
            "application/json",
            json!({}).to_string().as_bytes(),
        ),
    }
}

#[test]
fn organisations_cannot_reach_each_other() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin_a) = server.create_org("Acme");
    let (_, admin_b) = server.create_org("Bolt");
    let ann = onboard(&server, &smtp, &admin_a, "ann@acme.test", "A-1", 1);
    let enrolled = enrol(&server, &ann.session);
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    let bob = onboard(&server, &smtp, &admin_b, "bob@bolt.test", "B-1", 2);
    let door_a = create_entrance(&server, &admin_a, "A's door", json!({ "type": "osdp" }));
    let (camera_a, camera_token_a) = create_device(&server, &admin_a, &door_a);
    let gate_a = crate::support::entrance_without_access_system(&server, &admin_a, "The gate");
    let trail_a = server.get("/api/v1/audit", Some(&admin_a)).json();

    // B's admin token against A's keys.
    let key_a = server.get("/api/v1/api-keys", Some(&admin_a)).json()[0]["id"]
        .as_str()
        .expect("A's key")
        .to_owned();
    assert!(
        !server
            .get("/api/v1/api-keys", Some(&admin_b))
            .body
            .contains(&key_a)
    );
    assert_eq!(
        server
            .delete(&format!("/api/v1/api-keys/{key_a}"), Some(&admin_b))
            .status,
        404
    );

    // B's admin token against A's people.
    let listed = server.get("/api/v1/people", Some(&admin_b)).body;
    assert!(!listed.contains(&ann.person_id) && !listed.contains(&ann.email));
    assert!(
        !server
            .get("/api/v1/audit", Some(&admin_b))
            .body
            .contains(&ann.person_id)
    );
    assert_eq!(
        server
            .delete(&format!("/api/v1/people/{}", ann.person_id), Some(&admin_b))
            .status,
        404
    );
    let reinvite = server.send(
        "POST",
        &format!("/api/v1/people/{}/invitation", ann.person_id),
        Some(&admin_b),
        "application/json",
        b"",
    );
    assert_eq!(reinvite.status, 404);
    // Importing A's person's e-mail into B makes a separate person in B.
    let csv = format!(
        "first_name,last_name,email,acs_id\nNot,Ann,{},A-1\n",
        ann.email
    );
    assert_eq!(
        server
            .send(
                "POST",
                "/api/v1/people",
                Some(&admin_b),
                "text/csv",
                csv.as_bytes()
            )
            .status,
        200
    );

    // B's admin token against A's entrance and its camera.
    for (method, path) in [
        ("GET", format!("/api/v1/entrances/{door_a}/devices")),
        ("POST", format!("/api/v1/entrances/{door_a}/devices")),
        (
            "DELETE",
            format!("/api/v1/entrances/{door_a}/devices/{camera_a}"),
        ),
        ("GET", format!("/api/v1/entrances/{door_a}/events")),
        ("PATCH", format!("/api/v1/entrances/{door_a}")),
        ("DELETE", format!("/api/v1/entrances/{door_a}")),
        ("POST", format!("/api/v1/entrances/{door_a}/test")),
    ] {
        let body = json!({ "name": "Taken over" }).to_string();
        let reply = match method {
            "GET" => server.get(&path, Some(&admin_b)),
            "DELETE" => server.delete(&path, Some(&admin_b)),
            _ => server.send(
                method,
                &path,
                Some(&admin_b),
                "application/json",
                body.as_bytes(),
            ),
        };
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
    }
    // Nor can B point A's HTTP connector at its own access system.
    let taken = server.send(
        "PATCH",
        &format!("/api/v1/entrances/{gate_a}/connector"),
        Some(&admin_b),
        "application/json",
        json!({ "url": "http://127.0.0.1:9/bolt", "secret": crate::support::ACS_SECRET })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(taken.status, 404, "{}", taken.body);
    let gate = server.get("/api/v1/entrances", Some(&admin_a)).json();
    assert!(
        gate.as_array()
            .expect("entrances")
            .iter()
            .any(|e| e["id"] == gate_a.as_str() && e["url"] == "http://127.0.0.1:9/access")
    );
    assert!(
        !server
            .get("/api/v1/entrances", Some(&admin_b))
            .body
            .contains(&door_a)
    );

    // Wrong kinds of credentials: nothing works across the admin/employee line.
    for (method, template) in ADMIN_ENDPOINTS {
        let path = template
            .replace("{id}", &ann.person_id)
            .replace("{key}", &key_a);
        for bearer in [
            None,
            Some(ann.session.as_str()),
            Some(bob.session.as_str()),
            Some("not-a-token"),
        ] {
            let reply = call(&server, method, &path, bearer);
            assert_eq!(
                reply.status, 401,
                "{method} {path} with {bearer:?}: {}",
                reply.body
            );
        }
    }
    for (method, path) in EMPLOYEE_ENDPOINTS {
        for bearer in [
            None,
            Some(admin_a.as_str()),
            Some(admin_b.as_str()),
            Some("not-a-token"),
        ] {
            let reply = call(&server, method, path, bearer);
            assert_eq!(
                reply.status, 401,
                "{method} {path} with {bearer:?}: {}",
                reply.body
            );
        }
    }

    // B's employee session sees and changes only B's own data.
    let me = server.get("/api/v1/me", Some(&bob.session)).json();
    assert_eq!(me["person_id"], bob.person_id.as_str());
    let export = server.get("/api/v1/me/export", Some(&bob.session)).body;
    assert!(!export.contains(&ann.person_id) && !export.contains("Acme"));
    let page = server.page("GET", "/account", Some(&bob.session), &[]);
    assert!(page.body.contains("bob@bolt.test") && !page.body.contains("ann@acme.test"));
    // B's browser session with A's CSRF token gets nowhere.
    let csrf_a = csrf_of(&server.page("GET", "/account", Some(&ann.session), &[]).body);
    let forged = server.page(
        "POST",
        "/account/consent/withdraw",
        Some(&bob.session),
        &[("csrf", &csrf_a)],
    );
    assert_eq!(forged.status, 403);
    for (method, path) in EMPLOYEE_ENDPOINTS {
        call(&server, method, path, Some(&bob.session));
    }

    // A is exactly as before.
    assert_eq!(
        status_of(&server, &admin_a, &ann.person_id).as_deref(),
        Some("enrolled")
    );
    let me_a = server.get("/api/v1/me", Some(&ann.session)).json();
    assert_eq!(me_a["person_id"], ann.person_id.as_str());
    assert!(me_a["consent"].is_object() && me_a["face"].is_object());
    let devices_a = server
        .get(
            &format!("/api/v1/entrances/{door_a}/devices"),
            Some(&admin_a),
        )
        .json();
    assert_eq!(devices_a[0]["id"], camera_a.as_str(), "{devices_a}");
    let entrances_a = server.get("/api/v1/entrances", Some(&admin_a)).json();
    assert_eq!(entrances_a[0]["name"], "A's door");
    let trail_after = server.get("/api/v1/audit", Some(&admin_a)).json();
    assert_eq!(trail_after, trail_a, "nothing was done to A's organisation");

    // A's own admin renames its entrance, then deletes it: its camera's
    // token stops working.
    let renamed = server.send(
        "PATCH",
        &format!("/api/v1/entrances/{door_a}"),
        Some(&admin_a),
        "application/json",
        json!({ "name": "Back door" }).to_string().as_bytes(),
    );
    assert_eq!(renamed.status, 204, "{}", renamed.body);
    assert_eq!(
        server.get("/api/v1/entrances", Some(&admin_a)).json()[0]["name"],
        "Back door"
    );
    let deleted = server.delete(&format!("/api/v1/entrances/{door_a}"), Some(&admin_a));
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(
        send_frame(
            &server,
            &camera_token_a,
            &crate::support::fixture("Andre_Agassi_0002.jpg")
        )
        .status,
        401
    );
    let actions: Vec<String> = server
        .get("/api/v1/audit", Some(&admin_a))
        .json()
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert!(
        actions.iter().any(|a| a == "entrance.renamed")
            && actions.iter().any(|a| a == "entrance.deleted"),
        "{actions:?}"
    );
}

#[test]
fn enrolment_without_consent_is_refused_and_withdrawal_deletes() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    assert_eq!(
        server
            .delete("/api/v1/me/consent", Some(&ann.session))
            .status,
        204
    );
    let refused = enrol(&server, &ann.session);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        status_of(&server, &admin, &ann.person_id).as_deref(),
        Some("registered")
    );

    let version = server
        .get("/api/v1/me/statement", Some(&ann.session))
        .json()["version"]
        .as_str()
        .expect("v")
        .to_owned();
    let stale = server.post_json(
        "/api/v1/me/consent",
        Some(&ann.session),
        &json!({ "statement_version": "0".repeat(64) }),
    );
    assert_eq!(
        stale.status, 409,
        "consent names the statement actually shown"
    );
    assert_eq!(
        server
            .post_json(
                "/api/v1/me/consent",
                Some(&ann.session),
                &json!({ "statement_version": version })
            )
            .status,
        204
    );
    assert_eq!(enrol(&server, &ann.session).status, 201);
    assert_eq!(
        server.delete("/api/v1/me/face", Some(&ann.session)).status,
        204
    );
    assert_eq!(
        status_of(&server, &admin, &ann.person_id).as_deref(),
        Some("consented"),
        "removing the vector keeps consent"
    );
}

/// An admin of B signed in on the pages reaches nothing of A's entrances,
/// cameras, decisions or audit trail.
#[test]
fn an_admin_reaches_nothing_of_another_organisation_through_the_pages() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let key_a = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    org_with_admin_account(&server, &smtp, "Bolt", "bea@bolt.test");
    let cookie_a = admin_page_session(&server, "ada@acme.test");
    let cookie_b = admin_page_session(&server, "bea@bolt.test");
    let door_a = create_entrance(
        &server,
        &key_a,
        "Acme secret door",
        json!({ "type": "osdp" }),
    );
    let (camera_a, token_a) = create_device(&server, &key_a, &door_a);
    let frame = crate::support::fixture("Andre_Agassi_0002.jpg");
    assert_eq!(send_frame(&server, &token_a, &frame).status, 200);
    let csrf_a = csrf_of(
        &server
            .admin_page("GET", "/admin/entrances", Some(&cookie_a), &[])
            .body,
    );

    let page_b = server.admin_page("GET", "/admin/entrances", Some(&cookie_b), &[]);
    assert_eq!(page_b.status, 200);
    assert!(!page_b.body.contains("Acme secret door") && !page_b.body.contains(&door_a));
    let csrf_b = csrf_of(&page_b.body);
    for path in [
        format!("/admin/entrances/{door_a}/rename"),
        format!("/admin/entrances/{door_a}/delete"),
        format!("/admin/entrances/{door_a}/test"),
        format!("/admin/entrances/{door_a}/connector"),
        format!("/admin/entrances/{door_a}/devices"),
        format!("/admin/entrances/{door_a}/devices/{camera_a}/revoke"),
    ] {
        let form = [
            ("csrf", csrf_b.as_str()),
            ("name", "Taken"),
            ("confirm", "yes"),
        ];
        let reply = server.admin_page("POST", &path, Some(&cookie_b), &form);
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert!(!reply.body.contains("Acme secret door"));
        // A's token in B's session is no token.
        let form = [
            ("csrf", csrf_a.as_str()),
            ("name", "Taken"),
            ("confirm", "yes"),
        ];
        let reply = server.admin_page("POST", &path, Some(&cookie_b), &form);
        assert_eq!(reply.status, 403, "{path}");
    }
    for path in [
        "/admin/events".to_owned(),
        format!("/admin/events?entrance={door_a}"),
        "/admin/audit".to_owned(),
    ] {
        let reply = server.admin_page("GET", &path, Some(&cookie_b), &[]);
        assert_eq!(reply.status, 200, "{path}");
        assert!(
            !reply.body.contains("Acme secret door") && !reply.body.contains(&door_a),
            "{path}: {}",
            reply.body
        );
    }

    // B's settings are B's alone.
    for (path, field, value) in [
        ("/admin/security", "level", "very_high"),
        ("/admin/language", "language", "nl"),
    ] {
        let form = [("csrf", csrf_b.as_str()), (field, value)];
        assert_eq!(
            server
                .admin_page("POST", path, Some(&cookie_b), &form)
                .status,
            303
        );
    }
    assert_eq!(
        server.get("/api/v1/security", Some(&key_a)).json()["level"],
        "high"
    );
    assert_eq!(
        server.get("/api/v1/language", Some(&key_a)).json()["language"],
        "en"
    );

    // A's door and camera are as they were.
    let devices = server
        .get(&format!("/api/v1/entrances/{door_a}/devices"), Some(&key_a))
        .json();
    assert_eq!(devices[0]["id"], camera_a.as_str());
    assert_eq!(send_frame(&server, &token_a, &frame).status, 200);
    let a_sees = server.admin_page("GET", "/admin/events", Some(&cookie_a), &[]);
    assert!(a_sees.body.contains("Acme secret door"));
}

#[test]
fn an_admin_reaches_no_other_organisations_people_through_the_pages() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let key_a = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    let key_b = org_with_admin_account(&server, &smtp, "Bolt", "bea@bolt.test");
    let ann = onboard(
        &server,
        &smtp,
        &key_a,
        "ann@acme.test",
        "A-1",
        smtp.count() + 1,
    );
    let carl = server.import_csv(
        &key_a,
        "first_name,last_name,email,acs_id\nCarl,Acme,carl@acme.test,A-2\n",
    );
    let dora = server.import_csv(
        &key_b,
        "first_name,last_name,email,acs_id\nDora,Bolt,dora@bolt.test,B-1\n",
    );
    let trail_a = server.get("/api/v1/audit", Some(&key_a)).json();
    let mails = smtp.count();
    let cookie_a = admin_page_session(&server, "ada@acme.test");
    let cookie_b = admin_page_session(&server, "bea@bolt.test");
    let page_b = |method: &str, path: &str, form: &[(&str, &str)]| {
        server.admin_page(method, path, Some(&cookie_b), form)
    };
    let csrf_b = csrf_of(&page_b("GET", "/admin/people", &[]).body);

    // B's list shows none of A's people, and searching finds none.
    let listed = page_b("GET", "/admin/people", &[]).body;
    assert!(listed.contains("dora@bolt.test"));
    for of_a in [
        ann.person_id.as_str(),
        &carl,
        "ann@acme.test",
        "carl@acme.test",
    ] {
        assert!(!listed.contains(of_a), "B's list shows {of_a}");
    }
    for path in ["/admin/people?q=acme", "/admin/people?q=ann%40acme.test"] {
        let found = page_b("GET", path, &[]).body;
        assert!(
            !found.contains("<table") && !found.contains(&ann.person_id),
            "{path}: {found}"
        );
    }
    // A's people by id: not found, not erased, not invited.
    assert_eq!(
        page_b(
            "GET",
            &format!("/admin/people/{}/erase", ann.person_id),
            &[]
        )
        .status,
        404
    );
    let erase = page_b(
        "POST",
        &format!("/admin/people/{}/erase", ann.person_id),
        &[("csrf", &csrf_b)],
    );
    assert_eq!(erase.status, 404);
    let resend = page_b(
        "POST",
        &format!("/admin/people/{carl}/invitation"),
        &[("csrf", &csrf_b)],
    );
    assert_eq!(resend.status, 404);
    let selected = page_b(
        "POST",
        "/admin/people/invitations",
        &[("csrf", &csrf_b), ("which", "selected"), ("person", &carl)],
    );
    assert_eq!(
        selected.header("location"),
        Some("/admin/people?invited=0&not_sent=1")
    );
    assert_eq!(smtp.count(), mails, "nothing was sent to A's people");
    // Everyone not yet invited is B's own: Dora, not Carl.
    let all = page_b(
        "POST",
        "/admin/people/invitations",
        &[("csrf", &csrf_b), ("which", "all")],
    );
    assert_eq!(all.header("location"), Some("/admin/people?queued=1"));
    // Sent in the background: one mail, Dora's, and she shows invited
    // once the mail server has taken it.
    assert!(smtp.message(mails + 1).contains("dora@bolt.test"));
    let mut status = status_of(&server, &key_b, &dora);
    for _ in 0..100 {
        if status.as_deref() == Some("invited") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        status = status_of(&server, &key_b, &dora);
    }
    assert_eq!(status.as_deref(), Some("invited"));
    assert_eq!(smtp.count(), mails + 1, "nothing was sent to A's people");
    // A's token in B's session is no token.
    let csrf_a = csrf_of(
        &server
            .admin_page("GET", "/admin/people", Some(&cookie_a), &[])
            .body,
    );
    let forged = page_b(
        "POST",
        &format!("/admin/people/{dora}/erase"),
        &[("csrf", &csrf_a)],
    );
    assert_eq!(forged.status, 403);

    assert_eq!(
        status_of(&server, &key_a, &ann.person_id).as_deref(),
        Some("consented")
    );
    assert_eq!(
        status_of(&server, &key_a, &carl).as_deref(),
        Some("imported")
    );
    let trail_after = server.get("/api/v1/audit", Some(&key_a)).json();
    assert_eq!(trail_after, trail_a, "nothing was done to A's organisation");
}
