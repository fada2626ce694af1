//! Issue 12: every person reads Limen in Dutch or English: the language
//! they chose, else the one their browser asks for, else their
//! organisation's; e-mails in their choice, else the organisation's.

use serde_json::json;

use crate::support::{
    Backend, GOOD_PASSWORD, Server, SmtpSink, get_with_headers, grey_png, mail_part, multipart,
    registration_token,
};

fn person_id(server: &Server, admin: &str, email: &str) -> String {
    server
        .get("/api/v1/people", Some(admin))
        .json()
        .as_array()
        .expect("people")
        .iter()
        .find(|p| p["email"] == email)
        .and_then(|p| p["id"].as_str())
        .expect("imported")
        .to_owned()
}

fn invite(server: &Server, admin: &str, person: &str) {
    let invited = server.send(
        "POST",
        &format!("/api/v1/people/{person}/invitation"),
        Some(admin),
        "application/json",
        b"",
    );
    assert_eq!(invited.status, 200, "{}", invited.body);
}

fn set_language(server: &Server, admin: &str, language: &str) -> u16 {
    server
        .send(
            "PUT",
            "/api/v1/language",
            Some(admin),
            "application/json",
            json!({ "language": language }).to_string().as_bytes(),
        )
        .status
}

#[test]
fn people_read_limen_in_their_own_language() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (org, admin) = server.create_org("Acme");
    server.import_csv(
        &admin,
        "first_name,last_name,email,acs_id\nAnn,Lee,ann@acme.test,A-1\nBas,Berg,bas@acme.test,B-2\n",
    );
    let ann = person_id(&server, &admin, "ann@acme.test");
    let bas = person_id(&server, &admin, "bas@acme.test");

    // The organisation's default, set through the admin API.
    assert_eq!(
        server.get("/api/v1/language", Some(&admin)).json()["language"],
        "en"
    );
    assert_eq!(set_language(&server, &admin, "de"), 400);
    assert_eq!(set_language(&server, &admin, "nl"), 200);
    assert_eq!(
        server.get("/api/v1/language", Some(&admin)).json()["language"],
        "nl"
    );

    // Ann's invitation goes out in the organisation's Dutch.
    invite(&server, &admin, &ann);
    let invitation = smtp.message(1);
    let text = mail_part(&invitation, "text/plain");
    assert!(
        text.contains("Beste Ann") && text.contains("nodigt u uit"),
        "{text}"
    );
    let token = registration_token(&invitation);

    // The registration page: the organisation's Dutch, unless the browser
    // asks for English.
    let register = format!("/register?token={token}");
    let dutch = get_with_headers(&server, &register, &[]);
    assert!(
        dutch.body.contains("<html lang=\"nl\">") && dutch.body.contains("Registreren"),
        "{}",
        dutch.body
    );
    let english = get_with_headers(
        &server,
        &register,
        &[("Accept-Language", "en-GB,en;q=0.9,nl;q=0.5")],
    );
    assert!(
        english.body.contains("<html lang=\"en\">") && english.body.contains("Choose a password"),
        "{}",
        english.body
    );
    let registered = server.page(
        "POST",
        "/register",
        None,
        &[
            ("token", &token),
            ("password", GOOD_PASSWORD),
            ("password_again", GOOD_PASSWORD),
        ],
    );
    assert_eq!(registered.status, 303, "{}", registered.body);
    let session = registered.session_cookie().expect("session");
    let cookie = format!("limen_session={session}");

    // With the organisation back on English, the browser decides, until
    // Ann chooses.
    assert_eq!(set_language(&server, &admin, "en"), 200);
    let account = |accept: &str| {
        get_with_headers(
            &server,
            "/account",
            &[("Cookie", &cookie), ("Accept-Language", accept)],
        )
    };
    assert!(account("nl-BE, en;q=0.8").body.contains("Uw account"));
    let page = account("en");
    assert!(page.body.contains("Your account"), "{}", page.body);
    let csrf = crate::support::csrf_of(&page.body);
    let chosen = server.send_with_headers(
        "/account/language",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!("csrf={csrf}&language=nl").as_bytes(),
    );
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    let page = account("en");
    assert!(
        page.body.contains("<html lang=\"nl\">") && page.body.contains("Uw account"),
        "the stored choice comes before the browser: {}",
        page.body
    );
    assert!(
        get_with_headers(&server, "/account/export", &[("Cookie", &cookie)])
            .body
            .contains("\"language\": \"nl\""),
        "the choice is in the export"
    );
    assert_eq!(
        server
            .get("/api/v1/people", Some(&admin))
            .json()
            .as_array()
            .expect("people")
            .iter()
            .find(|p| p["id"] == ann.as_str())
            .expect("Ann")["language"],
        "nl"
    );

    // Ann reads the Dutch statement and consents to it: the consent
    // records its version and its language, each language's version its
    // own.
    let consent_page = get_with_headers(&server, "/account/consent", &[("Cookie", &cookie)]);
    assert!(
        consent_page
            .body
            .contains("Zo gebruikt Limen uw gezicht bij de ingangen van Acme"),
        "{}",
        consent_page.body
    );
    let dutch_version = between(
        &consent_page.body,
        "name=\"statement_version\" value=\"",
        "\"",
    );
    let english_page = get_with_headers(
        &server,
        &format!("/privacy/{org}"),
        &[("Accept-Language", "en")],
    );
    let english_version = between(&english_page.body, "<code>", "</code>");
    assert_eq!(dutch_version.len(), 64);
    assert_eq!(english_version.len(), 64);
    assert_ne!(dutch_version, english_version);
    let consented = server.page(
        "POST",
        "/account/consent",
        Some(&session),
        &[
            ("csrf", &crate::support::csrf_of(&consent_page.body)),
            ("statement_version", &dutch_version),
            ("agree", "yes"),
        ],
    );
    assert_eq!(consented.status, 303, "{}", consented.body);
    let export: serde_json::Value = serde_json::from_str(
        &get_with_headers(&server, "/account/export", &[("Cookie", &cookie)]).body,
    )
    .expect("export JSON");
    assert_eq!(
        export["consents"][0]["statement_language"], "nl",
        "{export}"
    );
    assert_eq!(export["consents"][0]["statement_version"], dutch_version);
    let page = account("en");
    assert!(
        page.body
            .contains("gaf u toestemming voor de privacyverklaring in het Nederlands")
            && page.body.contains(&dutch_version),
        "the account page names the statement's language and version: {}",
        page.body
    );

    // The camera's advice comes in her language too.
    let (content_type, body) = multipart(&[("image/png", &grey_png(320, 240))]);
    let check = server.send_with_headers(
        "/account/face/check",
        &[
            ("Cookie", &cookie),
            ("X-CSRF-Token", &crate::support::csrf_of(&page.body)),
            ("Content-Type", &content_type),
        ],
        &body,
    );
    assert_eq!(check.status, 200, "{}", check.body);
    assert_eq!(
        check.json()["advice"][0],
        "geen gezicht gevonden: kijk recht in de camera"
    );

    // Bas, who chose nothing, is invited in the organisation's English.
    invite(&server, &admin, &bas);
    let text = mail_part(&smtp.message(2), "text/plain");
    assert!(
        text.contains("Hello Bas") && text.contains("invites you"),
        "{text}"
    );

    // Pages of nobody in particular follow the browser.
    let login = get_with_headers(&server, "/login", &[("Accept-Language", "nl")]);
    assert!(login.body.contains("Wachtwoord"), "{}", login.body);
    let privacy = get_with_headers(&server, &format!("/privacy/{org}"), &[]);
    assert!(privacy.body.contains("<html lang=\"en\">"));

    // A changed statement: Ann, who chose Dutch, is asked in Dutch to
    // consent again, though her organisation speaks English.
    let renamed = server.admin(&["org", "rename", &org, "--name", "Acme Gates"]);
    assert!(renamed.status.success());
    let text = mail_part(&smtp.message(3), "text/plain");
    assert!(
        text.contains("Beste Ann") && text.contains("privacyverklaring"),
        "{text}"
    );
}

fn between(text: &str, start: &str, end: &str) -> String {
    text.split(start)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or_else(|| panic!("no {start}…{end} in {text}"))
        .to_owned()
}
