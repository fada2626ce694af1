//! Every page a person or an admin reads passes axe-core's accessibility
//! check (no serious or critical violation) in English and in Dutch, with
//! the sessions and links each needs set up as they would be for real.

use serde_json::json;

use crate::browser::{browser_available, run_in_chromium};
use crate::support::{
    Backend, Server, SmtpSink, admin_page_session, csrf_of, entrance_without_access_system, links,
    mail_part, onboard, org_with_admin_account, registration_token,
};

#[test]
fn every_page_passes_the_accessibility_check_in_both_languages() {
    if !browser_available() {
        return;
    }
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    // An HTTP entrance, whose connector the entrances page offers to change.
    entrance_without_access_system(&server, &key, "Main door");

    // An employee signed in and consenting; another only invited.
    let employee = onboard(
        &server,
        &smtp,
        &key,
        "ann@acme.test",
        "A-1",
        smtp.count() + 1,
    );
    let csv = "first_name,last_name,email,acs_id\nBen,Bos,ben@acme.test,B-2\n";
    let ben = server.import_csv(&key, csv);
    let invited = server.send(
        "POST",
        &format!("/api/v1/people/{ben}/invitation"),
        Some(&key),
        "application/json",
        b"",
    );
    assert_eq!(invited.status, 200, "{}", invited.body);
    let register_token = registration_token(&smtp.message(smtp.count()));

    // Links to choose a new password, an employee's and an admin's
    // (mailed after the answer).
    let reset_path = |forgot: &str, email: &str, reset: &str| {
        let mails = smtp.count();
        let asked = server.page("POST", forgot, None, &[("email", email)]);
        assert_eq!(asked.status, 200, "{}", asked.body);
        let reset_link = links(&mail_part(&smtp.message(mails + 1), "text/plain"))
            .into_iter()
            .find(|link| link.contains(reset))
            .expect("a reset link");
        reset_link
            .strip_prefix(&server.url)
            .expect("a link to this server")
            .to_owned()
    };
    let employee_reset = reset_path("/password/forgot", "ann@acme.test", "/password/reset?");
    let admin_reset = reset_path(
        "/admin/password/forgot",
        "ada@acme.test",
        "/admin/password/reset?",
    );

    // An admin signed in, setting up two-step sign-in; another invited.
    let admin = admin_page_session(&server, "ada@acme.test");
    let csrf = csrf_of(&server.admin_page("GET", "/admin", Some(&admin), &[]).body);
    let begun = server.admin_page("POST", "/admin/two-step", Some(&admin), &[("csrf", &csrf)]);
    assert_eq!(begun.status, 303);
    let invited = server.post_json(
        "/api/v1/admins",
        Some(&key),
        &json!({ "email": "piet@acme.test", "name": "Piet Beheer" }),
    );
    assert_eq!(invited.status, 201, "{}", invited.body);
    let admin_token = registration_token(&smtp.message(smtp.count()));
    let org_id = server
        .get("/api/v1/people", Some(&key))
        .json()
        .as_array()
        .and_then(|people| people.first())
        .and_then(|p| p["org_id"].as_str().map(str::to_owned))
        .expect("the organisation's id");

    let anonymous = |path: String| json!({ "path": path, "cookie": null });
    let as_employee = |path: &str| json!({ "path": path, "cookie": { "name": "limen_session", "value": employee.session } });
    let as_admin =
        |path: &str| json!({ "path": path, "cookie": { "name": "limen_admin", "value": admin } });
    let mut pages = vec![
        anonymous("/login".into()),
        anonymous("/password/forgot".into()),
        anonymous(format!("/register?token={register_token}")),
        anonymous(employee_reset),
        anonymous("/admin/login".into()),
        anonymous("/admin/login?password=changed".into()),
        anonymous("/admin/password/forgot".into()),
        anonymous(admin_reset),
        anonymous(format!("/admin/register?token={admin_token}")),
        anonymous(format!("/privacy/{org_id}")),
    ];
    for path in [
        "/account",
        "/account/consent",
        "/account/enrol",
        "/account/password",
        "/account/consent/withdraw",
        "/account/face/delete",
        "/account/cancel",
    ] {
        pages.push(as_employee(path));
    }
    for path in [
        "/admin",
        "/admin/two-step",
        "/admin/people",
        "/admin/entrances",
        "/admin/events",
        "/admin/audit",
    ] {
        pages.push(as_admin(path));
    }
    let pages = serde_json::to_string(&pages).expect("JSON");
    for (locale, language) in [("en-GB", "en"), ("nl-NL", "nl")] {
        run_in_chromium(
            &server,
            "accessibility.mjs",
            &["Andre_Agassi_0005.jpg"],
            &format!("accessibility-{language}"),
            &[
                ("LOCALE", locale),
                ("LANGUAGE", language),
                ("PAGES", &pages),
            ],
        );
    }
}
