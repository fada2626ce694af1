//! The admin's pages: signing in with a cookie of their own (never an API
//! key, never an employee's session), the organisation's page with its
//! admins, inviting another admin with the form's CSRF token, signing out.

use crate::support::{
    Backend, Server, SmtpSink, admin_page_session, csrf_of, org_with_admin_account,
};

fn location(reply: &crate::support::Reply) -> Option<&str> {
    reply.header("location")
}

#[test]
fn an_admin_signs_in_on_the_pages_invites_an_admin_and_signs_out() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let acme_key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    org_with_admin_account(&server, &smtp, "Globex", "gina@globex.test");

    // Without an admin session every admin page sends to the login page;
    // an API key or an employee's cookie is no admin session.
    for cookie in [None, Some(acme_key.as_str()), Some("not-a-session")] {
        let home = server.admin_page("GET", "/admin", cookie, &[]);
        assert_eq!(home.status, 303);
        assert_eq!(location(&home), Some("/admin/login"));
    }
    let login_page = server.admin_page("GET", "/admin/login", None, &[]);
    assert_eq!(login_page.status, 200);
    assert!(login_page.body.contains("action=\"/admin/login\""));

    let wrong = server.admin_page(
        "POST",
        "/admin/login",
        None,
        &[
            ("email", "ada@acme.test"),
            ("password", "not the password at all"),
        ],
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.admin_cookie().is_none());
    assert!(wrong.body.contains("Wrong e-mail address or password"));

    let signed_in = server.admin_page(
        "POST",
        "/admin/login",
        None,
        &[
            ("email", "ada@acme.test"),
            ("password", crate::support::GOOD_PASSWORD),
        ],
    );
    assert_eq!(signed_in.status, 303);
    assert_eq!(location(&signed_in), Some("/admin"));
    let set_cookie = signed_in.header("set-cookie").expect("a cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = signed_in.admin_cookie().expect("session");
    // The admin session is no employee session.
    assert_eq!(
        server.page("GET", "/account", Some(&cookie), &[]).status,
        303
    );

    let home = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Acme") && home.body.contains("ada@acme.test"));
    assert!(
        !home.body.contains("globex"),
        "another organisation's admin"
    );
    assert!(home.body.contains("aria-current=\"page\""));
    let csrf = csrf_of(&home.body);

    // Inviting needs the form's token; a bad address is said on the page.
    let invite = |csrf: &str, email: &str| {
        server.admin_page(
            "POST",
            "/admin/admins",
            Some(&cookie),
            &[("csrf", csrf), ("email", email), ("name", "Piet Beheer")],
        )
    };
    let mails = smtp.count();
    assert_eq!(invite("forged", "piet@acme.test").status, 403);
    let bad = invite(&csrf, "not an address");
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("This is not a valid e-mail address."));
    assert_eq!(smtp.count(), mails, "nothing sent for refused forms");
    let invited = invite(&csrf, "piet@acme.test");
    assert_eq!(invited.status, 303, "{}", invited.body);
    assert!(smtp.message(mails + 1).contains("piet@acme.test"));
    let listed = server.get("/api/v1/admins", Some(&acme_key)).json();
    assert!(
        listed
            .as_array()
            .expect("admins")
            .iter()
            .any(|a| a["email"] == "piet@acme.test" && a["registered_at"].is_null())
    );
    let home = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    assert!(home.body.contains("piet@acme.test"));

    // Signing out needs the token too, and ends the session.
    let forged = server.admin_page("POST", "/admin/logout", Some(&cookie), &[("csrf", "x")]);
    assert_eq!(forged.status, 403);
    let out = server.admin_page("POST", "/admin/logout", Some(&cookie), &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(location(&out), Some("/admin/login"));
    assert!(
        out.header("set-cookie")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    assert_eq!(
        server
            .admin_page("GET", "/admin", Some(&cookie), &[])
            .status,
        303
    );
    let again = admin_page_session(&server, "ada@acme.test");
    assert_eq!(
        server.admin_page("GET", "/admin", Some(&again), &[]).status,
        200
    );
}

#[test]
fn an_admin_signs_in_and_invites_in_chromium_in_english_and_dutch() {
    if !crate::browser::browser_available() {
        return;
    }
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let acme_key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    for (locale, language) in [("en-GB", "en"), ("nl-NL", "nl")] {
        let mails = smtp.count();
        crate::browser::run_in_chromium(
            &server,
            "admin-sign-in.mjs",
            &["Andre_Agassi_0005.jpg"],
            &format!("admin-sign-in-{language}"),
            &[
                ("LOCALE", locale),
                ("LANGUAGE", language),
                ("ADMIN_EMAIL", "ada@acme.test"),
            ],
        );
        assert_eq!(smtp.count(), mails + 1, "one invitation sent");
        assert!(smtp.message(mails + 1).contains("piet@acme.test"));
    }
    let listed = server.get("/api/v1/admins", Some(&acme_key)).json();
    assert_eq!(listed.as_array().expect("admins").len(), 2);
}

/// A key as authenticator apps take it (RFC 4648 base32), back to bytes.
pub(crate) fn base32_decode(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bytes, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.bytes() {
        let value = alphabet.iter().position(|&a| a == c).expect("base32") as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
        }
    }
    bytes
}

fn api_sign_in(server: &Server, code: Option<&str>) -> crate::support::Reply {
    let mut body = serde_json::json!({
        "email": "ada@acme.test",
        "password": crate::support::GOOD_PASSWORD,
    });
    if let Some(code) = code {
        body["code"] = code.into();
    }
    server.post_json("/api/v1/admin-session", None, &body)
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

#[test]
fn an_admins_second_factor_is_set_up_asked_for_taken_once_and_survives_key_rotation() {
    use limen_services::totp::{code_at, step_at};
    let smtp = SmtpSink::start();
    let Some(mut server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    let cookie = admin_page_session(&server, "ada@acme.test");
    let home = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    let csrf = csrf_of(&home.body);
    assert!(home.body.contains("action=\"/admin/two-step\""));

    // The codes below use the steps around now; start at the beginning of
    // one, so that the test runs within it and its neighbours.
    let into_step = unix_now().rem_euclid(30);
    if into_step > 10 {
        std::thread::sleep(std::time::Duration::from_secs((31 - into_step) as u64));
    }
    let begun = server.admin_page("POST", "/admin/two-step", Some(&cookie), &[("csrf", &csrf)]);
    assert_eq!(begun.status, 303);
    let setup = server.admin_page("GET", "/admin/two-step", Some(&cookie), &[]);
    assert_eq!(setup.status, 200);
    let secret = setup
        .body
        .split("<code id=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the key on the page");
    assert!(setup.body.contains(&format!(
        "otpauth://totp/Limen%20Acme:ada@acme.test?secret={secret}"
    )));
    let secret = base32_decode(secret);
    assert_eq!(secret.len(), 20);
    let code = |step: i64| format!("{:06}", code_at(&secret, step));
    let now = step_at(unix_now());
    let confirm = |code: &str| {
        server.admin_page(
            "POST",
            "/admin/two-step/confirm",
            Some(&cookie),
            &[("csrf", &csrf), ("code", code)],
        )
    };
    assert_eq!(confirm(&code(now + 5)).status, 422, "not a current code");
    assert_eq!(confirm(&code(now - 1)).status, 303);
    let home = server.admin_page("GET", "/admin", Some(&cookie), &[]);
    assert!(home.body.contains("action=\"/admin/two-step/off\""));

    // Signing in now takes a code, each code once.
    let without = api_sign_in(&server, None);
    assert_eq!(without.status, 401);
    assert!(
        without.body.contains("authenticator app"),
        "{}",
        without.body
    );
    assert_eq!(
        api_sign_in(&server, Some(&code(now - 1))).status,
        422,
        "taken to confirm"
    );
    let page_without = server.admin_page(
        "POST",
        "/admin/login",
        None,
        &[
            ("email", "ada@acme.test"),
            ("password", crate::support::GOOD_PASSWORD),
        ],
    );
    assert_eq!(page_without.status, 401);
    assert!(page_without.admin_cookie().is_none());

    // The secret is sealed under the organisation's key, and a rotated
    // master key seals it anew.
    server.stop();
    let rotated = server.admin(&["key", "rotate"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("1 admins' second-factor secrets"));
    server.restart();
    let page_with = server.admin_page(
        "POST",
        "/admin/login",
        None,
        &[
            ("email", "ada@acme.test"),
            ("password", crate::support::GOOD_PASSWORD),
            ("code", &code(now)),
        ],
    );
    assert_eq!(page_with.status, 303, "{}", page_with.body);
    assert_eq!(
        api_sign_in(&server, Some(&code(now))).status,
        422,
        "taken once"
    );
    let cookie = page_with.admin_cookie().expect("signed in");
    let csrf = csrf_of(&server.admin_page("GET", "/admin", Some(&cookie), &[]).body);

    // Turning it off takes a current code too.
    let off = |code: &str| {
        server.admin_page(
            "POST",
            "/admin/two-step/off",
            Some(&cookie),
            &[("csrf", &csrf), ("code", code)],
        )
    };
    let refused = off(&code(now));
    assert_eq!(refused.status, 422, "taken at sign-in");
    assert!(refused.body.contains("not the current code"));
    assert_eq!(off(&code(now + 1)).status, 303);
    assert_eq!(api_sign_in(&server, None).status, 200);
}
