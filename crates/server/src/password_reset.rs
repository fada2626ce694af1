//! A forgotten password: a link by e-mail, used once within the hour,
//! that sets a new password and ends every session. Asking for one says
//! the same whether or not the address has an account, takes as long
//! either way (the account is looked up and the e-mail sent after the
//! answer), and is limited per address and per client.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use limen_domain::{EmailAddress, Language};
use limen_services::password::{MAX_CHARS, MIN_CHARS};
use limen_services::{PASSWORD_RESET_SECS, PasswordReset, ServiceError};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{from_this_site, person_language};
use crate::client::Client;
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

async fn forgot_form(lang: Lang) -> Response {
    let t = lang.tr();
    render(
        StatusCode::OK,
        &ForgotPage {
            t,
            title: t.tr("forgot-title"),
        },
    )
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

async fn forgot(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    let t = lang.tr();
    if !from_this_site(&headers, &state.config) {
        return cross_site_refused(t);
    }
    let sent = message_page(
        t,
        StatusCode::OK,
        t.tr("forgot-sent-title"),
        t.tr("forgot-sent"),
    );
    let Ok(email) = EmailAddress::parse(&form.email) else {
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
    // Looked up and sent after the answer, which therefore takes as long
    // whether or not the address has an account.
    let state = state.clone();
    tokio::spawn(async move {
        let resets = match state.services.request_password_reset(&email).await {
            Ok(resets) => resets,
            Err(e) => {
                tracing::warn!(error = %e, "a password link could not be made");
                return;
            }
        };
        for reset in resets {
            if let Err(e) = send_link(&state, &reset).await {
                tracing::warn!(error = %e, "a password link was not sent");
            }
        }
    });
    sent
}

async fn send_link(
    state: &AppState,
    reset: &PasswordReset,
) -> Result<(), crate::mailer::MailError> {
    let link = format!(
        "{}/password/reset?token={}",
        state.config.public_url, reset.token
    );
    PasswordResetLink {
        name: reset.person.first_name.as_str(),
        reset_link: &link,
        minutes: u32::try_from(PASSWORD_RESET_SECS / 60).unwrap_or(u32::MAX),
    }
    .mail(Tr::new(reset.language))?
    .send(&state.mailer, reset.person.email.as_str())
    .await
}

/// The language of the person a link is for, as their pages have it.
async fn language_for(state: &AppState, person: &limen_domain::Person, headers: &HeaderMap) -> Tr {
    Tr::new(
        person_language(state, person, headers)
            .await
            .unwrap_or(Language::default()),
    )
}

fn reset_page(
    t: Tr,
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
            reset_page(t, StatusCode::OK, person.email.as_str(), &query.token, None)
        }
        Err(e) => error_page(lang.tr(), e),
    }
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    new_password: String,
    new_password_again: String,
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
    let retry = |problem: &str| {
        reset_page(
            t,
            StatusCode::UNPROCESSABLE_ENTITY,
            person.email.as_str(),
            &form.token,
            Some(problem),
        )
    };
    if form.new_password != form.new_password_again {
        return retry(&t.tr("passwords-new-differ"));
    }
    match state
        .services
        .reset_password(&form.token, &form.new_password)
        .await
    {
        Ok(person) => start_session(t, &state, &person, "/account").await,
        Err(e @ ServiceError::PasswordRejected(_)) => retry(&ApiError::from(e).text_in(t)),
        Err(e) => error_page(t, e),
    }
}
