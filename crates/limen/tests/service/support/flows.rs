//! The steps tests take again and again: an employee from import to
//! consent, enrolment, entrances and devices, frames.

use crate::support::{
    GOOD_PASSWORD, Reply, Server, SmtpSink, enrolment_frames, fixture, links, mail_part, multipart,
};

/// An employee taken from import to a logged-in, consenting account.
pub struct Employee {
    pub person_id: String,
    pub session: String,
    pub email: String,
}

/// Imports, invites (reading the link from the `mail_number`-th message),
/// registers, logs in and consents.
pub fn onboard(
    server: &Server,
    smtp: &SmtpSink,
    admin: &str,
    email: &str,
    acs_id: &str,
    mail_number: usize,
) -> Employee {
    let csv = format!("first_name,last_name,email,acs_id\nTest,Person,{email},{acs_id}\n");
    let imported = server.send(
        "POST",
        "/api/v1/people",
        Some(admin),
        "text/csv",
        csv.as_bytes(),
    );
    assert_eq!(imported.status, 200, "{}", imported.body);
    let people = server.get("/api/v1/people", Some(admin)).json();
    let person_id = people
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["email"] == email)
        .expect("imported")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let invited = server.send(
        "POST",
        &format!("/api/v1/people/{person_id}/invitation"),
        Some(admin),
        "application/json",
        b"",
    );
    assert_eq!(invited.status, 200, "{}", invited.body);
    let token = registration_token(&smtp.message(mail_number));
    let registered = server.post_json(
        "/api/v1/registration",
        None,
        &serde_json::json!({ "token": token, "password": GOOD_PASSWORD }),
    );
    assert_eq!(registered.status, 201, "{}", registered.body);
    let login = server.post_json(
        "/api/v1/session",
        None,
        &serde_json::json!({ "email": email, "password": GOOD_PASSWORD }),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let session = login.json()["token"].as_str().expect("token").to_owned();
    let version = server.get("/api/v1/me/statement", Some(&session)).json()["version"]
        .as_str()
        .expect("version")
        .to_owned();
    let consent = server.post_json(
        "/api/v1/me/consent",
        Some(&session),
        &serde_json::json!({ "statement_version": version }),
    );
    assert_eq!(consent.status, 204, "{}", consent.body);
    Employee {
        person_id,
        session,
        email: email.to_owned(),
    }
}

pub fn registration_token(message: &str) -> String {
    let text = mail_part(message, "text/plain");
    links(&text)
        .iter()
        .find_map(|l| l.split("/register?token=").nth(1).map(str::to_owned))
        .expect("registration link")
}

/// The enrolment frames as one multipart body: (content type, body).
pub fn enrolment_upload() -> (String, Vec<u8>) {
    let frames = enrolment_frames();
    let parts: Vec<(&str, &[u8])> = frames
        .iter()
        .map(|f| ("image/jpeg", f.as_slice()))
        .collect();
    multipart(&parts)
}

pub fn enrol(server: &Server, session: &str) -> Reply {
    let (content_type, body) = enrolment_upload();
    server.send(
        "POST",
        "/api/v1/me/face",
        Some(session),
        &content_type,
        &body,
    )
}

/// Enrols with the named fixtures as the frames of one sitting.
pub fn enrol_with(server: &Server, session: &str, names: &[&str]) {
    let frames: Vec<Vec<u8>> = names.iter().map(|n| fixture(n)).collect();
    let parts: Vec<(&str, &[u8])> = frames
        .iter()
        .map(|f| ("image/jpeg", f.as_slice()))
        .collect();
    let (content_type, body) = multipart(&parts);
    let enrolled = server.send(
        "POST",
        "/api/v1/me/face",
        Some(session),
        &content_type,
        &body,
    );
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
}

/// The first face vector of a person's export (`GET /api/v1/me/export`).
pub fn first_exported_vector(export: &serde_json::Value) -> Vec<f64> {
    export["face_vectors"][0]["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .collect()
}

/// Fails if `logs` show any of the first values of `vector` (P6).
pub fn assert_no_vector_in(logs: &str, vector: &[f64]) {
    for value in vector.iter().take(8) {
        let printed = format!("{}", *value as f32);
        assert!(
            printed.len() < 6 || !logs.contains(&printed),
            "the log contains a vector value {printed}"
        );
    }
}

// ----- entrances ------------------------------------------------------------------

/// The secret the test access systems share with Limen (a Standard
/// Webhooks key).
pub const ACS_SECRET: &str = "whsec_mWfp8eMlr6r/5wLRC1cywhFM+nMCfFSpxBNjqDqhkMM=";

/// An entrance whose HTTP access system is not there (nothing listens on
/// loopback's port 9): its matches are denied for want of an answer.
pub fn entrance_without_access_system(server: &Server, admin: &str, name: &str) -> String {
    create_entrance(
        server,
        admin,
        name,
        serde_json::json!({ "type": "http", "url": "http://127.0.0.1:9/access", "secret": ACS_SECRET }),
    )
}

pub fn send_frame(server: &Server, device_token: &str, jpeg: &[u8]) -> Reply {
    server.send(
        "POST",
        "/api/v1/frames",
        Some(device_token),
        "image/jpeg",
        jpeg,
    )
}

pub fn decision(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["decision"]
        .as_str()
        .expect("decision")
        .to_owned()
}

pub fn create_entrance(
    server: &Server,
    admin: &str,
    name: &str,
    connector: serde_json::Value,
) -> String {
    let created = server.post_json(
        "/api/v1/entrances",
        Some(admin),
        &serde_json::json!({ "name": name, "connector": connector }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["id"].as_str().expect("id").to_owned()
}

/// Registers a device; returns its id and token.
pub fn create_device(server: &Server, admin: &str, entrance: &str) -> (String, String) {
    let created = server.send(
        "POST",
        &format!("/api/v1/entrances/{entrance}/devices"),
        Some(admin),
        "application/json",
        b"",
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    (
        body["id"].as_str().expect("id").to_owned(),
        body["token"].as_str().expect("token").to_owned(),
    )
}

pub fn status_of(server: &Server, admin: &str, person: &str) -> Option<String> {
    let people = server.get("/api/v1/people", Some(admin)).json();
    people
        .as_array()?
        .iter()
        .find(|p| p["id"] == person)
        .and_then(|p| p["status"].as_str())
        .map(str::to_owned)
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with a CSRF token")
        .to_owned()
}

/// The actions the audit trail records as done by `actor`, oldest first.
pub fn actions_by(server: &Server, bearer: &str, actor: &str) -> Vec<String> {
    server
        .get("/api/v1/audit", Some(bearer))
        .json()
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["actor"] == actor)
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
}

/// An organisation with a registered admin account (password
/// [`GOOD_PASSWORD`]), made as an operator makes it: `org create` invites
/// the admin, who registers through the e-mailed link. Returns the
/// organisation's admin token, for the setup the API does faster.
pub fn org_with_admin_account(
    server: &Server,
    smtp: &SmtpSink,
    org_name: &str,
    email: &str,
) -> String {
    let created = server.admin(&[
        "org",
        "create",
        "--name",
        org_name,
        "--admin-email",
        email,
        "--admin-name",
        "Ada Admin",
        "--json",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).expect("JSON");
    let token = registration_token(&smtp.message(smtp.count()));
    let registered = server.post_json(
        "/api/v1/admin-registration",
        None,
        &serde_json::json!({ "token": token, "password": GOOD_PASSWORD }),
    );
    assert_eq!(registered.status, 201, "{}", registered.body);
    created["admin_token"].as_str().expect("token").to_owned()
}

/// An admin signed in through the login page: their session cookie.
pub fn admin_page_session(server: &Server, email: &str) -> String {
    let reply = server.admin_page(
        "POST",
        "/admin/login",
        None,
        &[("email", email), ("password", GOOD_PASSWORD)],
    );
    assert_eq!(reply.status, 303, "{}", reply.body);
    reply.admin_cookie().expect("an admin session cookie")
}
