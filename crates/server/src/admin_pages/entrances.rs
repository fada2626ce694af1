//! `/admin/entrances`: the organisation's entrances and their cameras.
//! Create, rename, delete; the connector's "send a test"; cameras added
//! (their token shown once, in the answer to the form), revoked, and how
//! each is doing: last seen, frames in the last hour, up or down. The same
//! functions as the admin API's handlers.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use limen_domain::{ConnectorKind, DeviceId, DeviceStatus, Entrance};
use serde::Deserialize;

use super::time::{local_time, zone_name};
use super::{AdminNav, AdminPage};
use crate::AppState;
use crate::bodies::{ConnectorBody, ConnectorChange, NewEntrance, entrance_name};
use crate::checked_form::CheckedForm;
use crate::entrances::{
    ConnectorTest, add_device, add_entrance, entrance_id, remove_entrance, test_connector,
};
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::pages::error_page;
use crate::views::render;

const PAGE: &str = "/admin/entrances";

#[derive(Template)]
#[template(path = "admin/entrances.html")]
struct EntrancesPage<'a> {
    t: Tr,
    title: String,
    organisation: &'a str,
    csrf: &'a str,
    nav: AdminNav,
    entrances: Vec<EntranceView>,
    /// A camera just added: its token, shown this once.
    new_device: Option<NewDevice>,
    /// What the access system said to a test just sent.
    tested: Option<String>,
    problem: Option<&'a str>,
    /// Which zone the times are in.
    times_in: String,
}

struct EntranceView {
    id: String,
    name: String,
    /// The connector, as the admin reads it.
    connector: String,
    /// An HTTP connector's URL, to change (its secret is never shown).
    url: Option<String>,
    devices: Vec<DeviceView>,
}

struct DeviceView {
    id: String,
    added: String,
    last_seen: String,
    frames_last_hour: u64,
    up: bool,
}

struct NewDevice {
    entrance: String,
    token: String,
}

/// What a form's answer adds to the page.
#[derive(Default)]
struct Outcome<'a> {
    new_device: Option<NewDevice>,
    tested: Option<String>,
    problem: Option<&'a str>,
}

async fn page_with(
    state: &AppState,
    page: &AdminPage,
    status: StatusCode,
    outcome: Outcome<'_>,
) -> Response {
    let entrances = match views(state, page).await {
        Ok(entrances) => entrances,
        Err(e) => return error_page(page.t, e),
    };
    render(
        status,
        &EntrancesPage {
            t: page.t,
            title: page.t.tr("admin-entrances-title"),
            organisation: &page.organisation,
            csrf: &page.csrf,
            nav: AdminNav::Entrances,
            entrances,
            new_device: outcome.new_device,
            tested: outcome.tested,
            problem: outcome.problem,
            times_in: page
                .t
                .tr1("admin-entrances-times", "zone", zone_name(&page.zone)),
        },
    )
}

async fn views(state: &AppState, page: &AdminPage) -> Result<Vec<EntranceView>, ApiError> {
    let t = page.t;
    let mut views = Vec::new();
    for entrance in state.services.store().entrances(&page.admin.org).await? {
        let devices = state
            .services
            .devices(&page.admin, &entrance.id, state.config.device_down_after)
            .await?
            .unwrap_or_default();
        views.push(EntranceView {
            id: entrance.id.as_str().to_owned(),
            connector: match (&entrance.connector, &entrance.url) {
                (ConnectorKind::Http, Some(url)) => {
                    t.tr1("admin-entrances-connector-http", "url", url.as_str())
                }
                _ => t.tr("admin-entrances-connector-osdp"),
            },
            url: entrance.url.clone(),
            name: entrance.name,
            devices: devices
                .into_iter()
                .map(|device| DeviceView {
                    id: device.id.as_str().to_owned(),
                    added: local_time(device.created_at, &page.zone),
                    last_seen: device.last_seen.map_or_else(
                        || t.tr("admin-entrances-never"),
                        |at| local_time(at, &page.zone),
                    ),
                    frames_last_hour: device.frames_last_hour,
                    up: device.status == DeviceStatus::Up,
                })
                .collect(),
        });
    }
    Ok(views)
}

pub(super) async fn entrances(State(state): State<Arc<AppState>>, page: AdminPage) -> Response {
    page_with(&state, &page, StatusCode::OK, Outcome::default()).await
}

/// After a form: back to the page (303), or the page again with what was
/// wrong with the form.
async fn answer(state: &AppState, page: &AdminPage, done: Result<(), ApiError>) -> Response {
    match done {
        Ok(()) => Redirect::to(PAGE).into_response(),
        Err(e) if e.status.is_client_error() => {
            let problem = e.text_in(page.t);
            page_with(
                state,
                page,
                e.status,
                Outcome {
                    problem: Some(&problem),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) => error_page(page.t, e),
    }
}

/// A change that found nothing to change was asked of something that is
/// not the organisation's.
fn found(changed: bool) -> Result<(), ApiError> {
    if changed {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

#[derive(Deserialize)]
pub(super) struct NewEntranceForm {
    name: String,
    connector: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
}

pub(super) async fn create(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, NewEntranceForm>,
) -> Response {
    let connector = if form.connector == "http" {
        ConnectorBody::Http {
            url: form.url,
            secret: form.secret,
        }
    } else {
        ConnectorBody::Osdp
    };
    let body = NewEntrance {
        name: form.name,
        connector,
    };
    let created = add_entrance(&state, &page.admin, &body).await.map(|_| ());
    answer(&state, &page, created).await
}

#[derive(Deserialize)]
pub(super) struct RenameForm {
    name: String,
}

pub(super) async fn rename(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, RenameForm>,
) -> Response {
    let renamed = async {
        let entrance = entrance_id(&id)?;
        let name = entrance_name(&form.name)?;
        found(
            state
                .services
                .rename_entrance(&page.admin, &entrance, &name)
                .await?,
        )
    }
    .await;
    answer(&state, &page, renamed).await
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    /// The box that says what deleting does, ticked.
    confirm: Option<String>,
}

pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, DeleteForm>,
) -> Response {
    let deleted = async {
        let entrance = entrance_id(&id)?;
        if form.confirm.as_deref() != Some("yes") {
            return Err(ApiError::unprocessable("the deletion was not confirmed")
                .with_text(crate::i18n::Text::new("admin-entrances-confirm-needed")));
        }
        found(remove_entrance(&state, &page.admin, &entrance).await?)
    }
    .await;
    answer(&state, &page, deleted).await
}

/// The connector's form: the URL shown as it is, the secret left empty
/// to keep the current one.
#[derive(Deserialize)]
pub(super) struct ConnectorForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
}

pub(super) async fn change_connector(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, ConnectorForm>,
) -> Response {
    let changed = async {
        let entrance = entrance_id(&id)?;
        let change = ConnectorChange {
            url: Some(form.url),
            secret: Some(form.secret).filter(|secret| !secret.is_empty()),
        };
        found(crate::entrances::change_connector(&state, &page.admin, &entrance, &change).await?)
    }
    .await;
    answer(&state, &page, changed).await
}

pub(super) async fn test(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CheckedForm { session: page, .. }: CheckedForm<AdminPage>,
) -> Response {
    let entrance = match find(&state, &page, &id).await {
        Ok(entrance) => entrance,
        Err(e) => return answer(&state, &page, Err(e)).await,
    };
    let t = page.t;
    let name = entrance.name.as_str();
    let tested = match test_connector(&state, &entrance).await {
        ConnectorTest::Accepted { status } => t.tr2(
            "admin-entrances-test-accepted",
            "entrance",
            name,
            "status",
            u32::from(status),
        ),
        ConnectorTest::Refused { status } => t.tr2(
            "admin-entrances-test-refused",
            "entrance",
            name,
            "status",
            u32::from(status),
        ),
        // An OSDP entrance has no test button; asked anyway, there is no
        // access system to answer.
        ConnectorTest::NoAnswer | ConnectorTest::Osdp => {
            t.tr1("admin-entrances-test-no-answer", "entrance", name)
        }
    };
    page_with(
        &state,
        &page,
        StatusCode::OK,
        Outcome {
            tested: Some(tested),
            ..Outcome::default()
        },
    )
    .await
}

async fn find(state: &AppState, page: &AdminPage, id: &str) -> Result<Entrance, ApiError> {
    state
        .services
        .store()
        .entrance(&page.admin.org, &entrance_id(id)?)
        .await?
        .ok_or_else(ApiError::not_found)
}

pub(super) async fn add_camera(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CheckedForm { session: page, .. }: CheckedForm<AdminPage>,
) -> Response {
    let added = async {
        let entrance = find(&state, &page, &id).await?;
        let (_, token) = add_device(&state, &page.admin, &entrance.id).await?;
        Ok::<_, ApiError>(NewDevice {
            entrance: entrance.name,
            token,
        })
    }
    .await;
    match added {
        // The token is in this answer only: never in a URL to redirect to.
        Ok(device) => {
            page_with(
                &state,
                &page,
                StatusCode::CREATED,
                Outcome {
                    new_device: Some(device),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) => answer(&state, &page, Err(e)).await,
    }
}

pub(super) async fn revoke_camera(
    State(state): State<Arc<AppState>>,
    Path((id, device)): Path<(String, String)>,
    CheckedForm { session: page, .. }: CheckedForm<AdminPage>,
) -> Response {
    let revoked = async {
        let entrance = entrance_id(&id)?;
        let device = DeviceId::parse(&device).map_err(|_| ApiError::not_found())?;
        found(
            state
                .services
                .revoke_device(&page.admin, &entrance, &device)
                .await?,
        )
    }
    .await;
    answer(&state, &page, revoked).await
}
