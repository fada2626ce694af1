//! The OpenAPI document, generated from the handlers, is true to the
//! service: the router serves no path under /api/ that it leaves out and
//! no method it does not list; what the main operations answer, errors
//! included, fits the schemas it gives; its examples fit them too; and
//! its page, /api/docs, works under the service's Content-Security-Policy.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::schema::{Conformance, operations, violations};
use crate::support::{
    Backend, GOOD_PASSWORD, Server, SmtpSink, enrolment_upload, fixture, registration_token,
};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The paths the service's router serves, read from its debug form: axum
/// has no other list of them.
fn served_paths() -> BTreeSet<String> {
    format!("{:?}", limen_server::routes())
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| text.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

fn generated() -> Value {
    serde_json::to_value(limen_server::openapi()).expect("the document as JSON")
}

#[test]
fn the_router_serves_what_the_document_lists_and_nothing_else_under_api() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let served_document = server.get("/api/v1/openapi.json", None);
    assert_eq!(served_document.status, 200);
    assert_eq!(
        served_document.header("content-type"),
        Some("application/json")
    );
    let document = served_document.json();
    assert_eq!(document, generated(), "the service serves another document");
    assert_eq!(document["openapi"], "3.1.0");
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    assert!(schemas.contains_key("UnixTime"));
    for rust_name in ["i64", "u64", "usize", "String"] {
        assert!(
            !schemas.contains_key(rust_name),
            "a schema named {rust_name}"
        );
    }

    let documented = operations(&document);
    let served = served_paths();
    assert!(
        served.contains("/account") && served.contains("/api/v1/people"),
        "the router's paths were not read: {served:?}"
    );
    for path in served.iter().filter(|p| p.starts_with("/api/")) {
        assert!(
            documented.contains_key(path),
            "{path} is served but not documented"
        );
    }
    for (path, methods) in &documented {
        assert!(served.contains(path), "{path} is documented but not routed");
        let concrete = path
            .replace("{id}", "0123456789abcdef0123456789abcdef")
            .replace("{device_id}", "fedcba9876543210fedcba9876543210");
        for method in METHODS {
            let status = server.bare(method, &concrete).status;
            if methods.contains(method) {
                assert!(
                    status != 404 && status != 405,
                    "{method} {path} is documented but not served: {status}"
                );
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} is served ({status}) but not documented"
                );
            }
        }
    }
    assert_eq!(server.bare("GET", "/api/v1/nothing-here").status, 404);
}

#[test]
fn every_example_fits_its_schema() {
    let document = generated();
    let mut examples = 0;
    let mut check = |what: &str, schema: &Value, example: &Value| {
        let found = violations(&document, schema, example);
        assert!(found.is_empty(), "the example of {what}: {found:#?}");
        examples += 1;
    };
    for (name, schema) in document["components"]["schemas"]
        .as_object()
        .expect("schemas")
    {
        if let Some(example) = schema.get("example") {
            check(name, schema, example);
        }
    }
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let request = &operation["requestBody"]["content"]["application/json"];
            let responses = operation["responses"].as_object().expect("responses");
            let bodies = responses
                .iter()
                .map(|(status, r)| (status.as_str(), &r["content"]["application/json"]))
                .chain([("request", request)]);
            for (status, body) in bodies {
                let what = format!("{method} {path} {status}");
                if let Some(example) = body.get("example") {
                    check(&what, &body["schema"], example);
                }
                for named in body["examples"].as_object().into_iter().flatten() {
                    check(&what, &body["schema"], &named.1["value"]);
                }
            }
        }
    }
    assert!(examples >= 10, "only {examples} examples");
}

/// The checker finds what is wrong, so that its silence means something.
#[test]
fn the_schema_checker_refuses_what_departs_from_a_schema() {
    let document = generated();
    let event = json!({ "$ref": "#/components/schemas/DecisionEvent" });
    let good = json!({
        "entrance_id": "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f", "at": 1767100000,
        "decision": "granted", "person_id": null, "detail": ""
    });
    assert_eq!(violations(&document, &event, &good), Vec::<String>::new());
    for (field, value) in [
        ("entrance_id", json!("9C8B")),
        ("decision", json!("waved through")),
        ("at", json!("yesterday")),
        ("person_id", json!(7)),
        ("surprise", json!(true)),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        assert!(
            !violations(&document, &event, &bad).is_empty(),
            "{field} {bad}"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().expect("object").remove("detail");
    assert!(!violations(&document, &event, &missing).is_empty());
    // Flattened structs (allOf) are closed over all their parts.
    let key = json!({ "$ref": "#/components/schemas/ApiKeyMade" });
    let made = json!({
        "id": "5a6b7c8d9e0f4a1b2c3d4e5f6a7b8c9d", "name": "HR", "created_at": 1,
        "last_used_at": null, "token": "t"
    });
    assert_eq!(violations(&document, &key, &made), Vec::<String>::new());
    let mut extra = made.clone();
    extra["secret"] = json!("x");
    assert!(!violations(&document, &key, &extra).is_empty());
}

#[test]
fn the_main_operations_answer_what_the_document_says() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let api = Conformance {
        document: generated(),
    };
    let (_, admin) = server.create_org("Acme Documented");
    let admin = admin.as_str();

    api.check("GET", "/healthz", server.get("/healthz", None));
    api.check("GET", "/readyz", server.get("/readyz", None));

    // People: import (and its refusals), list, invite.
    let people = "/api/v1/people";
    let import = |body: &Value| {
        server.send(
            "POST",
            people,
            Some(admin),
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    let imported = api.check(
        "POST",
        people,
        import(&json!([{ "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.com", "acs_id": "10042" }])),
    );
    assert_eq!(imported.status, 200, "{}", imported.body);
    let refused = api.check(
        "POST",
        people,
        import(&json!([{ "first_name": "Bo", "last_name": "Ek", "email": "no address", "acs_id": "10043" }])),
    );
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["details"]["rows"][0]["field"], "email");
    assert_eq!(
        api.check(
            "POST",
            people,
            server.send("POST", people, Some(admin), "text/plain", b"Ann")
        )
        .status,
        415
    );
    let too_large = vec![b' '; 4 * 1024 * 1024 + 1];
    let too_large = server.send("POST", people, Some(admin), "application/json", &too_large);
    assert_eq!(api.check("POST", people, too_large).status, 413);
    assert_eq!(
        api.check("GET", people, server.get(people, None)).status,
        401
    );
    let listed = api
        .check("GET", people, server.get(people, Some(admin)))
        .json();
    let person = listed[0]["id"].as_str().expect("a person").to_owned();
    let invitation = "/api/v1/people/{id}/invitation";
    let invited = api.check(
        "POST",
        invitation,
        server.send(
            "POST",
            &format!("/api/v1/people/{person}/invitation"),
            Some(admin),
            "application/json",
            b"",
        ),
    );
    assert_eq!(invited.status, 200, "{}", invited.body);
    assert_eq!(
        api.check(
            "DELETE",
            "/api/v1/people/{id}",
            server.delete(
                "/api/v1/people/0123456789abcdef0123456789abcdef",
                Some(admin)
            ),
        )
        .status,
        404
    );

    // The employee: registration, session, statement, consent, face, export.
    let token = registration_token(&smtp.message(1));
    let registered = api.check(
        "POST",
        "/api/v1/registration",
        server.post_json(
            "/api/v1/registration",
            None,
            &json!({ "token": token, "password": GOOD_PASSWORD }),
        ),
    );
    assert_eq!(registered.status, 201, "{}", registered.body);
    let wrong = json!({ "email": "ann.lee@example.com", "password": "not the password at all" });
    assert_eq!(
        api.check(
            "POST",
            "/api/v1/session",
            server.post_json("/api/v1/session", None, &wrong)
        )
        .status,
        401
    );
    let login = json!({ "email": "ann.lee@example.com", "password": GOOD_PASSWORD });
    let session = api
        .check(
            "POST",
            "/api/v1/session",
            server.post_json("/api/v1/session", None, &login),
        )
        .json()["token"]
        .as_str()
        .expect("a session")
        .to_owned();
    let session = session.as_str();
    let statement = api.check(
        "GET",
        "/api/v1/me/statement",
        server.get("/api/v1/me/statement", Some(session)),
    );
    let version = statement.json()["version"]
        .as_str()
        .expect("version")
        .to_owned();
    let (content_type, frames) = enrolment_upload();
    let face = "/api/v1/me/face";
    assert_eq!(
        api.check(
            "POST",
            face,
            server.send("POST", face, Some(session), &content_type, &frames)
        )
        .status,
        403,
        "enrolment before consent"
    );
    let consent = "/api/v1/me/consent";
    assert_eq!(
        api.check(
            "POST",
            consent,
            server.post_json(
                consent,
                Some(session),
                &json!({ "statement_version": version })
            ),
        )
        .status,
        204
    );
    let enrolled = api.check(
        "POST",
        face,
        server.send("POST", face, Some(session), &content_type, &frames),
    );
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    api.check("GET", "/api/v1/me", server.get("/api/v1/me", Some(session)));

    // Entrances, a device, its frames and the events they leave.
    let entrances = "/api/v1/entrances";
    let created = api.check(
        "POST",
        entrances,
        server.post_json(
            entrances,
            Some(admin),
            &json!({ "name": "Main door", "connector": { "type": "osdp" } }),
        ),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let entrance = created.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(
        api.check(
            "POST",
            entrances,
            server.post_json(
                entrances,
                Some(admin),
                &json!({ "name": "", "connector": { "type": "osdp" } })
            ),
        )
        .status,
        422
    );
    api.check("GET", entrances, server.get(entrances, Some(admin)));
    let device = api
        .check(
            "POST",
            "/api/v1/entrances/{id}/devices",
            server.send(
                "POST",
                &format!("/api/v1/entrances/{entrance}/devices"),
                Some(admin),
                "application/json",
                b"",
            ),
        )
        .json()["token"]
        .as_str()
        .expect("a device token")
        .to_owned();
    let frame = |headers: &[(&str, &str)], body: &[u8]| {
        let bearer = format!("Bearer {device}");
        let mut all = vec![("Authorization", bearer.as_str())];
        all.extend_from_slice(headers);
        api.check(
            "POST",
            "/api/v1/frames",
            server.send_with_headers("/api/v1/frames", &all, body),
        )
    };
    let photo = fixture("Andre_Agassi_0029.jpg");
    let matched = frame(
        &[("Content-Type", "image/jpeg"), ("Limen-Pass", "door-1")],
        &photo,
    );
    assert_eq!(matched.json()["decision"], "matched", "{}", matched.body);
    assert_eq!(matched.json()["pass"]["id"], "door-1", "{}", matched.body);
    let handover = matched.json()["handover"]["id"]
        .as_str()
        .expect("a handover")
        .to_owned();
    assert_eq!(
        api.check(
            "DELETE",
            "/api/v1/handovers/{id}",
            server.delete(&format!("/api/v1/handovers/{handover}"), Some(&device)),
        )
        .status,
        204
    );
    assert_eq!(frame(&[("Content-Type", "image/png")], &photo).status, 415);
    assert_eq!(
        frame(
            &[("Content-Type", "image/jpeg"), ("Limen-Pass", "a b")],
            &photo
        )
        .status,
        400
    );
    api.check(
        "GET",
        "/api/v1/events",
        server.get("/api/v1/events", Some(admin)),
    );
    api.check(
        "GET",
        "/api/v1/entrances/{id}/events",
        server.get(&format!("/api/v1/entrances/{entrance}/events"), Some(admin)),
    );
    let liveness = format!("/api/v1/entrances/{entrance}/liveness");
    let put = |path: &str, bearer: &str, body: Value| {
        server.send(
            "PUT",
            path,
            Some(bearer),
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    assert_eq!(
        api.check(
            "PUT",
            "/api/v1/entrances/{id}/liveness",
            put(&liveness, admin, json!({ "mode": "enforce" }))
        )
        .status,
        204
    );
    assert_eq!(
        api.check(
            "PUT",
            "/api/v1/entrances/{id}/liveness",
            put(&liveness, admin, json!({ "mode": "on" }))
        )
        .status,
        400
    );

    // The organisation's settings, keys, admins and audit trail.
    api.check(
        "GET",
        "/api/v1/security",
        server.get("/api/v1/security", Some(admin)),
    );
    api.check(
        "PUT",
        "/api/v1/security",
        put("/api/v1/security", admin, json!({ "level": "very_high" })),
    );
    api.check(
        "GET",
        "/api/v1/model",
        server.get("/api/v1/model", Some(admin)),
    );
    api.check(
        "GET",
        "/api/v1/language",
        server.get("/api/v1/language", Some(admin)),
    );
    api.check(
        "PUT",
        "/api/v1/language",
        put("/api/v1/language", admin, json!({ "language": "nl" })),
    );
    api.check(
        "PUT",
        "/api/v1/language",
        put("/api/v1/language", admin, json!({ "language": "xx" })),
    );
    // What the document says of every JSON body, once for each way one fails.
    let error = json!({ "$ref": "#/components/schemas/ErrorBody" });
    let too_large = " ".repeat(256 * 1024 + 1);
    for (content_type, body, status) in [
        ("application/json", "{", 400),
        ("application/json", too_large.as_str(), 413),
        ("text/plain", "{}", 415),
        ("application/json", "{}", 422),
    ] {
        let reply = server.send(
            "PUT",
            "/api/v1/language",
            Some(admin),
            content_type,
            body.as_bytes(),
        );
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(
            violations(&api.document, &error, &reply.json()),
            Vec::<String>::new()
        );
    }
    let keys = "/api/v1/api-keys";
    let made = api.check(
        "POST",
        keys,
        server.post_json(keys, Some(admin), &json!({ "name": "HR system" })),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    api.check("GET", keys, server.get(keys, Some(admin)));
    let admins = "/api/v1/admins";
    let invite = json!({ "email": "piet@example.com", "name": "Piet de Vries" });
    assert_eq!(
        api.check(
            "POST",
            admins,
            server.post_json(admins, Some(admin), &invite)
        )
        .status,
        201
    );
    api.check("GET", admins, server.get(admins, Some(admin)));
    let wrong = json!({ "email": "piet@example.com", "password": "not registered yet" });
    assert_eq!(
        api.check(
            "POST",
            "/api/v1/admin-session",
            server.post_json("/api/v1/admin-session", None, &wrong)
        )
        .status,
        401
    );
    api.check(
        "GET",
        "/api/v1/audit",
        server.get("/api/v1/audit", Some(admin)),
    );

    // Last, the employee's export holds all of it.
    api.check(
        "GET",
        "/api/v1/me/export",
        server.get("/api/v1/me/export", Some(session)),
    );
}

#[test]
fn the_docs_page_works_under_the_services_policy() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let page = server.get("/api/docs", None);
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.header("content-type")
    );
    let policy = page.header("content-security-policy").expect("a CSP");
    assert!(
        policy.contains("default-src 'none'") && policy.contains("style-src 'self'"),
        "{policy}"
    );
    // Nothing the policy would block: no script at all, no inline style,
    // the stylesheet from the service itself.
    for blocked in ["<script", "style=", "<style", "javascript:"] {
        assert!(!page.body.contains(blocked), "the page holds {blocked}");
    }
    assert!(
        page.body
            .contains(r#"<link rel="stylesheet" href="/static/limen.css">"#)
    );
    assert_eq!(server.get("/static/limen.css", None).status, 200);
    // Every operation of the document is on the page, with its credentials.
    for (path, methods) in operations(&generated()) {
        for method in methods {
            let heading = format!("<code>{method} {path}</code>");
            assert!(page.body.contains(&heading), "{heading} is not on the page");
        }
    }
    assert!(page.body.contains("<code>device_token</code>"));
    assert!(page.body.contains(r#"id="schema-FrameDecision""#));
}
