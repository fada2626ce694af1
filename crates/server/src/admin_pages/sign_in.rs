//! The admin's sign-in and sign-out, and the organisation's page they land
//! on: its admins, and a form to invite another.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use limen_domain::{AdminAccount, AdminId};
use serde::Deserialize;

use super::organisation::OrganisationSettings;
use super::{AdminNav, AdminPage, NavLink, admin_cookie_name};
use crate::AppState;
use crate::admins::{admin_log_in, invite_admin};
use crate::auth::{from_this_site, set_cookie};
use crate::bodies::AdminInvite;
use crate::client::Client;
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::pages::{cross_site_refused, csrf_refused, error_page};
use crate::views::render;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct AdminLoginPage<'a> {
    t: Tr,
    title: String,
    problem: Option<&'a str>,
}

fn login_page(t: Tr, status: StatusCode, problem: Option<&str>) -> Response {
    render(
        status,
        &AdminLoginPage {
            t,
            title: t.tr("admin-login-title"),
            problem,
        },
    )
}

pub(super) async fn login_form(lang: Lang) -> Response {
    login_page(lang.tr(), StatusCode::OK, None)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
}

pub(super) async fn login(
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
    match admin_log_in(&state, client, &form.email, &form.password).await {
        Ok(session) => (
            [(
                header::SET_COOKIE,
                set_cookie(
                    admin_cookie_name(&state.config),
                    &session.token,
                    session.lifetime_secs,
                ),
            )],
            Redirect::to("/admin"),
        )
            .into_response(),
        Err(e) if e.status.is_client_error() => login_page(t, e.status, Some(&e.text_in(t))),
        Err(e) => error_page(t, e),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    page: AdminPage,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !page.check_csrf(&form.csrf) {
        return csrf_refused(page.t);
    }
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

#[derive(Template)]
#[template(path = "admin/home.html")]
struct AdminHomePage<'a> {
    t: Tr,
    title: String,
    organisation: &'a str,
    csrf: &'a str,
    nav: AdminNav,
    admin_id: &'a AdminId,
    admins: &'a [AdminAccount],
    problem: Option<&'a str>,
    settings: &'a OrganisationSettings,
}

async fn home_page(
    state: &AppState,
    page: &AdminPage,
    status: StatusCode,
    problem: Option<&str>,
) -> Response {
    let admins = match state.services.admins(&page.admin.org).await {
        Ok(admins) => admins,
        Err(e) => return error_page(page.t, e),
    };
    let settings = match super::organisation::settings(state, page).await {
        Ok(settings) => settings,
        Err(e) => return error_page(page.t, e),
    };
    render(
        status,
        &AdminHomePage {
            t: page.t,
            title: page.organisation.clone(),
            organisation: &page.organisation,
            csrf: &page.csrf,
            nav: AdminNav::Organisation,
            admin_id: &page.admin_id,
            admins: &admins,
            problem,
            settings: &settings,
        },
    )
}

pub(super) async fn home(State(state): State<Arc<AppState>>, page: AdminPage) -> Response {
    home_page(&state, &page, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(super) struct InviteForm {
    csrf: String,
    email: String,
    name: String,
}

pub(super) async fn invite(
    State(state): State<Arc<AppState>>,
    page: AdminPage,
    Form(form): Form<InviteForm>,
) -> Response {
    if !page.check_csrf(&form.csrf) {
        return csrf_refused(page.t);
    }
    let invite = AdminInvite {
        email: form.email,
        name: form.name,
    };
    match invite_admin(&state, &page.admin, &invite).await {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(e) if e.status.is_client_error() => {
            let problem = e.text_in(page.t);
            home_page(&state, &page, e.status, Some(&problem)).await
        }
        Err(e) => error_page(page.t, e),
    }
}

impl AdminNav {
    /// The navigation's links, this section's marked current.
    pub fn links(self, t: &Tr) -> Vec<NavLink> {
        [
            (AdminNav::Organisation, "/admin", "admin-nav-organisation"),
            (AdminNav::People, "/admin/people", "admin-nav-people"),
            (
                AdminNav::Entrances,
                "/admin/entrances",
                "admin-nav-entrances",
            ),
            (AdminNav::Events, "/admin/events", "admin-nav-events"),
            (AdminNav::Audit, "/admin/audit", "admin-nav-audit"),
        ]
        .into_iter()
        .map(|(section, href, label)| NavLink {
            href,
            label: t.tr(label),
            current: section == self,
        })
        .collect()
    }
}
