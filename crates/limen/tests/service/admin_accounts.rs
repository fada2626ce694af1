//! An organisation's admins as named accounts: the operator invites the
//! first with the organisation, admins invite and remove admins, each
//! registers through the e-mailed link and signs in for a session that the
//! admin API takes like a key; the audit trail names the admin who acted.

use serde_json::{Value, json};

use crate::support::{Backend, GOOD_PASSWORD, Server, SmtpSink, actions_by, registration_token};

fn register(server: &Server, token: &str, password: &str) -> crate::support::Reply {
    server.post_json(
        "/api/v1/admin-registration",
        None,
        &json!({ "token": token, "password": password }),
    )
}

fn log_in(server: &Server, email: &str, password: &str) -> crate::support::Reply {
    server.post_json(
        "/api/v1/admin-session",
        None,
        &json!({ "email": email, "password": password }),
    )
}

fn session(server: &Server, email: &str) -> (String, String) {
    let reply = log_in(server, email, GOOD_PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    (
        body["token"].as_str().expect("token").to_owned(),
        body["admin"]["id"].as_str().expect("id").to_owned(),
    )
}

fn admins(server: &Server, bearer: &str) -> Vec<Value> {
    let reply = server.get("/api/v1/admins", Some(bearer));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json().as_array().expect("a list").clone()
}

#[test]
fn admins_are_invited_register_sign_in_and_are_named_in_the_trail() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let created = server.admin(&[
        "org",
        "create",
        "--name",
        "Acme",
        "--admin-email",
        "Olga@Acme.test",
        "--admin-name",
        "Olga Admin",
        "--json",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).expect("JSON");
    let admin_token = created["admin_token"].as_str().expect("token").to_owned();
    let mail = smtp.message(1);
    assert!(
        mail.contains("olga@acme.test") && mail.contains("Olga Admin"),
        "{mail}"
    );
    let token = registration_token(&mail);

    // The link's account, before and after it is used.
    let listed = admins(&server, &admin_token);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["email"], "olga@acme.test");
    assert!(listed[0]["registered_at"].is_null());
    assert_eq!(log_in(&server, "olga@acme.test", GOOD_PASSWORD).status, 401);
    assert_eq!(register(&server, &token, "short").status, 422);
    assert_eq!(register(&server, &token, GOOD_PASSWORD).status, 201);
    assert_eq!(
        register(&server, &token, GOOD_PASSWORD).status,
        410,
        "the link works once"
    );
    assert!(admins(&server, &admin_token)[0]["registered_at"].is_i64());

    // Signed in, Olga uses the admin API and invites Piet.
    assert_eq!(
        log_in(&server, "olga@acme.test", "wrong password 1").status,
        401
    );
    let (olga, olga_id) = session(&server, "olga@acme.test");
    let invited = server.post_json(
        "/api/v1/admins",
        Some(&olga),
        &json!({ "email": "piet@acme.test", "name": "Piet Beheer" }),
    );
    assert_eq!(invited.status, 201, "{}", invited.body);
    let piet_id = invited.json()["id"].as_str().expect("id").to_owned();
    let again = server.post_json(
        "/api/v1/admins",
        Some(&olga),
        &json!({ "email": "olga@acme.test", "name": "Olga" }),
    );
    assert_eq!(again.status, 409, "a registered admin is not invited again");
    for bad in [
        json!({ "email": "nobody", "name": "X" }),
        json!({ "email": "a@b.test", "name": "" }),
    ] {
        assert_eq!(
            server.post_json("/api/v1/admins", Some(&olga), &bad).status,
            422
        );
    }
    // Piet registers through the page his e-mail links to.
    let piet_token = registration_token(&smtp.message(2));
    let form = server.page(
        "GET",
        &format!("/admin/register?token={piet_token}"),
        None,
        &[],
    );
    assert_eq!(form.status, 200);
    assert!(form.body.contains("piet@acme.test") && form.body.contains("Acme"));
    let register_page = |again: &str| {
        server.page(
            "POST",
            "/admin/register",
            None,
            &[
                ("token", piet_token.as_str()),
                ("password", GOOD_PASSWORD),
                ("password_again", again),
            ],
        )
    };
    assert_eq!(register_page("another sentence entirely").status, 422);
    let registered = register_page(GOOD_PASSWORD);
    assert_eq!(registered.status, 200, "{}", registered.body);
    assert_eq!(
        server
            .page(
                "GET",
                &format!("/admin/register?token={piet_token}"),
                None,
                &[]
            )
            .status,
        410,
        "the link works once"
    );
    let (piet, _) = session(&server, "piet@acme.test");
    let imported = server.send(
        "POST",
        "/api/v1/people",
        Some(&piet),
        "text/csv",
        b"first_name,last_name,email,acs_id\nAnn,Lee,ann@acme.test,A-1\n",
    );
    assert_eq!(imported.status, 200, "{}", imported.body);

    let by = |actor: &str| actions_by(&server, &admin_token, actor);
    assert_eq!(
        by(&format!("admin:{olga_id}")),
        ["admin.registered", "admin.invited"]
    );
    assert_eq!(
        by(&format!("admin:{piet_id}")),
        ["admin.registered", "people.imported"]
    );
    assert!(
        !server
            .get("/api/v1/audit", Some(&admin_token))
            .body
            .contains(GOOD_PASSWORD)
    );

    // Another organisation's admin reaches none of Acme's admins.
    let (_, bolt) = server.create_org("Bolt");
    assert!(
        !server
            .get("/api/v1/admins", Some(&bolt))
            .body
            .contains(&olga_id)
    );
    assert_eq!(
        server
            .delete(&format!("/api/v1/admins/{olga_id}"), Some(&bolt))
            .status,
        404
    );
    assert_eq!(server.get("/api/v1/people", Some(&olga)).status, 200);

    // A key Piet made goes with him.
    let piet_key = server.post_json(
        "/api/v1/api-keys",
        Some(&piet),
        &json!({ "name": "piet's script" }),
    );
    assert_eq!(piet_key.status, 201, "{}", piet_key.body);
    let piet_key = piet_key.json()["token"].as_str().expect("token").to_owned();
    assert_eq!(server.get("/api/v1/people", Some(&piet_key)).status, 200);

    // Olga removes Piet: his session stops at once. Signing out ends hers.
    assert_eq!(
        server
            .delete(&format!("/api/v1/admins/{piet_id}"), Some(&olga))
            .status,
        204
    );
    assert_eq!(server.get("/api/v1/people", Some(&piet)).status, 401);
    assert_eq!(
        server.get("/api/v1/people", Some(&piet_key)).status,
        401,
        "the key he made is revoked with him"
    );
    assert_eq!(log_in(&server, "piet@acme.test", GOOD_PASSWORD).status, 401);
    assert_eq!(
        server
            .delete(&format!("/api/v1/admins/{piet_id}"), Some(&olga))
            .status,
        404
    );
    assert_eq!(
        server.delete("/api/v1/admin-session", Some(&olga)).status,
        204
    );
    assert_eq!(server.get("/api/v1/people", Some(&olga)).status, 401);

    // The operator can invite again, for an organisation whose admins are out.
    let org = created["id"].as_str().expect("id");
    let reinvited = server.admin(&[
        "org",
        "invite-admin",
        org,
        "--email",
        "piet@acme.test",
        "--name",
        "Piet Beheer",
    ]);
    assert!(
        reinvited.status.success(),
        "{}",
        String::from_utf8_lossy(&reinvited.stderr)
    );
    assert!(smtp.message(3).contains("piet@acme.test"));
}
