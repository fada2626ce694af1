//! Setting up, and turning off, an admin's authenticator app: the page
//! shows the secret once the set-up begins, and a code from the app
//! confirms it.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use limen_services::{ServiceError, TwoStepSetup};
use serde::Deserialize;

use super::organisation::{Refused, home_page};
use super::{AdminNav, AdminPage};
use crate::AppState;
use crate::checked_form::CheckedForm;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::pages::error_page;
use crate::views::render;

#[derive(Template)]
#[template(path = "admin/two_step.html")]
struct TwoStepPage<'a> {
    t: Tr,
    title: String,
    organisation: &'a str,
    csrf: &'a str,
    nav: AdminNav,
    setup: &'a TwoStepSetup,
    problem: Option<&'a str>,
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    code: String,
}

/// Begins the set-up (a fresh secret each time) and shows it.
pub(super) async fn begin(
    State(state): State<Arc<AppState>>,
    CheckedForm { session: page, .. }: CheckedForm<AdminPage>,
) -> Response {
    match state.services.begin_two_step(&page.admin).await {
        Ok(()) => Redirect::to("/admin/two-step").into_response(),
        Err(e) => error_page(page.t, e),
    }
}

async fn setup_page(
    state: &AppState,
    page: &AdminPage,
    status: StatusCode,
    problem: Option<&str>,
) -> Response {
    match state
        .services
        .pending_two_step(&page.admin, &page.organisation)
        .await
    {
        Ok(setup) => render(
            status,
            &TwoStepPage {
                t: page.t,
                title: page.t.tr("admin-two-step-title"),
                organisation: &page.organisation,
                csrf: &page.csrf,
                nav: AdminNav::Organisation,
                setup: &setup,
                problem,
            },
        ),
        // Nothing begun, or confirmed already: the organisation's page
        // says which and offers the next step.
        Err(ServiceError::TwoStepState) => Redirect::to("/admin").into_response(),
        Err(e) => error_page(page.t, e),
    }
}

pub(super) async fn show(State(state): State<Arc<AppState>>, page: AdminPage) -> Response {
    setup_page(&state, &page, StatusCode::OK, None).await
}

pub(super) async fn confirm(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, CodeForm>,
) -> Response {
    match state
        .services
        .confirm_two_step(&page.admin, &form.code)
        .await
    {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(e @ ServiceError::WrongCode) => {
            let problem = ApiError::from(e).text_in(page.t);
            setup_page(
                &state,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&problem),
            )
            .await
        }
        Err(e) => error_page(page.t, e),
    }
}

/// Turns it off; the organisation's page shows a wrong code.
pub(super) async fn end(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, CodeForm>,
) -> Response {
    match state.services.end_two_step(&page.admin, &form.code).await {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(e @ ServiceError::WrongCode) => {
            let error = ApiError::from(e);
            let problem = error.text_in(page.t);
            home_page(
                &state,
                &page,
                error.status,
                Some(Refused::TwoStepOff(&problem)),
            )
            .await
        }
        Err(e) => error_page(page.t, e),
    }
}
