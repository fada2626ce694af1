//! The organisation's page an admin lands on: its admins, a form to
//! invite another, and the admin's own two-step sign-in.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use limen_domain::{AdminAccount, AdminId};
use serde::Deserialize;

use super::settings::OrganisationSettings;
use super::{AdminNav, AdminPage};
use crate::AppState;
use crate::admins::invite_admin;
use crate::bodies::AdminInvite;
use crate::checked_form::CheckedForm;
use crate::i18n::Tr;
use crate::pages::error_page;
use crate::views::render;

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
    two_step_on: bool,
    invite_problem: Option<&'a str>,
    two_step_problem: Option<&'a str>,
    settings: &'a OrganisationSettings,
}

/// A form on the organisation's page that was refused, and why.
pub(super) enum Refused<'a> {
    Invite(&'a str),
    TwoStepOff(&'a str),
}

pub(super) async fn home_page(
    state: &AppState,
    page: &AdminPage,
    status: StatusCode,
    refused: Option<Refused<'_>>,
) -> Response {
    let admins = match state.services.admins(&page.admin.org).await {
        Ok(admins) => admins,
        Err(e) => return error_page(page.t, e),
    };
    let two_step_on = match state
        .services
        .two_step_on(&page.admin.org, &page.admin_id)
        .await
    {
        Ok(on) => on,
        Err(e) => return error_page(page.t, e),
    };
    let settings = match super::settings::settings(state, page).await {
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
            two_step_on,
            invite_problem: match refused {
                Some(Refused::Invite(problem)) => Some(problem),
                _ => None,
            },
            two_step_problem: match refused {
                Some(Refused::TwoStepOff(problem)) => Some(problem),
                _ => None,
            },
            settings: &settings,
        },
    )
}

pub(super) async fn home(State(state): State<Arc<AppState>>, page: AdminPage) -> Response {
    home_page(&state, &page, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(super) struct InviteForm {
    email: String,
    name: String,
}

pub(super) async fn invite(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, InviteForm>,
) -> Response {
    let invite = AdminInvite {
        email: form.email,
        name: form.name,
    };
    match invite_admin(&state, &page.admin, &invite).await {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(e) if e.status.is_client_error() => {
            let problem = e.text_in(page.t);
            home_page(&state, &page, e.status, Some(Refused::Invite(&problem))).await
        }
        Err(e) => error_page(page.t, e),
    }
}
