//! The employee's pages: server-rendered HTML that works without
//! JavaScript (only the webcam capture needs it). Forms post back with the
//! session's CSRF token; the session lives in an HttpOnly, Secure,
//! SameSite=Strict cookie.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use limen_domain::{OrgId, Person, Statement};
use limen_services::ServiceError;
use limen_services::password::{MAX_CHARS, MIN_CHARS};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{PageSession, cleared_session_cookie, from_this_site, session_cookie};
use crate::client::Client;
use crate::employee::log_in;
use crate::error::ApiError;

const STYLESHEET: &str = include_str!("limen.css");

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/account") }))
        .route(
            "/static/limen.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLESHEET) }),
        )
        .route("/privacy/{org}", get(privacy))
        .route("/register", get(register_form).post(register))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/account/consent", get(consent_form).post(consent))
        .route("/account/consent/withdraw", post(withdraw))
        .route("/account/face/delete", post(remove_face))
        .route("/account/export", get(export))
        .route("/account/password", get(password_form).post(password))
        .route("/account/cancel", get(cancel_form).post(cancel))
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already escaped HTML). `script` names a
/// script under /static, for the one page that needs one.
pub fn page(title: &str, body: &str, script: Option<&str>) -> Html<String> {
    let script = script
        .map(|s| format!("<script src=\"/static/{s}\" defer></script>"))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Limen</title><link rel=\"stylesheet\" href=\"/static/limen.css\">{script}</head>\
         <body><header><a href=\"/account\">Limen</a></header><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title),
    ))
}

pub(crate) fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        page(
            title,
            &format!("<p class=\"notice\">{}</p>", escape(message)),
            None,
        ),
    )
        .into_response()
}

/// An error shown as a page, with the status the API would answer.
pub(crate) fn error_page(e: impl Into<ApiError>) -> Response {
    let e = e.into();
    message_page(e.status, "Something is not right", &e.message)
}

fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    )
}

fn csrf_refused() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form did not carry a valid security token (CSRF), so nothing was changed. Go back, reload the page and try again.",
    )
}

fn cross_site_refused() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "Not sent from this site",
        "This form was sent from another web site, so it was ignored. Open Limen's own page and try again.",
    )
}

fn statement_html(statement: &Statement) -> String {
    let paragraphs: String = statement
        .text
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect();
    format!(
        "<article class=\"statement\">{paragraphs}<p class=\"version\">Statement version (SHA-256): <code>{}</code></p></article>",
        statement.version
    )
}

async fn privacy(State(state): State<Arc<AppState>>, Path(org): Path<String>) -> Response {
    let Ok(org) = OrgId::parse(&org) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such organisation.",
        );
    };
    match state.services.store().organisation(&org).await {
        Ok(Some(org)) => page(
            "Privacy statement",
            &statement_html(&Statement::for_organisation(&org.name)),
            None,
        )
        .into_response(),
        Ok(None) => message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such organisation.",
        ),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

fn register_page(
    status: StatusCode,
    token: &str,
    email: &str,
    org: &OrgId,
    problem: Option<&str>,
) -> Response {
    let problem = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    let body = format!(
        "<p>Your account name is <strong>{email}</strong>. Before you go on, read \
         <a href=\"/privacy/{org}\">what happens to your data</a>.</p>{problem}\
         <form method=\"post\" action=\"/register\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label>Choose a password (at least {min} characters; a short sentence works well)\
         <input type=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{max}\"></label>\
         <label>The same password again<input type=\"password\" name=\"password_again\" autocomplete=\"new-password\" required></label>\
         <button type=\"submit\">Register</button></form>",
        email = escape(email),
        token = escape(token),
        min = MIN_CHARS,
        max = MAX_CHARS,
    );
    (status, page("Register", &body, None)).into_response()
}

async fn register_form(
    State(state): State<Arc<AppState>>,
    Query(query): Query<TokenQuery>,
) -> Response {
    match state.services.invitation_for(&query.token).await {
        Ok(person) => register_page(
            StatusCode::OK,
            &query.token,
            person.email.as_str(),
            &person.org_id,
            None,
        ),
        Err(e) => link_not_valid(e),
    }
}

#[derive(Deserialize)]
struct RegisterForm {
    token: String,
    password: String,
    password_again: String,
}

async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    if !from_this_site(&headers, &state.config) {
        return cross_site_refused();
    }
    let person = match state.services.invitation_for(&form.token).await {
        Ok(person) => person,
        Err(e) => return link_not_valid(e),
    };
    let retry = |problem: &str| {
        register_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.token,
            person.email.as_str(),
            &person.org_id,
            Some(problem),
        )
    };
    if form.password != form.password_again {
        return retry("The two passwords are not the same.");
    }
    let person = match state.services.register(&form.token, &form.password).await {
        Ok(person) => person,
        Err(e @ ServiceError::PasswordRejected(_)) => return retry(&e.to_string()),
        Err(e) => return error_page(e),
    };
    start_session(&state, &person, "/account/consent").await
}

/// A registration link that cannot be used, or the failure to check it.
fn link_not_valid(e: ServiceError) -> Response {
    match e {
        ServiceError::InvitationUnknown
        | ServiceError::InvitationExpired
        | ServiceError::AlreadyRegistered => {
            message_page(StatusCode::GONE, "Link not valid", &e.to_string())
        }
        e => error_page(e),
    }
}

async fn start_session(state: &AppState, person: &Person, next: &str) -> Response {
    match state.services.open_session(person).await {
        Ok(session) => (
            [(
                header::SET_COOKIE,
                session_cookie(&state.config, &session.token, session.lifetime_secs),
            )],
            Redirect::to(next),
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}

fn login_page(status: StatusCode, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    let body = format!(
        "{problem}<form method=\"post\" action=\"/login\">\
         <label>E-mail address<input type=\"email\" name=\"email\" autocomplete=\"username\" required></label>\
         <label>Password<input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Log in</button></form>"
    );
    (status, page("Log in", &body, None)).into_response()
}

async fn login_form() -> Response {
    login_page(StatusCode::OK, None)
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !from_this_site(&headers, &state.config) {
        return cross_site_refused();
    }
    match log_in(&state, client, &form.email, &form.password).await {
        Ok(session) => (
            [(
                header::SET_COOKIE,
                session_cookie(&state.config, &session.token, session.lifetime_secs),
            )],
            Redirect::to("/account"),
        )
            .into_response(),
        Err(e) if e.status.is_client_error() => login_page(e.status, Some(&e.message)),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused();
    }
    if let Err(e) = state.services.end_session(&session.token_hash).await {
        return error_page(e);
    }
    (
        [(header::SET_COOKIE, cleared_session_cookie(&state.config))],
        Redirect::to("/login"),
    )
        .into_response()
}

fn post_button(action: &str, csrf: &str, label: &str, class: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"inline\">{}<button type=\"submit\" class=\"{class}\">{}</button></form>",
        csrf_field(csrf),
        escape(label)
    )
}

async fn account(State(state): State<Arc<AppState>>, session: PageSession) -> Response {
    let overview = match state.services.account_overview(&session.person).await {
        Ok(overview) => overview,
        Err(e) => return error_page(e),
    };
    let person = &session.person;
    let consent_html = match &overview.consent {
        Some(consent) => format!(
            "<p>You consented to statement version <code>{}</code>.</p>{}{}",
            escape(&consent.statement_version),
            match overview.consent_lapses_at {
                Some(at) => format!(
                    "<p class=\"notice\" role=\"status\">The privacy statement has changed since you consented. \
                     Read it and consent again before {}, or your consent lapses and your facial vector is deleted.</p>\
                     <p><a class=\"button\" href=\"/account/consent\">Read the new statement</a></p>",
                    escape(&crate::requests::time_text(at))
                ),
                None => String::new(),
            },
            post_button(
                "/account/consent/withdraw",
                &session.csrf,
                "Withdraw consent (deletes your facial vector)",
                "danger"
            )
        ),
        None => "<p>You have not given consent. Without it, no facial vector is made or kept.</p>\
         <p><a class=\"button\" href=\"/account/consent\">Read the statement and decide</a></p>"
            .to_owned(),
    };
    let face_html = match (&overview.face, overview.consent.is_some()) {
        (Some(face), _) => format!(
            "<p>A facial vector is stored (model <code>{}</code>){}.</p><p><a class=\"button\" href=\"/account/enrol\">Renew it</a></p>{}",
            escape(face.model_version.as_str()),
            if face.renewal_needed { ": it was made by an older model, please renew it" } else { "" },
            post_button("/account/face/delete", &session.csrf, "Remove my facial vector", "danger")
        ),
        (None, true) => "<p>No facial vector is stored yet.</p><p><a class=\"button\" href=\"/account/enrol\">Enrol your face</a></p>".to_owned(),
        (None, false) => "<p>No facial vector is stored.</p>".to_owned(),
    };
    let body = format!(
        "<p>{first} {last}, {email} — {org}</p>\
         <section><h2>Consent</h2>{consent_html}</section>\
         <section><h2>Your face</h2>{face_html}</section>\
         <section><h2>Your data</h2><p><a href=\"/account/export\">Download everything Limen holds about you (JSON)</a></p>\
         <p><a href=\"/privacy/{org_id}\">Privacy statement</a></p></section>\
         <section><h2>Account</h2><p><a href=\"/account/password\">Change password</a></p>\
         <p><a href=\"/account/cancel\">Cancel my registration</a></p>{logout}</section>",
        first = escape(person.first_name.as_str()),
        last = escape(person.last_name.as_str()),
        email = escape(person.email.as_str()),
        org = escape(&overview.organisation.name),
        org_id = person.org_id,
        logout = post_button("/logout", &session.csrf, "Log out", ""),
    );
    page("Your account", &body, None).into_response()
}

fn consent_page(
    status: StatusCode,
    statement: &Statement,
    csrf: &str,
    problem: Option<&str>,
) -> Response {
    let problem = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    let body = format!(
        "{statement}{problem}<form method=\"post\" action=\"/account/consent\">{csrf}\
         <input type=\"hidden\" name=\"statement_version\" value=\"{version}\">\
         <label class=\"checkbox\"><input type=\"checkbox\" name=\"agree\" value=\"yes\"> I have read this statement and I consent \
         to Limen making and keeping a facial vector of me for entering the premises, as described above.</label>\
         <button type=\"submit\">Give consent</button> <a href=\"/account\">Not now</a></form>",
        statement = statement_html(statement),
        csrf = csrf_field(csrf),
        version = statement.version,
    );
    (status, page("Your consent", &body, None)).into_response()
}

async fn consent_form(State(state): State<Arc<AppState>>, session: PageSession) -> Response {
    match state.services.statement_for(&session.person).await {
        Ok(statement) => consent_page(StatusCode::OK, &statement, &session.csrf, None),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct ConsentForm {
    csrf: String,
    statement_version: String,
    agree: Option<String>,
}

async fn consent(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    Form(form): Form<ConsentForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused();
    }
    if form.agree.as_deref() != Some("yes") {
        return match state.services.statement_for(&session.person).await {
            Ok(statement) => consent_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &statement,
                &session.csrf,
                Some("Consent is only given by ticking the box. Nothing was recorded."),
            ),
            Err(e) => error_page(e),
        };
    }
    match state
        .services
        .give_consent(
            &session.person,
            &form.statement_version,
            "web form, unticked checkbox ticked",
        )
        .await
    {
        // Consenting again to a changed statement keeps the face: back to
        // the account. A first consent goes on to enrolment.
        Ok(_) => match state.services.account_overview(&session.person).await {
            Ok(overview) if overview.face.is_some() => Redirect::to("/account").into_response(),
            Ok(_) => Redirect::to("/account/enrol").into_response(),
            Err(e) => error_page(e),
        },
        Err(e) => error_page(e),
    }
}

async fn withdraw(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused();
    }
    match state.services.withdraw_consent(&session.person).await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(e) => error_page(e),
    }
}

async fn remove_face(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused();
    }
    match state.services.remove_vectors(&session.person).await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(e) => error_page(e),
    }
}

async fn export(State(state): State<Arc<AppState>>, session: PageSession) -> Response {
    match state.services.export(&session.person).await {
        Ok(data) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"limen-export.json\"",
                ),
            ],
            serde_json::to_string_pretty(&data).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}

fn password_page(status: StatusCode, csrf: &str, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    let body = format!(
        "{problem}<form method=\"post\" action=\"/account/password\">{csrf}\
         <label>Current password<input type=\"password\" name=\"current_password\" autocomplete=\"current-password\" required></label>\
         <label>New password (at least {min} characters)<input type=\"password\" name=\"new_password\" autocomplete=\"new-password\" required minlength=\"{min}\"></label>\
         <label>New password again<input type=\"password\" name=\"new_password_again\" autocomplete=\"new-password\" required></label>\
         <button type=\"submit\">Change password</button></form>",
        csrf = csrf_field(csrf),
        min = MIN_CHARS,
    );
    (status, page("Change password", &body, None)).into_response()
}

async fn password_form(session: PageSession) -> Response {
    password_page(StatusCode::OK, &session.csrf, None)
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    new_password_again: String,
}

async fn password(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused();
    }
    if form.new_password != form.new_password_again {
        return password_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &session.csrf,
            Some("The two new passwords are not the same."),
        );
    }
    match state
        .services
        .change_password(
            &session.person,
            &session.token_hash,
            &form.current_password,
            &form.new_password,
        )
        .await
        .map_err(ApiError::from)
    {
        Ok(()) => message_page(
            StatusCode::OK,
            "Password changed",
            "Your password was changed; your other sessions were ended.",
        ),
        Err(e) if e.status.is_client_error() => {
            password_page(e.status, &session.csrf, Some(&e.message))
        }
        Err(e) => error_page(e),
    }
}

async fn cancel_form(session: PageSession) -> Response {
    let body = format!(
        "<p>Cancelling deletes your account, your consent and your facial vector. A dated note that you cancelled \
         (nothing biometric) is kept as proof. You can be invited again later.</p>{}<p><a href=\"/account\">Keep my registration</a></p>",
        post_button(
            "/account/cancel",
            &session.csrf,
            "Cancel my registration",
            "danger"
        )
    );
    page("Cancel registration", &body, None).into_response()
}

async fn cancel(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused();
    }
    match state.services.cancel_registration(&session.person).await {
        Ok(()) => (
            [(header::SET_COOKIE, cleared_session_cookie(&state.config))],
            page(
                "Registration cancelled",
                "<p>Your account, consent and facial vector have been deleted.</p>",
                None,
            ),
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}
