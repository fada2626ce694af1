//! An organisation's API keys: its admins make named keys (the token shown
//! once, kept as a hash), see them without their tokens, revoke them; the
//! audit trail names the key behind every admin action; the operator's
//! admin token is one of the keys, and replacing it leaves the others.

use serde_json::{Value, json};

use crate::support::{Backend, Server, SmtpSink, actions_by};

fn make_key(server: &Server, bearer: &str, name: &str) -> Value {
    let made = server.post_json("/api/v1/api-keys", Some(bearer), &json!({ "name": name }));
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()
}

fn keys(server: &Server, bearer: &str) -> Vec<Value> {
    let listed = server.get("/api/v1/api-keys", Some(bearer));
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.json().as_array().expect("a list").clone()
}

#[test]
fn admins_make_name_and_revoke_keys_and_the_trail_names_the_key() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (org, admin_token) = server.create_org("Acme");
    let (_, other_admin) = server.create_org("Bolt");

    let listed = keys(&server, &admin_token);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "admin token");
    let admin_token_id = listed[0]["id"].as_str().expect("id").to_owned();
    assert!(
        listed[0]["last_used_at"].is_i64(),
        "the listing request used it"
    );

    let door = make_key(&server, &admin_token, "  door system  ");
    assert_eq!(door["name"], "door system", "names are trimmed");
    let door_token = door["token"].as_str().expect("the token, once").to_owned();
    let door_id = door["id"].as_str().expect("id").to_owned();
    assert_eq!(server.get("/api/v1/people", Some(&door_token)).status, 200);
    let listed = keys(&server, &door_token);
    assert_eq!(listed.len(), 2);
    let text = serde_json::to_string(&listed).expect("JSON");
    assert!(
        !text.contains(&door_token) && !text.contains("token\":") && !text.contains("hash"),
        "a listing shows no token: {text}"
    );

    // The key's name is checked, and unique in the organisation.
    for (name, status) in [
        ("door system", 409),
        ("admin token", 409),
        ("", 422),
        ("a\u{7}b", 422),
    ] {
        let refused = server.post_json(
            "/api/v1/api-keys",
            Some(&admin_token),
            &json!({ "name": name }),
        );
        assert_eq!(refused.status, status, "{name:?}: {}", refused.body);
    }
    // Another organisation may use the same name.
    make_key(&server, &other_admin, "door system");

    // An action through the door key is the door key's in the trail.
    let imported = server.send(
        "POST",
        "/api/v1/people",
        Some(&door_token),
        "text/csv",
        b"first_name,last_name,email,acs_id\nAnn,Lee,ann@acme.test,A-1\n",
    );
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(
        actions_by(&server, &admin_token, &format!("api-key:{door_id}")),
        ["people.imported"]
    );

    // Revoked: the token stops working at once; the trail says who did it.
    assert_eq!(
        server
            .delete(&format!("/api/v1/api-keys/{door_id}"), Some(&admin_token))
            .status,
        204
    );
    assert_eq!(server.get("/api/v1/people", Some(&door_token)).status, 401);
    assert_eq!(
        server
            .delete(&format!("/api/v1/api-keys/{door_id}"), Some(&admin_token))
            .status,
        404
    );
    assert_eq!(
        actions_by(&server, &admin_token, &format!("api-key:{admin_token_id}")),
        ["api_key.created", "api_key.revoked"]
    );

    // The operator replaces the admin token: only that key changes.
    let kept = make_key(&server, &admin_token, "payroll export");
    let replaced = server.admin(&["org", "token", &org, "--json"]);
    assert!(replaced.status.success());
    let replaced: Value = serde_json::from_slice(&replaced.stdout).expect("JSON");
    let new_admin_token = replaced["admin_token"].as_str().expect("token");
    assert_eq!(server.get("/api/v1/people", Some(&admin_token)).status, 401);
    let kept_token = kept["token"].as_str().expect("token");
    let mut names: Vec<String> = keys(&server, kept_token)
        .iter()
        .filter_map(|k| k["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names, ["admin token", "payroll export"]);
    assert_eq!(
        server.get("/api/v1/people", Some(new_admin_token)).status,
        200
    );

    // An admin may revoke the key they are using, and then they are out.
    let kept_id = kept["id"].as_str().expect("id");
    assert_eq!(
        server
            .delete(&format!("/api/v1/api-keys/{kept_id}"), Some(kept_token))
            .status,
        204
    );
    assert_eq!(server.get("/api/v1/api-keys", Some(kept_token)).status, 401);
}
