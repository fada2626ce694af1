//! The admin's sign-in and sign-out.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{AdminPage, admin_cookie_name};
use crate::AppState;
use crate::admins::admin_log_in;
use crate::auth::set_cookie;
use crate::checked_form::CheckedForm;
use crate::client::Client;
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::pages::error_page;
use crate::sign_in::sign_in_answer;
use crate::views::render;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct AdminLoginPage<'a> {
    t: Tr,
    title: String,
    /// What just happened: a password changed through a link.
    notice: Option<String>,
    problem: Option<&'a str>,
}

fn login_page(t: Tr, status: StatusCode, problem: Option<&str>) -> Response {
    render(
        status,
        &AdminLoginPage {
            t,
            title: t.tr("admin-login-title"),
            notice: None,
            problem,
        },
    )
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    password: Option<String>,
}

pub(super) async fn login_form(lang: Lang, Query(query): Query<LoginQuery>) -> Response {
    let t = lang.tr();
    let changed = query.password.as_deref() == Some("changed");
    render(
        StatusCode::OK,
        &AdminLoginPage {
            t,
            title: t.tr("admin-login-title"),
            notice: changed.then(|| t.tr("admin-reset-done")),
            problem: None,
        },
    )
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    code: String,
}

pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let signed_in = async {
        let code = Some(form.code.as_str()).filter(|c| !c.trim().is_empty());
        let session = admin_log_in(&state, client, &form.email, &form.password, code).await?;
        Ok((session.token, session.lifetime_secs))
    };
    let cookie = admin_cookie_name(&state.config);
    sign_in_answer(
        &state,
        lang.tr(),
        &headers,
        (cookie, "/admin"),
        login_page,
        signed_in,
    )
    .await
}

pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    CheckedForm { session: page, .. }: CheckedForm<AdminPage>,
) -> Response {
    if let Err(e) = state
        .services
        .store()
        .delete_admin_session(&page.token_hash)
        .await
    {
        return error_page(page.t, ApiError::from(e));
    }
    (
        [(
            header::SET_COOKIE,
            set_cookie(admin_cookie_name(&state.config), "", 0),
        )],
        Redirect::to("/admin/login"),
    )
        .into_response()
}
