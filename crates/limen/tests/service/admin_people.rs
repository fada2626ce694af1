//! The admin's people pages: a spreadsheet's CSV imported in Chromium in
//! both languages (a bad row shown and nothing saved, then the corrected
//! file), everyone invited through the real SMTP server, axe-core on each
//! page; and over plain HTTP, forms without their CSRF token refused and
//! no face or vector on any of the pages.

use crate::browser::{browser_available, run_in_chromium};
use crate::support::{
    Backend, Reply, Server, SmtpSink, admin_page_session, assert_no_vector_in, csrf_of, enrol,
    first_exported_vector, onboard, org_with_admin_account,
};

/// Excel's "CSV (semicolon)" from a Dutch spreadsheet: BOM, CRLF, Dutch
/// headers with an infix and columns Limen does not read. Row 3 (as the
/// spreadsheet numbers it) has an e-mail address without a domain when
/// `bad`.
fn dutch_export(bad: bool) -> Vec<u8> {
    let bram = if bad { "bram@" } else { "bram@acme.test" };
    format!(
        "\u{feff}Personeelsnummer;Voornaam;Tussenvoegsel;Achternaam;E-mailadres;Pasnummer;Afdeling\r\n\
         101;Anne;de;Vries;anne@acme.test;P-101;Inkoop\r\n\
         102;Bram;;Jansen;{bram};P-102;Verkoop\r\n\
         103;Chloë;van der;Berg;chloe@acme.test;P-103;\"Zaken; algemeen\"\r\n"
    )
    .into_bytes()
}

/// The same people as an English spreadsheet exports them with `;`.
fn english_export(bad: bool) -> Vec<u8> {
    let bram = if bad { "bram@" } else { "bram@bolt.test" };
    format!(
        "\u{feff}First Name;Last Name;E-mail;Card number;Department\r\n\
         Anne;de Vries;anne@bolt.test;B-101;Purchasing\r\n\
         Bram;Jansen;{bram};B-102;Sales\r\n\
         Chloë;van der Berg;chloe@bolt.test;B-103;\"General; other\"\r\n"
    )
    .into_bytes()
}

#[test]
fn people_are_imported_and_invited_in_chromium_in_both_languages() {
    if !browser_available() {
        return;
    }
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    for (language, locale, organisation, export, problem) in [
        (
            "nl",
            "nl-NL",
            "Acme",
            dutch_export as fn(bool) -> Vec<u8>,
            "E-mailadres: geen geldig e-mailadres",
        ),
        (
            "en",
            "en-GB",
            "Bolt",
            english_export,
            "E-mail address: not a valid e-mail address",
        ),
    ] {
        let email = format!("ada@{}.test", organisation.to_lowercase());
        let api_key = org_with_admin_account(&server, &smtp, organisation, &email);
        let bad = server.root.join(format!("{language}-bad.csv"));
        let good = server.root.join(format!("{language}-good.csv"));
        std::fs::write(&bad, export(true)).expect("write the CSV");
        std::fs::write(&good, export(false)).expect("write the CSV");
        let mails_before = smtp.count();
        run_in_chromium(
            &server,
            "admin_people.mjs",
            &[],
            &format!("admin-people-{language}"),
            &[
                ("LOCALE", locale),
                ("LANGUAGE", language),
                ("ADMIN_EMAIL", &email),
                ("API_KEY", &api_key),
                ("BAD_CSV", &bad.display().to_string()),
                ("GOOD_CSV", &good.display().to_string()),
                ("BAD_ROW", "3"),
                ("PROBLEM_TEXT", problem),
                ("PEOPLE", "3"),
            ],
        );
        // Invited in the background: each of the three mails arrives.
        smtp.message(mails_before + 3);
        let mut people = server.get("/api/v1/people", Some(&api_key)).json();
        for _ in 0..100 {
            if people
                .as_array()
                .is_some_and(|p| p.iter().all(|p| p["status"] == "invited"))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            people = server.get("/api/v1/people", Some(&api_key)).json();
        }
        let people = people.as_array().expect("people");
        assert_eq!(people.len(), 3);
        for person in people {
            assert_eq!(person["status"], "invited", "{person}");
        }
        assert!(
            people
                .iter()
                .any(|p| p["first_name"] == "Chloë" && p["last_name"] == "van der Berg"),
            "the infix and a non-ASCII name are kept: {people:?}"
        );
        assert_eq!(smtp.count(), mails_before + 3, "one invitation each");
        let mail = smtp.message(smtp.count());
        assert!(mail.contains("/register?token="), "{mail}");
    }
}

/// The import form as a browser sends it: the CSRF token, then the file.
fn import_form(csrf: &str, csv: &[u8]) -> (String, Vec<u8>) {
    let boundary = "limen-people-import-4c1b2a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(csv);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads `csv` on the import form with the session `cookie`.
pub(crate) fn upload(server: &Server, cookie: &str, csrf: &str, csv: &[u8]) -> Reply {
    let (content_type, body) = import_form(csrf, csv);
    server.send_with_headers(
        "/admin/people/import",
        &[
            ("Cookie", &format!("limen_admin={cookie}")),
            ("Content-Type", &content_type),
        ],
        &body,
    )
}

/// The value of the hidden field `name` in a page's form.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let rest = html.split(marker.as_str()).nth(1)?;
    Some(rest.split('"').next()?.to_owned())
}

fn people(server: &Server, api_key: &str) -> Vec<serde_json::Value> {
    server
        .get("/api/v1/people", Some(api_key))
        .json()
        .as_array()
        .expect("people")
        .clone()
}

fn id_of(people: &[serde_json::Value], email: &str) -> String {
    people
        .iter()
        .find(|p| p["email"] == email)
        .and_then(|p| p["id"].as_str())
        .unwrap_or_else(|| panic!("{email} is not among {people:?}"))
        .to_owned()
}

#[test]
fn people_pages_check_every_form_recheck_the_carried_file_and_never_show_a_face() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let api_key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    let ann = onboard(
        &server,
        &smtp,
        &api_key,
        "ann@acme.test",
        "A-1",
        smtp.count() + 1,
    );
    assert_eq!(enrol(&server, &ann.session).status, 201);
    let export = server.get("/api/v1/me/export", Some(&ann.session)).json();
    let vector = first_exported_vector(&export);
    assert!(!vector.is_empty());
    let cookie = admin_page_session(&server, "ada@acme.test");
    let get = |path: &str| {
        let reply = server.admin_page("GET", path, Some(&cookie), &[]);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
        reply.body
    };
    let list = get("/admin/people");
    let csrf = csrf_of(&list);

    // The import: a file with a bad row is shown and saves nothing.
    let bad =
        "first_name;last_name;email;acs_id\r\nBob;Ray;bob@acme.test;B-1\r\nCy;Day;cy@;C-1\r\n";
    let preview = upload(&server, &cookie, &csrf, bad.as_bytes());
    assert_eq!(preview.status, 422, "{}", preview.body);
    assert!(
        preview.body.contains("not a valid e-mail address"),
        "{}",
        preview.body
    );
    assert_eq!(hidden(&preview.body, "file"), None, "no way to import it");
    assert_eq!(people(&server, &api_key).len(), 1);
    let unnamed = upload(
        &server,
        &cookie,
        &csrf,
        b"Name;Address\r\nBob Ray;bob@acme.test\r\n",
    );
    assert_eq!(unnamed.status, 422);
    assert!(
        unnamed.body.contains(
            "none of them is read as: First name, Last name, E-mail address, Card number (acs_id)"
        ),
        "{}",
        unnamed.body
    );
    // Excel's CSV from a Dutch Windows is Windows-1252, not UTF-8.
    let windows_1252 = upload(
        &server,
        &cookie,
        &csrf,
        b"Voornaam;Achternaam;E-mail;Pasnummer\r\nZo\xEB;\xC5ngstr\xF6m;zoe@acme.test;Z-1\r\n",
    );
    assert_eq!(windows_1252.status, 200, "{}", windows_1252.body);
    assert!(
        windows_1252.body.contains("<td>Zoë</td>")
            && windows_1252.body.contains("<td>Ångström</td>")
    );
    // A fine file is carried to the import button; the carried copy is
    // read and checked again, so a changed one saves nothing either.
    let good = "first_name;last_name;email;acs_id\r\nBob;Ray;bob@acme.test;B-1\r\nCy;Day;cy@acme.test;C-1\r\n";
    let preview = upload(&server, &cookie, &csrf, good.as_bytes());
    assert_eq!(preview.status, 200, "{}", preview.body);
    let carried = hidden(&preview.body, "file").expect("the file carried");
    use base64::Engine;
    let tampered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bad);
    let confirm = |csrf: &str, file: &str| {
        server.admin_page(
            "POST",
            "/admin/people/import/confirm",
            Some(&cookie),
            &[("csrf", csrf), ("file", file)],
        )
    };
    let refused = confirm(&csrf, &tampered);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("not a valid e-mail address"));
    assert_eq!(people(&server, &api_key).len(), 1);

    // Every form without its token changes nothing.
    let mails = smtp.count();
    assert_eq!(
        upload(&server, &cookie, "forged", good.as_bytes()).status,
        403
    );
    assert_eq!(confirm("forged", &carried).status, 403);
    assert_eq!(people(&server, &api_key).len(), 1);
    assert_eq!(confirm(&csrf, &carried).status, 303);
    let everyone = people(&server, &api_key);
    assert_eq!(everyone.len(), 3);
    let bob = id_of(&everyone, "bob@acme.test");
    for (path, form) in [
        (
            "/admin/people/invitations".to_owned(),
            vec![("which", "all")],
        ),
        (
            "/admin/people/invitations".to_owned(),
            vec![("which", "selected"), ("person", bob.as_str())],
        ),
        (format!("/admin/people/{bob}/invitation"), vec![]),
        (format!("/admin/people/{}/erase", ann.person_id), vec![]),
    ] {
        for csrf in [None, Some("forged")] {
            let mut fields = form.clone();
            fields.extend(csrf.map(|c| ("csrf", c)));
            let reply = server.admin_page("POST", &path, Some(&cookie), &fields);
            assert_eq!(reply.status, 403, "{path} with {csrf:?}: {}", reply.body);
        }
    }
    assert_eq!(smtp.count(), mails, "no invitation went out");
    assert_eq!(people(&server, &api_key).len(), 3, "nobody was erased");

    // The pages name people and their status, never a face or a vector.
    let list = get("/admin/people");
    let erase_page = get(&format!("/admin/people/{}/erase", ann.person_id));
    for page in [&list, &erase_page, &get("/admin/people?q=ann")] {
        assert_no_vector_in(page, &vector);
        assert!(!page.contains("<img") && !page.contains("data:image"));
    }
    assert!(
        list.contains("ann@acme.test") && list.contains(">enrolled<"),
        "{list}"
    );
    let found = get("/admin/people?q=BOB");
    assert!(found.contains("bob@acme.test") && !found.contains("ann@acme.test"));

    // With the token: Bob selected and invited; Ann erased.
    let invited = server.admin_page(
        "POST",
        "/admin/people/invitations",
        Some(&cookie),
        &[("csrf", &csrf), ("which", "selected"), ("person", &bob)],
    );
    assert_eq!(invited.status, 303);
    assert_eq!(
        invited.header("location"),
        Some("/admin/people?invited=1&not_sent=0")
    );
    assert_eq!(smtp.count(), mails + 1);
    assert!(smtp.message(smtp.count()).contains("bob@acme.test"));
    let erased = server.admin_page(
        "POST",
        &format!("/admin/people/{}/erase", ann.person_id),
        Some(&cookie),
        &[("csrf", &csrf)],
    );
    assert_eq!(erased.status, 303);
    let statuses: Vec<(String, String)> = people(&server, &api_key)
        .iter()
        .map(|p| {
            (
                p["email"].as_str().unwrap_or_default().to_owned(),
                p["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("cy@acme.test".to_owned(), "imported".to_owned()),
            ("bob@acme.test".to_owned(), "invited".to_owned()),
        ]
    );

    // Fifty people a page, the search kept from page to page.
    let mut many = String::from("first_name,last_name,email,acs_id\n");
    for n in 0..60 {
        many.push_str(&format!("Pat,Many{n:02},pat{n:02}@acme.test,M-{n:02}\n"));
    }
    server.import_csv(&api_key, &many);
    let first = get("/admin/people?q=pat");
    assert_eq!(first.matches("@acme.test</td>").count(), 50);
    assert!(first.contains("60 people.") && first.contains("Showing 1 to 50."));
    assert!(
        first.contains("href=\"/admin/people?q=pat&#38;page=2\" rel=\"next\""),
        "{first}"
    );
    let second = get("/admin/people?q=pat&page=2");
    assert_eq!(second.matches("@acme.test</td>").count(), 10);
    assert!(second.contains("Showing 51 to 60.") && second.contains("pat59@acme.test"));
    assert!(!second.contains("rel=\"next\""));
}

/// The recipient of a raw message.
fn recipient(message: &str) -> String {
    message
        .lines()
        .find_map(|line| line.strip_prefix("To: "))
        .map(|to| {
            to.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
        .expect("a To header")
}

/// "Invite everyone not yet invited" answers before the mails go: the
/// mail server holds every message until the test has the answer (and
/// has clicked again, and read the page saying all are waiting); then
/// each of a few hundred people gets exactly one invitation.
#[test]
fn everyone_is_invited_in_the_background_once() {
    const PEOPLE: usize = 300;
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let api_key = org_with_admin_account(&server, &smtp, "Acme", "ada@acme.test");
    let before = smtp.count();
    let mut csv = String::from("first_name,last_name,email,acs_id\n");
    for n in 0..PEOPLE {
        csv.push_str(&format!("Person,Number {n},p{n}@acme.test,P-{n}\n"));
    }
    server.import_csv(&api_key, &csv);
    let cookie = admin_page_session(&server, "ada@acme.test");
    let csrf = csrf_of(
        &server
            .admin_page("GET", "/admin/people", Some(&cookie), &[])
            .body,
    );
    let invite_all = || {
        server.admin_page(
            "POST",
            "/admin/people/invitations",
            Some(&cookie),
            &[("csrf", &csrf), ("which", "all")],
        )
    };

    smtp.hold();
    let answered = invite_all();
    assert_eq!(answered.status, 303, "{}", answered.body);
    assert_eq!(
        answered.header("location"),
        Some(format!("/admin/people?queued={PEOPLE}").as_str())
    );
    let again = invite_all();
    assert_eq!(again.header("location"), Some("/admin/people?queued=0"));
    let waiting = server.admin_page("GET", "/admin/people", Some(&cookie), &[]);
    assert!(
        waiting
            .body
            .contains(&format!("Sent: 0. Waiting: {PEOPLE}. Not sent: 0.")),
        "{}",
        waiting.body
    );
    assert_eq!(
        smtp.count(),
        before,
        "nothing is sent while the server holds"
    );
    smtp.release();

    let recipients: Vec<String> = (before + 1..=before + PEOPLE)
        .map(|n| recipient(&smtp.message(n)))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = recipients.iter().collect();
    assert_eq!(distinct.len(), PEOPLE, "each person once");
    assert!((0..PEOPLE).all(|n| distinct.contains(&format!("p{n}@acme.test"))));
    // The last answer reaches the sender just after its message arrived.
    let mut done = server.admin_page("GET", "/admin/people", Some(&cookie), &[]);
    for _ in 0..100 {
        if !done.body.contains("Waiting: 0.") {
            std::thread::sleep(std::time::Duration::from_millis(100));
            done = server.admin_page("GET", "/admin/people", Some(&cookie), &[]);
        }
    }
    assert!(
        done.body
            .contains(&format!("Sent: {PEOPLE}. Waiting: 0. Not sent: 0.")),
        "{}",
        done.body
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.count(), before + PEOPLE, "no second mail to anyone");
    assert!(
        people(&server, &api_key)
            .iter()
            .all(|p| p["status"] == "invited")
    );

    // The API says the same, and has nobody left to invite.
    let progress = server.get("/api/v1/invitations", Some(&api_key));
    assert_eq!(
        progress.json(),
        serde_json::json!({ "sent": PEOPLE, "waiting": 0, "failed": [] })
    );
    let nobody = server.send(
        "POST",
        "/api/v1/invitations",
        Some(&api_key),
        "application/json",
        b"",
    );
    assert_eq!(nobody.status, 202, "{}", nobody.body);
    assert_eq!(nobody.json(), serde_json::json!({ "queued": 0 }));
}
