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
use limen_domain::{Language, OrgId, Person, Statement};
use limen_services::ServiceError;
use limen_services::password::{MAX_CHARS, MIN_CHARS};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{PageSession, cleared_session_cookie, from_this_site, session_cookie};
use crate::client::Client;
use crate::employee::log_in;
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::views::{
    AccountPage, ConfirmPage, ConsentPage, ConsentView, FaceView, LoginPage, MessagePage,
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

fn csrf_refused(t: Tr) -> Response {
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

fn no_such_organisation(t: Tr) -> Response {
    message_page(
        t,
        StatusCode::NOT_FOUND,
        t.tr("not-found-title"),
        t.tr("error-no-organisation"),
    )
}

async fn privacy(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Path(org): Path<String>,
) -> Response {
    let Ok(org) = OrgId::parse(&org) else {
        return no_such_organisation(lang.tr());
    };
    match state.services.store().organisation(&org).await {
        Ok(Some(org)) => {
            let t = lang.tr_of(org.language);
            render(
                StatusCode::OK,
                &PrivacyPage {
                    t,
                    title: t.tr("privacy-title"),
                    statement: &Statement::for_organisation(&org.name, t.language()),
                },
            )
        }
        Ok(None) => no_such_organisation(lang.tr()),
        Err(e) => error_page(lang.tr(), e),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

fn register_page(
    t: Tr,
    status: StatusCode,
    token: &str,
    email: &str,
    org: &OrgId,
    problem: Option<&str>,
) -> Response {
    render(
        status,
        &RegisterPage {
            t,
            title: t.tr("register-title"),
            email,
            org: org.as_str(),
            token,
            problem,
            min: MIN_CHARS,
            max: MAX_CHARS,
        },
    )
}

/// The person a registration link invites, and the language of their
/// pages; else the page that says why the link cannot be used.
async fn invited(state: &AppState, lang: &Lang, token: &str) -> Result<(Person, Tr), Response> {
    let person = match state.services.invitation_for(token).await {
        Ok(person) => person,
        Err(e) => return Err(link_not_valid(lang.tr(), e)),
    };
    match state.services.organisation_language(&person.org_id).await {
        Ok(language) => Ok((person, lang.tr_of(language))),
        Err(e) => Err(error_page(lang.tr(), e)),
    }
}

async fn register_form(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Query(query): Query<TokenQuery>,
) -> Response {
    match invited(&state, &lang, &query.token).await {
        Ok((person, t)) => register_page(
            t,
            StatusCode::OK,
            &query.token,
            person.email.as_str(),
            &person.org_id,
            None,
        ),
        Err(page) => page,
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
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    if !from_this_site(&headers, &state.config) {
        return cross_site_refused(lang.tr());
    }
    let (person, t) = match invited(&state, &lang, &form.token).await {
        Ok(invited) => invited,
        Err(page) => return page,
    };
    let retry = |problem: &str| {
        register_page(
            t,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.token,
            person.email.as_str(),
            &person.org_id,
            Some(problem),
        )
    };
    if form.password != form.password_again {
        return retry(&t.tr("passwords-differ"));
    }
    let person = match state.services.register(&form.token, &form.password).await {
        Ok(person) => person,
        Err(e @ ServiceError::PasswordRejected(_)) => {
            return retry(&ApiError::from(e).text_in(t));
        }
        Err(e) => return error_page(t, e),
    };
    start_session(t, &state, &person, "/account/consent").await
}

/// A registration link that cannot be used, or the failure to check it.
fn link_not_valid(t: Tr, e: ServiceError) -> Response {
    match e {
        ServiceError::InvitationUnknown
        | ServiceError::InvitationExpired
        | ServiceError::AlreadyRegistered => message_page(
            t,
            StatusCode::GONE,
            t.tr("link-not-valid-title"),
            ApiError::from(e).text_in(t),
        ),
        e => error_page(t, e),
    }
}

pub(crate) async fn start_session(
    t: Tr,
    state: &AppState,
    person: &Person,
    next: &str,
) -> Response {
    match state.services.open_session(person).await {
        Ok(session) => (
            [(
                header::SET_COOKIE,
                session_cookie(&state.config, &session.token, session.lifetime_secs),
            )],
            Redirect::to(next),
        )
            .into_response(),
        Err(e) => error_page(t, e),
    }
}

fn login_page(t: Tr, status: StatusCode, problem: Option<&str>) -> Response {
    render(
        status,
        &LoginPage {
            t,
            title: t.tr("login-title"),
            problem,
        },
    )
}

async fn login_form(lang: Lang) -> Response {
    login_page(lang.tr(), StatusCode::OK, None)
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let t = lang.tr();
    if !from_this_site(&headers, &state.config) {
        return cross_site_refused(t);
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
        Err(e) if e.status.is_client_error() => login_page(t, e.status, Some(&e.text_in(t))),
        Err(e) => error_page(t, e),
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
        return csrf_refused(session.t);
    }
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
        return csrf_refused(session.t);
    }
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
    session: PageSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused(session.t);
    }
    match state.services.withdraw_consent(&session.person).await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(e) => error_page(session.t, e),
    }
}

async fn remove_face(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused(session.t);
    }
    match state.services.remove_vectors(&session.person).await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(e) => error_page(session.t, e),
    }
}

#[derive(Deserialize)]
struct LanguageForm {
    csrf: String,
    language: String,
}

async fn choose_language(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    Form(form): Form<LanguageForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused(session.t);
    }
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
        return csrf_refused(session.t);
    }
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
    session: PageSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return csrf_refused(session.t);
    }
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
