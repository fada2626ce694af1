//! A forgotten password: a link by e-mail, used once within the hour,
//! that sets a new password and ends every session. Asking for one says
//! the same whether or not the address has an account, takes as long
//! either way (the account is looked up and the e-mail sent after the
//! answer), and is limited per address and per client.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use limen_domain::{EmailAddress, Language};
use limen_services::password::{MAX_CHARS, MIN_CHARS};
use limen_services::{PASSWORD_RESET_SECS, ServiceError};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{from_this_site, person_language};
use crate::client::{Client, ClientGroup};
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::mails::PasswordResetLink;
use crate::pages::{cross_site_refused, error_page, message_page};
use crate::sign_in::{TokenQuery, start_session};
use crate::views::{ForgotPage, ResetPage, render};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/password/forgot", get(forgot_form).post(forgot))
        .route("/password/reset", get(reset_form).post(reset))
}

/// Where an account's password pages are: an employee's or an admin's.
/// The two share the pages, the rules and the e-mail.
#[derive(Clone, Copy)]
pub(crate) struct ResetPages {
    pub forgot: &'static str,
    pub reset: &'static str,
    pub login: &'static str,
}

const EMPLOYEE_PAGES: ResetPages = ResetPages {
    forgot: "/password/forgot",
    reset: "/password/reset",
    login: "/login",
};

pub(crate) fn forgot_page(t: Tr, pages: ResetPages) -> Response {
    render(
        StatusCode::OK,
        &ForgotPage {
            t,
            title: t.tr("forgot-title"),
            pages,
        },
    )
}

async fn forgot_form(lang: Lang) -> Response {
    forgot_page(lang.tr(), EMPLOYEE_PAGES)
}

/// The "forgot your password?" form, an employee's or an admin's.
#[derive(Deserialize)]
pub(crate) struct ForgotForm {
    pub email: String,
}

async fn forgot(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    forgot_answer(
        state,
        lang.tr(),
        client,
        &headers,
        &form.email,
        |state, email| async move {
            let resets = match state.services.request_password_reset(&email).await {
                Ok(resets) => resets,
                Err(e) => {
                    tracing::warn!(error = %e, "a password link could not be made");
                    return;
                }
            };
            for reset in resets {
                let mail = PasswordResetLink {
                    name: reset.person.first_name.as_str(),
                    reset_link: &link(&state, EMPLOYEE_PAGES, &reset.token),
                    minutes: LINK_MINUTES,
                };
                send(&state, mail, Tr::new(reset.language), &reset.person.email).await;
            }
        },
    )
}

/// How long a password link works, as its e-mail says.
pub(crate) const LINK_MINUTES: u32 = (PASSWORD_RESET_SECS / 60) as u32;

/// The answer to "forgot your password?", an employee's or an admin's: the
/// same whether or not the address has an account, and as quick, since
/// `make_and_send` (the accounts looked up, links made and mailed) runs
/// after it; limited per address and per client.
pub(crate) fn forgot_answer<F>(
    state: Arc<AppState>,
    t: Tr,
    client: ClientGroup,
    headers: &HeaderMap,
    email: &str,
    make_and_send: impl FnOnce(Arc<AppState>, EmailAddress) -> F,
) -> Response
where
    F: Future<Output = ()> + Send + 'static,
{
    if !from_this_site(headers, &state.config) {
        return cross_site_refused(t);
    }
    let sent = message_page(
        t,
        StatusCode::OK,
        t.tr("forgot-sent-title"),
        t.tr("forgot-sent"),
    );
    let Ok(email) = EmailAddress::parse(email) else {
        return sent;
    };
    // Both limits are counted on every request, so that neither answers
    // differently for addresses with an account.
    let address_allowed = state.reset_address_limiter.allow(email.as_str());
    let client_allowed = state.reset_client_limiter.allow(&client.to_string());
    if !(address_allowed && client_allowed) {
        tracing::info!("a password link was asked for too often; none sent");
        return sent;
    }
    tokio::spawn(make_and_send(state, email));
    sent
}

/// A password link's URL.
pub(crate) fn link(state: &AppState, pages: ResetPages, token: &str) -> String {
    format!("{}{}?token={token}", state.config.public_url, pages.reset)
}

/// Sends a password link, a failure logged (the answer has gone).
pub(crate) async fn send(state: &AppState, mail: PasswordResetLink<'_>, t: Tr, to: &EmailAddress) {
    let sent = match mail.mail(t) {
        Ok(mail) => mail.send(&state.mailer, to.as_str()).await,
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "a password link was not sent");
    }
}

/// The language of the person a link is for, as their pages have it.
async fn language_for(state: &AppState, person: &limen_domain::Person, headers: &HeaderMap) -> Tr {
    Tr::new(
        person_language(state, person, headers)
            .await
            .unwrap_or(Language::default()),
    )
}

pub(crate) fn reset_page(
    t: Tr,
    pages: ResetPages,
    status: StatusCode,
    email: &str,
    token: &str,
    problem: Option<&str>,
) -> Response {
    render(
        status,
        &ResetPage {
            t,
            title: t.tr("reset-title"),
            pages,
            email,
            token,
            problem,
            min: MIN_CHARS,
            max: MAX_CHARS,
        },
    )
}

async fn reset_form(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    match state.services.password_reset_for(&query.token).await {
        Ok(person) => {
            let t = language_for(&state, &person, &headers).await;
            reset_page(
                t,
                EMPLOYEE_PAGES,
                StatusCode::OK,
                person.email.as_str(),
                &query.token,
                None,
            )
        }
        Err(e) => error_page(lang.tr(), e),
    }
}

#[derive(Deserialize)]
pub(crate) struct ResetForm {
    pub token: String,
    pub new_password: String,
    pub new_password_again: String,
}

async fn reset(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    if !from_this_site(&headers, &state.config) {
        return cross_site_refused(lang.tr());
    }
    let person = match state.services.password_reset_for(&form.token).await {
        Ok(person) => person,
        Err(e) => return error_page(lang.tr(), e),
    };
    let t = language_for(&state, &person, &headers).await;
    let set = state
        .services
        .reset_password(&form.token, &form.new_password);
    match new_password(t, EMPLOYEE_PAGES, person.email.as_str(), &form, set).await {
        Ok(person) => start_session(t, &state, &person, "/account").await,
        Err(page) => page,
    }
}

/// A new password from a link's form, an employee's or an admin's, for
/// the account of `email`: typed twice alike, then `set` (which checks it
/// against the password rules); else the form again saying why, or the
/// page of what went wrong.
pub(crate) async fn new_password<T>(
    t: Tr,
    pages: ResetPages,
    email: &str,
    form: &ResetForm,
    set: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, Response> {
    let retry = |problem: &str| {
        reset_page(
            t,
            pages,
            StatusCode::UNPROCESSABLE_ENTITY,
            email,
            &form.token,
            Some(problem),
        )
    };
    if form.new_password != form.new_password_again {
        return Err(retry(&t.tr("passwords-new-differ")));
    }
    match set.await {
        Ok(done) => Ok(done),
        Err(e @ ServiceError::PasswordRejected(_)) => Err(retry(&ApiError::from(e).text_in(t))),
        Err(e) => Err(error_page(t, e)),
    }
}
