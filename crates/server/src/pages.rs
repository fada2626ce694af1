//! The employee's pages: server-rendered HTML that works without
//! JavaScript (only the webcam capture needs it). Forms post back with the
//! session's CSRF token; the session lives in an HttpOnly, Secure,
//! SameSite=Strict cookie. Here the signed-in person's pages and what all
//! pages share; the ways in are `sign_in`'s.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use limen_domain::{Language, Statement};
use limen_services::password::MIN_CHARS;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{PageSession, cleared_session_cookie};
use crate::checked_form::CheckedForm;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::views::{
    AccountPage, ConfirmPage, ConsentPage, ConsentView, FaceView, MessagePage, PasswordPage, render,
};

const STYLESHEET: &str = include_str!("limen.css");

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/account") }))
        .route(
            "/static/limen.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLESHEET) }),
        )
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/account/consent", get(consent_form).post(consent))
        .route(
            "/account/consent/withdraw",
            get(withdraw_form).post(withdraw),
        )
        .route(
            "/account/face/delete",
            get(remove_face_form).post(remove_face),
        )
        .route("/account/export", get(export))
        .route("/account/language", post(choose_language))
        .route("/account/password", get(password_form).post(password))
        .route("/account/cancel", get(cancel_form).post(cancel))
}

pub(crate) fn message_page(t: Tr, status: StatusCode, title: String, message: String) -> Response {
    render(status, &MessagePage { t, title, message })
}

/// An error shown as a page, with the status the API would answer.
pub(crate) fn error_page(t: Tr, e: impl Into<ApiError>) -> Response {
    let e = e.into();
    message_page(t, e.status, t.tr("error-title"), e.text_in(t))
}

pub(crate) fn csrf_refused(t: Tr) -> Response {
    message_page(
        t,
        StatusCode::FORBIDDEN,
        t.tr("csrf-refused-title"),
        t.tr("csrf-refused"),
    )
}

pub(crate) fn cross_site_refused(t: Tr) -> Response {
    message_page(
        t,
        StatusCode::FORBIDDEN,
        t.tr("cross-site-title"),
        t.tr("cross-site"),
    )
}

async fn logout(
    State(state): State<Arc<AppState>>,
    CheckedForm { session, .. }: CheckedForm<PageSession>,
) -> Response {
    if let Err(e) = state.services.end_session(&session.token_hash).await {
        return error_page(session.t, e);
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
        Err(e) => return error_page(session.t, e),
    };
    render(
        StatusCode::OK,
        &AccountPage {
            t: session.t,
            title: session.t.tr("account-title"),
            person: &session.person,
            organisation: &overview.organisation.name,
            csrf: &session.csrf,
            consent: overview.consent.as_ref().map(|consent| ConsentView {
                statement_version: consent.statement_version.clone(),
                statement_language: language_in(session.t, consent.statement_language),
                given_at: crate::requests::time_text(consent.given_at),
            }),
            consent_lapses_at: overview.consent_lapses_at.map(crate::requests::time_text),
            face: overview.face.as_ref().map(|face| FaceView {
                model_version: face.model_version.to_string(),
                renewal_needed: face.renewal_needed,
            }),
            languages: Language::ALL
                .iter()
                .map(|language| (language.code(), Tr::new(*language).tr("language-name")))
                .collect(),
        },
    )
}

/// A language's name, as the page's language calls it.
fn language_in(t: Tr, language: Language) -> String {
    match language {
        Language::English => t.tr("language-english"),
        Language::Dutch => t.tr("language-dutch"),
    }
}

fn consent_page(
    t: Tr,
    status: StatusCode,
    statement: &Statement,
    csrf: &str,
    problem: Option<&str>,
) -> Response {
    render(
        status,
        &ConsentPage {
            t,
            title: t.tr("consent-title"),
            statement,
            csrf,
            problem,
        },
    )
}

async fn consent_form(State(state): State<Arc<AppState>>, session: PageSession) -> Response {
    match state
        .services
        .statement_for(&session.person, session.t.language())
        .await
    {
        Ok(statement) => consent_page(session.t, StatusCode::OK, &statement, &session.csrf, None),
        Err(e) => error_page(session.t, e),
    }
}

#[derive(Deserialize)]
struct ConsentForm {
    statement_version: String,
    agree: Option<String>,
}

async fn consent(
    State(state): State<Arc<AppState>>,
    CheckedForm { session, form }: CheckedForm<PageSession, ConsentForm>,
) -> Response {
    if form.agree.as_deref() != Some("yes") {
        return match state
            .services
            .statement_for(&session.person, session.t.language())
            .await
        {
            Ok(statement) => consent_page(
                session.t,
                StatusCode::UNPROCESSABLE_ENTITY,
                &statement,
                &session.csrf,
                Some(&session.t.tr("consent-box-unticked")),
            ),
            Err(e) => error_page(session.t, e),
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
            Err(e) => error_page(session.t, e),
        },
        Err(e) => error_page(session.t, e),
    }
}

async fn withdraw(
    State(state): State<Arc<AppState>>,
    CheckedForm { session, .. }: CheckedForm<PageSession>,
) -> Response {
    match state.services.withdraw_consent(&session.person).await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(e) => error_page(session.t, e),
    }
}

async fn remove_face(
    State(state): State<Arc<AppState>>,
    CheckedForm { session, .. }: CheckedForm<PageSession>,
) -> Response {
    match state.services.remove_vectors(&session.person).await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(e) => error_page(session.t, e),
    }
}

#[derive(Deserialize)]
struct LanguageForm {
    language: String,
}

async fn choose_language(
    State(state): State<Arc<AppState>>,
    CheckedForm { session, form }: CheckedForm<PageSession, LanguageForm>,
) -> Response {
    let Ok(language) = form.language.parse::<Language>() else {
        return error_page(session.t, ApiError::bad_request("unknown language"));
    };
    match state
        .services
        .choose_language(&session.person, language)
        .await
    {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => error_page(session.t, e),
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
        Err(e) => error_page(session.t, e),
    }
}

fn password_page(t: Tr, status: StatusCode, csrf: &str, problem: Option<&str>) -> Response {
    render(
        status,
        &PasswordPage {
            t,
            title: t.tr("password-title"),
            csrf,
            problem,
            min: MIN_CHARS,
        },
    )
}

async fn password_form(session: PageSession) -> Response {
    password_page(session.t, StatusCode::OK, &session.csrf, None)
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_again: String,
}

async fn password(
    State(state): State<Arc<AppState>>,
    CheckedForm { session, form }: CheckedForm<PageSession, PasswordForm>,
) -> Response {
    if form.new_password != form.new_password_again {
        return password_page(
            session.t,
            StatusCode::UNPROCESSABLE_ENTITY,
            &session.csrf,
            Some(&session.t.tr("passwords-new-differ")),
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
            session.t,
            StatusCode::OK,
            session.t.tr("password-changed-title"),
            session.t.tr("password-changed"),
        ),
        Err(e) if e.status.is_client_error() => password_page(
            session.t,
            e.status,
            &session.csrf,
            Some(&e.text_in(session.t)),
        ),
        Err(e) => error_page(session.t, e),
    }
}

/// The step that asks before `action` deletes something.
fn confirm_page(
    session: &PageSession,
    action: &'static str,
    title: String,
    explanation: String,
    submit: String,
) -> Response {
    render(
        StatusCode::OK,
        &ConfirmPage {
            t: session.t,
            title,
            explanation,
            action,
            submit,
            back: session.t.tr("confirm-back"),
            csrf: &session.csrf,
        },
    )
}

async fn withdraw_form(session: PageSession) -> Response {
    confirm_page(
        &session,
        "/account/consent/withdraw",
        session.t.tr("withdraw-title"),
        session.t.tr("withdraw-explained"),
        session.t.tr("withdraw-submit"),
    )
}

async fn remove_face_form(session: PageSession) -> Response {
    confirm_page(
        &session,
        "/account/face/delete",
        session.t.tr("remove-face-title"),
        session.t.tr("remove-face-explained"),
        session.t.tr("remove-face-submit"),
    )
}

async fn cancel_form(session: PageSession) -> Response {
    confirm_page(
        &session,
        "/account/cancel",
        session.t.tr("cancel-title"),
        session.t.tr("cancel-explained"),
        session.t.tr("cancel-submit"),
    )
}

async fn cancel(
    State(state): State<Arc<AppState>>,
    CheckedForm { session, .. }: CheckedForm<PageSession>,
) -> Response {
    match state.services.cancel_registration(&session.person).await {
        Ok(()) => (
            [(header::SET_COOKIE, cleared_session_cookie(&state.config))],
            message_page(
                session.t,
                StatusCode::OK,
                session.t.tr("cancelled-title"),
                session.t.tr("cancelled"),
            ),
        )
            .into_response(),
        Err(e) => error_page(session.t, e),
    }
}
