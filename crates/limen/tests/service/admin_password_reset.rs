//! Issue 12: an admin's forgotten password, by the employees' rules. The
//! link comes by e-mail in the admin's language, works once and expires;
//! asking tells nobody whether an address is an admin's; a new password
//! ends every session and leaves the second factor on.

use limen_services::totp::{code_at, step_at};

use crate::admin_pages::{base32_decode, unix_now};
use crate::support::{
    Backend, GOOD_PASSWORD, Reply, Server, SmtpSink, admin_page_session, block_on, csrf_of, links,
    mail_part, org_with_admin_account,
};

const NEW_PASSWORD: &str = "a brand new sentence for the office";

fn ask(server: &Server, email: &str) -> Reply {
    server.admin_page("POST", "/admin/password/forgot", None, &[("email", email)])
}

fn sign_in(server: &Server, password: &str, code: Option<&str>) -> Reply {
    let mut form = vec![("email", "ada@acme.test"), ("password", password)];
    if let Some(code) = code {
        form.push(("code", code));
    }
    server.admin_page("POST", "/admin/login", None, &form)
}

/// The admin link in the `n`-th message, as a path.
fn link_in(smtp: &SmtpSink, n: usize) -> (String, String) {
    let text = mail_part(&smtp.message(n), "text/plain");
    let link = links(&text)
        .into_iter()
        .find(|l| l.contains("/admin/password/reset?token="))
        .unwrap_or_else(|| panic!("an admin's link in {text}"));
    (link[link.find("/admin/").expect("path")..].to_owned(), text)
}

#[test]
fn an_admin_replaces_a_forgotten_password_once_and_still_needs_the_second_factor() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    let cookie = admin_page_session(&server, "ada@acme.test");
    let csrf = csrf_of(&server.admin_page("GET", "/admin", Some(&cookie), &[]).body);
    let dutch = server.admin_page(
        "POST",
        "/admin/language",
        Some(&cookie),
        &[("csrf", &csrf), ("language", "nl")],
    );
    assert_eq!(dutch.status, 303, "{}", dutch.body);

    // A second factor, confirmed with the code of the step before now.
    let into_step = unix_now().rem_euclid(30);
    if into_step > 10 {
        std::thread::sleep(std::time::Duration::from_secs((31 - into_step) as u64));
    }
    let begun = server.admin_page("POST", "/admin/two-step", Some(&cookie), &[("csrf", &csrf)]);
    assert_eq!(begun.status, 303);
    let setup = server.admin_page("GET", "/admin/two-step", Some(&cookie), &[]);
    let secret = setup
        .body
        .split("<code id=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(base32_decode)
        .expect("the key on the page");
    let code = |step: i64| format!("{:06}", code_at(&secret, step));
    let now = step_at(unix_now());
    let confirmed = server.admin_page(
        "POST",
        "/admin/two-step/confirm",
        Some(&cookie),
        &[("csrf", &csrf), ("code", &code(now - 1))],
    );
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);

    let login = server.admin_page("GET", "/admin/login", None, &[]);
    assert!(login.body.contains("href=\"/admin/password/forgot\""));
    let form = server.admin_page("GET", "/admin/password/forgot", None, &[]);
    assert_eq!(form.status, 200);
    assert!(form.body.contains("action=\"/admin/password/forgot\""));

    // An address that is nobody's gets the very same answer, and no mail.
    let mails = smtp.count();
    let unknown = ask(&server, "nobody@acme.test");
    let known = ask(&server, "ada@acme.test");
    assert_eq!((unknown.status, known.status), (200, 200));
    assert_eq!(unknown.body, known.body, "the answer tells nothing");
    let (path, text) = link_in(&smtp, mails + 1);
    assert!(text.contains("nieuw wachtwoord"), "in Dutch: {text}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.count(), mails + 1, "one mail, to the admin");

    // The link's form sets the new password and ends the open session.
    let form = server.admin_page("GET", &path, None, &[]);
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("action=\"/admin/password/reset\""));
    assert!(form.body.contains("ada@acme.test"));
    let token = path.split("token=").nth(1).expect("token");
    let reset = |again: &str| {
        server.admin_page(
            "POST",
            "/admin/password/reset",
            None,
            &[
                ("token", token),
                ("new_password", NEW_PASSWORD),
                ("new_password_again", again),
            ],
        )
    };
    assert_eq!(reset("something else").status, 422);
    let done = reset(NEW_PASSWORD);
    assert_eq!(done.status, 303, "{}", done.body);
    let next = done.header("location").expect("on to sign in").to_owned();
    assert!(next.starts_with("/admin/login"), "{next}");
    assert!(done.admin_cookie().is_none(), "no session without the code");
    let told = server.admin_page("GET", &next, None, &[]);
    assert!(told.body.contains("role=\"status\""), "{}", told.body);
    let ended = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    assert_eq!(ended.header("location"), Some("/admin/login"));

    // Once only.
    assert_eq!(reset(NEW_PASSWORD).status, 410);
    assert_eq!(server.admin_page("GET", &path, None, &[]).status, 410);

    // The new password alone is not enough: the second factor stays on.
    assert_eq!(
        sign_in(&server, GOOD_PASSWORD, Some(&code(now))).status,
        401
    );
    let without = sign_in(&server, NEW_PASSWORD, None);
    assert_eq!(without.status, 401);
    assert!(without.admin_cookie().is_none());
    let with = sign_in(&server, NEW_PASSWORD, Some(&code(now)));
    assert_eq!(with.status, 303, "{}", with.body);
    assert!(with.admin_cookie().is_some());

    // A link that has expired works no more.
    ask(&server, "ada@acme.test");
    let (path, _) = link_in(&smtp, mails + 2);
    block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&server.database_url)
            .await
            .expect("connect");
        sqlx::query("UPDATE password_resets SET expires_at = 0")
            .execute(&mut conn)
            .await
            .expect("expire");
    });
    let expired = server.admin_page("GET", &path, None, &[]);
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("expired"), "{}", expired.body);
}
