//! The pages before a session: the privacy statement, registration with
//! an invitation, and logging in.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use limen_domain::{OrgId, Person, Statement};
use limen_services::ServiceError;
use limen_services::password::{MAX_CHARS, MIN_CHARS};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{from_this_site, session_cookie, session_cookie_name, set_cookie};
use crate::client::Client;
use crate::employee::log_in;
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::pages::{cross_site_refused, error_page, message_page};
use crate::views::{LoginPage, PrivacyPage, RegisterPage, render};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/privacy/{org}", get(privacy))
        .route("/register", get(register_form).post(register))
        .route("/login", get(login_form).post(login))
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

/// A link's token, as the e-mailed links carry it.
#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    pub token: String,
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

/// A registration form, an employee's or an admin's.
#[derive(Deserialize)]
pub(crate) struct RegisterForm {
    pub token: String,
    pub password: String,
    pub password_again: String,
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
pub(crate) fn link_not_valid(t: Tr, e: ServiceError) -> Response {
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
    let signed_in = async {
        let session = log_in(&state, client, &form.email, &form.password).await?;
        Ok((session.token, session.lifetime_secs))
    };
    let cookie = session_cookie_name(&state.config);
    sign_in_answer(
        &state,
        lang.tr(),
        &headers,
        (cookie, "/account"),
        login_page,
        signed_in,
    )
    .await
}

/// The answer to a sign-in form, an employee's or an admin's: refused if
/// posted from another site (before `signed_in` runs); else the new
/// session's token (and lifetime) in `cookie` and on to `next`, or the
/// form again (`form_page`) saying what was wrong.
pub(crate) async fn sign_in_answer(
    state: &AppState,
    t: Tr,
    headers: &HeaderMap,
    (cookie, next): (&str, &str),
    form_page: fn(Tr, StatusCode, Option<&str>) -> Response,
    signed_in: impl Future<Output = Result<(String, i64), ApiError>>,
) -> Response {
    if !from_this_site(headers, &state.config) {
        return cross_site_refused(t);
    }
    match signed_in.await {
        Ok((token, lifetime_secs)) => (
            [(
                header::SET_COOKIE,
                set_cookie(cookie, &token, lifetime_secs),
            )],
            Redirect::to(next),
        )
            .into_response(),
        Err(e) if e.status.is_client_error() => form_page(t, e.status, Some(&e.text_in(t))),
        Err(e) => error_page(t, e),
    }
}
