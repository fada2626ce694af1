//! Issue 12: a forgotten password. The link comes by e-mail, works once,
//! sets a new password and ends every session; asking tells nobody
//! whether an address has an account, and is limited.

use std::time::Duration;

use serde_json::json;

use crate::support::{Backend, GOOD_PASSWORD, Server, SmtpSink, links, mail_part, onboard};

const NEW_PASSWORD: &str = "a brand new sentence for the door";

fn ask(server: &Server, email: &str) -> crate::support::Reply {
    server.page("POST", "/password/forgot", None, &[("email", email)])
}

fn log_in(server: &Server, password: &str) -> u16 {
    server
        .post_json(
            "/api/v1/session",
            None,
            &json!({ "email": "ann@acme.test", "password": password }),
        )
        .status
}

#[test]
fn a_forgotten_password_is_replaced_through_a_link_that_works_once() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    let login = server.page("GET", "/login", None, &[]);
    assert!(login.body.contains("href=\"/password/forgot\""));

    // An address without an account gets the very same answer, and no mail.
    let unknown = ask(&server, "nobody@acme.test");
    let known = ask(&server, "ann@acme.test");
    assert_eq!((unknown.status, known.status), (200, 200));
    assert_eq!(unknown.body, known.body, "the answer tells nothing");
    let text = mail_part(&smtp.message(2), "text/plain");
    assert!(text.contains("new password"), "{text}");
    let link = links(&text)
        .into_iter()
        .find(|l| l.contains("/password/reset?token="))
        .expect("a link");
    let path = &link[link.find("/password/").expect("path")..];

    // The link's form sets the new password, signs in and ends the
    // sessions that were open.
    let form = server.page("GET", path, None, &[]);
    assert_eq!(form.status, 200, "{}", form.body);
    let token = path.split("token=").nth(1).expect("token");
    let mismatch = server.page(
        "POST",
        "/password/reset",
        None,
        &[
            ("token", token),
            ("new_password", NEW_PASSWORD),
            ("new_password_again", "something else"),
        ],
    );
    assert_eq!(mismatch.status, 422);
    let reset = server.page(
        "POST",
        "/password/reset",
        None,
        &[
            ("token", token),
            ("new_password", NEW_PASSWORD),
            ("new_password_again", NEW_PASSWORD),
        ],
    );
    assert_eq!(reset.status, 303, "{}", reset.body);
    assert_eq!(reset.header("location"), Some("/account"));
    assert!(reset.session_cookie().is_some());
    assert_eq!(
        server.get("/api/v1/me", Some(&ann.session)).status,
        401,
        "the session open before is ended"
    );
    assert_eq!(log_in(&server, GOOD_PASSWORD), 401);
    assert_eq!(log_in(&server, NEW_PASSWORD), 200);

    // Once only.
    assert_eq!(server.page("GET", path, None, &[]).status, 410);

    // Asking again and again is limited: the answer stays the same, the
    // mails stop.
    for _ in 0..6 {
        assert_eq!(ask(&server, "ann@acme.test").body, known.body);
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(smtp.count(), 2 + 4, "five requests per address an hour");
}
