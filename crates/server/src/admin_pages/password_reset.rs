//! An admin's forgotten password: the employees' pages, rules, table and
//! e-mail (see `crate::password_reset`) for an admin's account. A new
//! password ends every session of the admin and leaves a second factor on:
//! signing in afterwards still asks for its code, so a mailbox alone does
//! not open the organisation.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use limen_domain::{Language, OrgId};

use crate::AppState;
use crate::auth::from_this_site;
use crate::client::Client;
use crate::i18n::{Lang, Tr};
use crate::mails::PasswordResetLink;
use crate::pages::{cross_site_refused, error_page};
use crate::password_reset::{
    ForgotForm, LINK_MINUTES, ResetForm, ResetPages, forgot_answer, forgot_page, link,
    new_password, reset_page, send,
};
use crate::sign_in::TokenQuery;

const ADMIN_PAGES: ResetPages = ResetPages {
    forgot: "/admin/password/forgot",
    reset: "/admin/password/reset",
    login: "/admin/login",
};

/// Where a used link sends the admin: the sign-in page, saying so.
const SIGN_IN_AFTER_RESET: &str = "/admin/login?password=changed";

pub(super) async fn forgot_form(lang: Lang) -> Response {
    forgot_page(lang.tr(), ADMIN_PAGES)
}

pub(super) async fn forgot(
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
        move |state, email| async move {
            let resets = match state.services.request_admin_password_reset(&email).await {
                Ok(resets) => resets,
                Err(e) => {
                    tracing::warn!(error = %e, "an admin's password link could not be made");
                    return;
                }
            };
            for reset in resets {
                let mail = PasswordResetLink {
                    name: reset.admin.name.as_str(),
                    reset_link: &link(&state, ADMIN_PAGES, &reset.token),
                    minutes: LINK_MINUTES,
                };
                // The language the admin asked in, else the organisation's: as
                // their pages have it.
                let t = lang.tr_of(reset.organisation.language);
                send(&state, mail, t, &reset.admin.email).await;
            }
        },
    )
}

/// The language of an admin's pages: their browser's, else their
/// organisation's.
async fn language_of(state: &AppState, lang: Lang, org: &OrgId) -> Tr {
    let organisation = super::organisation(state, org)
        .await
        .map_or(Language::default(), |o| o.language);
    lang.tr_of(organisation)
}

pub(super) async fn reset_form(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Query(query): Query<TokenQuery>,
) -> Response {
    match state.services.admin_password_reset_for(&query.token).await {
        Ok((org, admin)) => reset_page(
            language_of(&state, lang, &org).await,
            ADMIN_PAGES,
            StatusCode::OK,
            admin.email.as_str(),
            &query.token,
            None,
        ),
        Err(e) => error_page(lang.tr(), e),
    }
}

pub(super) async fn reset(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    if !from_this_site(&headers, &state.config) {
        return cross_site_refused(lang.tr());
    }
    let (org, admin) = match state.services.admin_password_reset_for(&form.token).await {
        Ok(found) => found,
        Err(e) => return error_page(lang.tr(), e),
    };
    let t = language_of(&state, lang, &org).await;
    let set = state
        .services
        .reset_admin_password(&form.token, &form.new_password);
    match new_password(t, ADMIN_PAGES, admin.email.as_str(), &form, set).await {
        Ok(_) => Redirect::to(SIGN_IN_AFTER_RESET).into_response(),
        Err(page) => page,
    }
}
