//! The page an invited admin's e-mailed link opens, to choose a password.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use limen_domain::AdminAccount;
use limen_services::ServiceError;
use limen_services::password::{MAX_CHARS, MIN_CHARS};

use super::organisation;
use crate::AppState;
use crate::auth::from_this_site;
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::pages::{cross_site_refused, error_page, message_page};
use crate::sign_in::{RegisterForm, TokenQuery, link_not_valid};
use crate::views::{AdminRegisterPage, render};

/// The admin a link is for, with their organisation's name, in its language.
async fn invited(
    state: &AppState,
    lang: &Lang,
    token: &str,
) -> Result<(AdminAccount, String, Tr), Response> {
    let (org, admin) = match state.services.admin_invitation_for(token).await {
        Ok(invited) => invited,
        Err(e) => return Err(link_not_valid(lang.tr(), e)),
    };
    match organisation(state, &org).await {
        Ok(organisation) => Ok((admin, organisation.name, lang.tr_of(organisation.language))),
        Err(e) => Err(error_page(lang.tr(), e)),
    }
}

fn register_page(
    t: Tr,
    status: StatusCode,
    organisation: &str,
    admin: &AdminAccount,
    token: &str,
    problem: Option<&str>,
) -> Response {
    render(
        status,
        &AdminRegisterPage {
            t,
            title: t.tr1("admin-register-title", "organisation", organisation),
            email: admin.email.as_str(),
            token,
            problem,
            min: MIN_CHARS,
            max: MAX_CHARS,
        },
    )
}

pub(super) async fn register_form(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Query(query): Query<TokenQuery>,
) -> Response {
    match invited(&state, &lang, &query.token).await {
        Ok((admin, organisation, t)) => {
            register_page(t, StatusCode::OK, &organisation, &admin, &query.token, None)
        }
        Err(page) => page,
    }
}

pub(super) async fn register(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    if !from_this_site(&headers, &state.config) {
        return cross_site_refused(lang.tr());
    }
    let (admin, organisation, t) = match invited(&state, &lang, &form.token).await {
        Ok(invited) => invited,
        Err(page) => return page,
    };
    let retry = |problem: &str| {
        register_page(
            t,
            StatusCode::UNPROCESSABLE_ENTITY,
            &organisation,
            &admin,
            &form.token,
            Some(problem),
        )
    };
    if form.password != form.password_again {
        return retry(&t.tr("passwords-differ"));
    }
    match state
        .services
        .register_admin(&form.token, &form.password)
        .await
    {
        Ok(_) => message_page(
            t,
            StatusCode::OK,
            t.tr("admin-registered-title"),
            t.tr1("admin-registered", "organisation", organisation.as_str()),
        ),
        Err(e @ ServiceError::PasswordRejected(_)) => retry(&ApiError::from(e).text_in(t)),
        Err(e) => link_not_valid(t, e),
    }
}
