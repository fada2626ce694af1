//! The employee's pages without JavaScript: register, consent on its own
//! step with an unticked box, account, logout, login; the cookie's flags.

use crate::support::{
    Backend, GOOD_PASSWORD, Server, SmtpSink, csrf_of, fixture, multipart, registration_token,
    status_of,
};

#[test]
fn register_and_consent_through_the_pages() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let csv = "first_name,last_name,email,acs_id\nAnn,Lee,ann@acme.test,A-1\n";
    let person = server.import_csv(&admin, csv);
    server.send(
        "POST",
        &format!("/api/v1/people/{person}/invitation"),
        Some(&admin),
        "application/json",
        b"",
    );
    let token = registration_token(&smtp.message(1));

    let form = server.page("GET", &format!("/register?token={token}"), None, &[]);
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("ann@acme.test") && !form.body.contains("<script"),
        "a plain form"
    );
    assert_eq!(
        form.header("referrer-policy"),
        Some("no-referrer"),
        "the token in the URL is not passed on"
    );
    let mismatch = server.page(
        "POST",
        "/register",
        None,
        &[
            ("token", &token),
            ("password", GOOD_PASSWORD),
            ("password_again", "something else entirely"),
        ],
    );
    assert_eq!(mismatch.status, 422);
    assert!(mismatch.body.contains("not the same"));
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
    assert_eq!(registered.header("location"), Some("/account/consent"));
    let cookie_header = registered
        .header("set-cookie")
        .expect("session cookie")
        .to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie_header.contains(flag), "{cookie_header} lacks {flag}");
    }
    let cookie = registered.session_cookie().expect("cookie value");

    // Consent: its own page, the box not ticked in advance.
    let consent = server.page("GET", "/account/consent", Some(&cookie), &[]);
    assert_eq!(consent.status, 200);
    let checkbox = consent
        .body
        .split("type=\"checkbox\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("a checkbox");
    assert!(
        !checkbox.contains("checked"),
        "the consent box starts unticked"
    );
    let csrf = csrf_of(&consent.body);
    let version = consent
        .body
        .split("name=\"statement_version\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("version");
    let unticked = server.page(
        "POST",
        "/account/consent",
        Some(&cookie),
        &[("csrf", &csrf), ("statement_version", version)],
    );
    assert_eq!(unticked.status, 422);
    assert_eq!(
        status_of(&server, &admin, &person).as_deref(),
        Some("registered"),
        "no box, no consent"
    );
    let ticked = server.page(
        "POST",
        "/account/consent",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("statement_version", version),
            ("agree", "yes"),
        ],
    );
    assert_eq!(ticked.status, 303);
    assert_eq!(ticked.header("location"), Some("/account/enrol"));
    assert_eq!(
        status_of(&server, &admin, &person).as_deref(),
        Some("consented")
    );
    let export = server.page("GET", "/account/export", Some(&cookie), &[]);
    assert!(
        export.body.contains("web form"),
        "the method is recorded: {}",
        export.body
    );

    let enrol = server.page("GET", "/account/enrol", Some(&cookie), &[]);
    assert!(enrol.body.contains("<video") && enrol.body.contains("/static/enrol.js"));
    assert!(
        server
            .get("/static/enrol.js", None)
            .body
            .contains("getUserMedia")
    );
    let enrol_csrf = enrol
        .body
        .split("data-csrf=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries its CSRF token");
    check_frames_for_guidance(&server, &cookie, enrol_csrf);

    // Without JavaScript, the page's plain form sends pictures instead.
    assert!(
        enrol.body.contains("<noscript>") && enrol.body.contains("capture=\"user\""),
        "{}",
        enrol.body
    );
    let upload = |csrf: &str| {
        let (content_type, body) = upload_form(csrf, &fixture("Andre_Agassi_0005.jpg"));
        server.send_with_headers(
            "/account/face/upload",
            &[
                ("Cookie", &format!("limen_session={cookie}")),
                ("Content-Type", &content_type),
            ],
            &body,
        )
    };
    assert_eq!(
        upload("wrong").status,
        403,
        "the form's CSRF token is required"
    );
    assert_eq!(
        status_of(&server, &admin, &person).as_deref(),
        Some("consented")
    );
    let uploaded = upload(enrol_csrf);
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    assert!(
        uploaded.body.contains("your face is enrolled"),
        "{}",
        uploaded.body
    );
    assert_eq!(
        status_of(&server, &admin, &person).as_deref(),
        Some("enrolled")
    );

    // Log out, then back in through the login form.
    let account = server.page("GET", "/account", Some(&cookie), &[]);
    assert!(account.body.contains("Withdraw consent"));
    let logout = server.page(
        "POST",
        "/logout",
        Some(&cookie),
        &[("csrf", &csrf_of(&account.body))],
    );
    assert_eq!(logout.status, 303);
    assert_eq!(
        server
            .page("GET", "/account", Some(&cookie), &[])
            .header("location"),
        Some("/login")
    );
    let wrong = server.page(
        "POST",
        "/login",
        None,
        &[
            ("email", "ann@acme.test"),
            ("password", "not my password at all"),
        ],
    );
    assert_eq!(wrong.status, 401);
    let login = server.page(
        "POST",
        "/login",
        None,
        &[("email", "ANN@acme.test"), ("password", GOOD_PASSWORD)],
    );
    assert_eq!(login.status, 303);
    let cookie = login.session_cookie().expect("new session");
    assert!(
        server
            .page("GET", "/account", Some(&cookie), &[])
            .body
            .contains("ann@acme.test")
    );

    // Withdrawing asks first: the account page only links to the step
    // that says what goes, and the step's form does it.
    let confirm = server.page("GET", "/account/consent/withdraw", Some(&cookie), &[]);
    assert_eq!(confirm.status, 200);
    assert!(
        confirm
            .body
            .contains("<form method=\"post\" action=\"/account/consent/withdraw\"")
            && confirm.body.contains("deletes your facial vector"),
        "{}",
        confirm.body
    );
    assert_eq!(
        status_of(&server, &admin, &person).as_deref(),
        Some("enrolled"),
        "asking changes nothing"
    );
    let withdrawn = server.page(
        "POST",
        "/account/consent/withdraw",
        Some(&cookie),
        &[("csrf", &csrf_of(&confirm.body))],
    );
    assert_eq!(withdrawn.status, 303);
    assert_eq!(
        status_of(&server, &admin, &person).as_deref(),
        Some("registered")
    );
}

/// The upload form's body: its CSRF part, then one JPEG picture.
fn upload_form(csrf: &str, picture: &[u8]) -> (String, Vec<u8>) {
    let (content_type, pictures) = multipart(&[("image/jpeg", picture)]);
    let boundary = content_type.split("boundary=").nth(1).expect("a boundary");
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .into_bytes();
    body.extend_from_slice(&pictures);
    (content_type, body)
}

/// The webcam page's live guidance: one frame at a time, checked by the
/// engine, answered with stable issue codes and advice, never a vector.
fn check_frames_for_guidance(server: &Server, cookie: &str, csrf: &str) {
    let check = |frame: &[u8], token: &str| {
        let (content_type, body) = multipart(&[("image/jpeg", frame)]);
        let headers = [
            ("Cookie", format!("limen_session={cookie}")),
            ("X-CSRF-Token", token.to_owned()),
            ("Content-Type", content_type),
        ];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        server.send_with_headers("/account/face/check", &headers, &body)
    };
    let mut grey = Vec::new();
    image::RgbImage::from_pixel(320, 240, image::Rgb([128, 128, 128]))
        .write_to(
            &mut std::io::Cursor::new(&mut grey),
            image::ImageFormat::Jpeg,
        )
        .expect("encode");
    let reply = check(&grey, csrf);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["passed"], false);
    assert_eq!(answer["issues"], serde_json::json!(["no_face"]));
    assert!(
        answer["advice"][0]
            .as_str()
            .expect("advice")
            .contains("no face")
    );

    let reply = check(&fixture("Andre_Agassi_0005.jpg"), csrf);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["passed"], true, "{answer}");
    let mut keys: Vec<&String> = answer.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["advice", "issues", "passed", "yaw_deg"],
        "nothing but the verdict and the head's turn"
    );
    assert!(
        answer["yaw_deg"]
            .as_f64()
            .is_some_and(|yaw| yaw.abs() < 45.0 && yaw.fract() == 0.0),
        "{answer}"
    );

    assert_eq!(
        check(&grey, "wrong").status,
        403,
        "the CSRF header is required"
    );
}
