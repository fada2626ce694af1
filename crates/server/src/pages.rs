//! The employee's pages: server-rendered HTML that works without
//! JavaScript (only the webcam capture needs it). Forms post back with the
//! session's CSRF token; the session lives in an HttpOnly, Secure,
//! SameSite=Strict cookie.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
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
use crate::views::{
    AccountPage, CancelPage, ConsentPage, ConsentView, FaceView, LoginPage, MessagePage,
    PasswordPage, PrivacyPage, RegisterPage, render,
};

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

pub(crate) fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    render(status, &MessagePage { title, message })
}

/// An error shown as a page, with the status the API would answer.
pub(crate) fn error_page(e: impl Into<ApiError>) -> Response {
    let e = e.into();
    message_page(e.status, "Something is not right", &e.message)
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

async fn privacy(State(state): State<Arc<AppState>>, Path(org): Path<String>) -> Response {
    let Ok(org) = OrgId::parse(&org) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such organisation.",
        );
    };
    match state.services.store().organisation(&org).await {
        Ok(Some(org)) => render(
            StatusCode::OK,
            &PrivacyPage {
                title: "Privacy statement",
                statement: &Statement::for_organisation(&org.name),
            },
        ),
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
    render(
        status,
        &RegisterPage {
            title: "Register",
            email,
            org: org.as_str(),
            token,
            problem,
            min: MIN_CHARS,
            max: MAX_CHARS,
        },
    )
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
    render(
        status,
        &LoginPage {
            title: "Log in",
            problem,
        },
    )
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

async fn account(State(state): State<Arc<AppState>>, session: PageSession) -> Response {
    let overview = match state.services.account_overview(&session.person).await {
        Ok(overview) => overview,
        Err(e) => return error_page(e),
    };
    render(
        StatusCode::OK,
        &AccountPage {
            title: "Your account",
            person: &session.person,
            organisation: &overview.organisation.name,
            csrf: &session.csrf,
            consent: overview.consent.as_ref().map(|consent| ConsentView {
                statement_version: consent.statement_version.clone(),
            }),
            consent_lapses_at: overview.consent_lapses_at.map(crate::requests::time_text),
            face: overview.face.as_ref().map(|face| FaceView {
                model_version: face.model_version.to_string(),
                renewal_needed: face.renewal_needed,
            }),
        },
    )
}

fn consent_page(
    status: StatusCode,
    statement: &Statement,
    csrf: &str,
    problem: Option<&str>,
) -> Response {
    render(
        status,
        &ConsentPage {
            title: "Your consent",
            statement,
            csrf,
            problem,
        },
    )
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
    render(
        status,
        &PasswordPage {
            title: "Change password",
            csrf,
            problem,
            min: MIN_CHARS,
        },
    )
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
    render(
        StatusCode::OK,
        &CancelPage {
            title: "Cancel registration",
            csrf: &session.csrf,
        },
    )
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
            message_page(
                StatusCode::OK,
                "Registration cancelled",
                "Your account, consent and facial vector have been deleted.",
            ),
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}
