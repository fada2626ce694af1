//! Entrances, their camera devices and the decision events (admin API).
//! The devices' own endpoints are in `frames`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use limen_access::http::SharedSecret;
use limen_domain::{
    ConnectorKind, DecisionEvent, Device, DeviceId, Entrance, EntranceId, OrgAdmin,
};
use limen_store::NewConnector;
use limen_store::token::new_token;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use crate::AppState;
use crate::access_clients::{access_system, build_access_system, with_causes};
use crate::auth::Admin;
use crate::bodies::{ConnectorBody, ConnectorChange, EntranceRename, NewEntrance, shared_secret};
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::i18n::Text;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_entrance, list_entrances))
        .routes(routes!(rename_entrance, delete_entrance))
        .routes(routes!(change_entrance_connector))
        .routes(routes!(test_entrance))
        .routes(routes!(create_device, list_devices))
        .routes(routes!(revoke_device))
        .routes(routes!(entrance_events))
        .routes(routes!(all_events))
}

pub(crate) fn entrance_id(text: &str) -> Result<EntranceId, ApiError> {
    EntranceId::parse(text).map_err(|_| ApiError::not_found())
}

/// Makes an entrance. Its connector says how a match reaches the access
/// system: the camera agent as an OSDP reader, or Limen calling the
/// access system over HTTP (signed with the secret, Standard Webhooks).
#[utoipa::path(
    post,
    path = "/api/v1/entrances",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    request_body(content = NewEntrance, examples(
        ("HTTP" = (value = json!({ "name": "Main door", "connector": { "type": "http", "url": "https://acs.example.com/limen", "secret": "whsec_mWfp8eMlr6r/5wLRC1cywhFM+nMCfFSpxBNjqDqhkMM=" } }))),
        ("OSDP" = (value = json!({ "name": "Garage", "connector": { "type": "osdp" } }))),
    )),
    responses(
        (status = 201, description = "Made", body = Entrance, example = json!({
            "id": "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f", "org_id": "4f1c2b7e9a0d4c3b8e6f1a2b3c4d5e6f", "name": "Main door",
            "connector": "http", "url": "https://acs.example.com/limen", "liveness": "monitor", "created_at": 1767000000
        })),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 422, description = "Not a name, a URL the connector cannot use, or not a secret", body = ErrorBody),
    ),
)]
async fn create_entrance(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<NewEntrance>,
) -> Result<(StatusCode, Json<Entrance>), ApiError> {
    let entrance = add_entrance(&state, &admin, &body).await?;
    Ok((StatusCode::CREATED, Json(entrance)))
}

/// Creates an entrance as the API and the pages are asked to: its name
/// checked and its HTTP connector built once, so that a URL the connector
/// cannot use is refused now rather than at the first passage.
pub(crate) async fn add_entrance(
    state: &AppState,
    admin: &OrgAdmin,
    body: &NewEntrance,
) -> Result<Entrance, ApiError> {
    let name = body.checked_name()?;
    let secret = match body.connector.http()? {
        None => None,
        Some((url, shared)) => {
            let key = Zeroizing::new(shared.key().to_vec());
            check_connector(state, url, shared).await?;
            Some(key)
        }
    };
    let connector = match (&body.connector, &secret) {
        (ConnectorBody::Http { url, .. }, Some(secret)) => NewConnector::Http {
            url,
            secret: secret.as_slice(),
        },
        _ => NewConnector::Osdp,
    };
    Ok(state
        .services
        .create_entrance(admin, &name, &connector)
        .await?)
}

/// Builds an HTTP connector once, so that a URL it cannot use is refused
/// when it is given rather than at the first passage.
async fn check_connector(
    state: &AppState,
    url: &str,
    secret: SharedSecret,
) -> Result<(), ApiError> {
    build_access_system(state, url.to_owned(), secret)
        .await?
        .map_err(|e| {
            ApiError::unprocessable(format!("connector url: {e}"))
                .with_text(Text::new("admin-entrances-url-invalid"))
        })?;
    Ok(())
}

/// Changes an HTTP entrance's URL and/or secret as the API and the pages
/// are asked to, checked as at creation (the URL with the secret it will
/// be used with); its cameras and their tokens stay. False if the
/// organisation has no such entrance.
pub(crate) async fn change_connector(
    state: &AppState,
    admin: &OrgAdmin,
    entrance: &EntranceId,
    change: &ConnectorChange,
) -> Result<bool, ApiError> {
    let store = state.services.store();
    let Some(current) = store.entrance(&admin.org, entrance).await? else {
        return Ok(false);
    };
    let Some(current_url) = current.url.as_deref() else {
        return Err(ApiError::unprocessable(
            "an OSDP entrance has no connector settings to change",
        )
        .with_text(Text::new("admin-entrances-osdp-no-settings")));
    };
    let url = change.url.as_deref().unwrap_or(current_url);
    let new_secret = change.secret.as_deref().map(shared_secret).transpose()?;
    let used = match &new_secret {
        Some(secret) => secret.clone(),
        None => store
            .entrance_secret(&current)
            .await?
            .and_then(|key| SharedSecret::from_key(key.to_vec()).ok())
            .ok_or_else(ApiError::internal)?,
    };
    check_connector(state, url, used).await?;
    let secret = new_secret.as_ref().map(SharedSecret::key);
    Ok(state
        .services
        .change_connector(admin, entrance, url, secret)
        .await?)
}

/// Changes an HTTP entrance's connector: a new URL, a new secret, or
/// both. The secret is never shown back.
#[utoipa::path(
    patch,
    path = "/api/v1/entrances/{id}/connector",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = EntranceId, Path, description = "The entrance")),
    request_body(content = ConnectorChange, example = json!({ "url": "https://acs2.example.com/limen", "secret": "whsec_mWfp8eMlr6r/5wLRC1cywhFM+nMCfFSpxBNjqDqhkMM=" })),
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such entrance in the organisation", body = ErrorBody),
        (status = 422, description = "An OSDP entrance, a URL the connector cannot use, or not a secret", body = ErrorBody),
    ),
)]
async fn change_entrance_connector(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConnectorChange>,
) -> Result<StatusCode, ApiError> {
    if !change_connector(&state, &admin, &entrance_id(&id)?, &body).await? {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's entrances (never an HTTP connector's secret).
#[utoipa::path(
    get,
    path = "/api/v1/entrances",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The entrances", body = Vec<Entrance>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn list_entrances(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Vec<Entrance>>, ApiError> {
    Ok(Json(state.services.store().entrances(&admin.org).await?))
}

/// Renames an entrance.
#[utoipa::path(
    patch,
    path = "/api/v1/entrances/{id}",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = EntranceId, Path, description = "The entrance")),
    request_body = EntranceRename,
    responses(
        (status = 204, description = "Renamed"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such entrance in the organisation", body = ErrorBody),
        (status = 422, description = "Not a usable name", body = ErrorBody),
    ),
)]
async fn rename_entrance(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EntranceRename>,
) -> Result<StatusCode, ApiError> {
    let entrance = entrance_id(&id)?;
    let name = body.checked_name()?;
    if !state
        .services
        .rename_entrance(&admin, &entrance, &name)
        .await?
    {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an entrance with its devices; its decision events stay.
#[utoipa::path(
    delete,
    path = "/api/v1/entrances/{id}",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = EntranceId, Path, description = "The entrance")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such entrance in the organisation", body = ErrorBody),
    ),
)]
async fn delete_entrance(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !remove_entrance(&state, &admin, &entrance_id(&id)?).await? {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes one of the admin's entrances and forgets its connector; false
/// if there is no such entrance.
pub(crate) async fn remove_entrance(
    state: &AppState,
    admin: &OrgAdmin,
    entrance: &EntranceId,
) -> Result<bool, ApiError> {
    let deleted = state.services.delete_entrance(admin, entrance).await?;
    if deleted {
        state.access_clients.forget(entrance);
    }
    Ok(deleted)
}

/// Sends the entrance's access system a signed test event that names
/// nobody, and says how it answered.
#[utoipa::path(
    post,
    path = "/api/v1/entrances/{id}/test",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = EntranceId, Path, description = "The entrance")),
    responses(
        (status = 200, description = "The access system's answer", body = ConnectorTest,
            example = json!({ "result": "accepted", "status": 200 })),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such entrance in the organisation", body = ErrorBody),
    ),
)]
async fn test_entrance(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<ConnectorTest>, ApiError> {
    let entrance = state
        .services
        .store()
        .entrance(&admin.org, &entrance_id(&id)?)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(test_connector(&state, &entrance).await))
}

/// What an entrance's access system said to a test event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub(crate) enum ConnectorTest {
    /// An OSDP entrance: the agent is the panel's reader, the server talks
    /// to no access system.
    Osdp,
    /// It answered with this success status.
    Accepted { status: u16 },
    /// It answered with this other status (a signature it did not take, an
    /// event it does not know).
    Refused { status: u16 },
    /// No answer: unreachable, refused address, timeout. Why stays in the
    /// server log (see [`NO_ANSWER`]).
    NoAnswer,
}

/// Sends the entrance's access system a signed test event (nobody at the
/// door, no one named) and says how it answered.
pub(crate) async fn test_connector(state: &AppState, entrance: &Entrance) -> ConnectorTest {
    if entrance.connector == ConnectorKind::Osdp {
        return ConnectorTest::Osdp;
    }
    let system = match access_system(state, entrance).await {
        Ok(system) => system,
        Err(reason) => {
            tracing::warn!(entrance = entrance.id.as_str(), %reason, "access system not usable");
            return ConnectorTest::NoAnswer;
        }
    };
    match system.send_test(entrance.id.as_str()).await {
        Ok(status) => ConnectorTest::Accepted {
            status: status.as_u16(),
        },
        Err(limen_access::http::HttpAccessError::Status(status)) => ConnectorTest::Refused {
            status: status.as_u16(),
        },
        Err(e) => {
            tracing::warn!(entrance = entrance.id.as_str(), error = %with_causes(&e), "access system did not answer a test");
            ConnectorTest::NoAnswer
        }
    }
}

/// A camera device as registered: its token is in this answer only.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "d3e4f5a6b7c84d9e0f1a2b3c4d5e6f70",
    "entrance_id": "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f",
    "token": "dGhpcyBpcyBub3QgYSByZWFsIHRva2Vu"
}))]
struct DeviceRegistered {
    id: DeviceId,
    entrance_id: EntranceId,
    /// The device's bearer token (scheme `device_token`): shown this
    /// once, stored only as a hash.
    token: String,
}

/// Registers a camera device at an entrance.
#[utoipa::path(
    post,
    path = "/api/v1/entrances/{id}/devices",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = EntranceId, Path, description = "The entrance")),
    responses(
        (status = 201, description = "Registered", body = DeviceRegistered),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such entrance in the organisation", body = ErrorBody),
    ),
)]
async fn create_device(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeviceRegistered>), ApiError> {
    let entrance = entrance_id(&id)?;
    let (device, token) = add_device(&state, &admin, &entrance).await?;
    Ok((
        StatusCode::CREATED,
        Json(DeviceRegistered {
            id: device,
            entrance_id: entrance,
            token,
        }),
    ))
}

/// The entrance's camera devices, each with when it was last heard from,
/// its frames in the last hour and whether it is up.
#[utoipa::path(
    get,
    path = "/api/v1/entrances/{id}/devices",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = EntranceId, Path, description = "The entrance")),
    responses(
        (status = 200, description = "The devices", body = Vec<Device>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such entrance in the organisation", body = ErrorBody),
    ),
)]
async fn list_devices(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<Device>>, ApiError> {
    let entrance = entrance_id(&id)?;
    state
        .services
        .devices(&admin, &entrance, state.config.device_down_after)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// Registers a device at one of the admin's entrances; returns it with its
/// token, which is shown this once (only its hash is stored).
pub(crate) async fn add_device(
    state: &AppState,
    admin: &OrgAdmin,
    entrance: &EntranceId,
) -> Result<(DeviceId, String), ApiError> {
    let (token, hash) = new_token();
    let device = state
        .services
        .register_device(admin, entrance, &hash)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((device, token))
}

/// Revokes a device: its frames are refused from now on.
#[utoipa::path(
    delete,
    path = "/api/v1/entrances/{id}/devices/{device_id}",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(
        ("id" = EntranceId, Path, description = "The entrance"),
        ("device_id" = DeviceId, Path, description = "The device"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such device at the entrance", body = ErrorBody),
    ),
)]
async fn revoke_device(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path((id, device_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let entrance = entrance_id(&id)?;
    let device = DeviceId::parse(&device_id).map_err(|_| ApiError::not_found())?;
    if !state
        .services
        .revoke_device(&admin, &entrance, &device)
        .await?
    {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The decisions taken at an entrance, newest first: no image, no
/// vector, no score.
#[utoipa::path(
    get,
    path = "/api/v1/entrances/{id}/events",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = EntranceId, Path, description = "The entrance")),
    responses(
        (status = 200, description = "The decisions", body = Vec<DecisionEvent>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such entrance in the organisation", body = ErrorBody),
    ),
)]
async fn entrance_events(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<DecisionEvent>>, ApiError> {
    let entrance = entrance_id(&id)?;
    if state
        .services
        .store()
        .entrance(&admin.org, &entrance)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found());
    }
    Ok(Json(
        state
            .services
            .store()
            .decision_events(&admin.org, Some(&entrance))
            .await?,
    ))
}

/// The decisions taken at all the organisation's entrances, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The decisions", body = Vec<DecisionEvent>, example = json!([
            { "entrance_id": "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f", "at": 1767100000, "decision": "granted", "person_id": "0b9e5f6a7c8d4e3f9a1b2c3d4e5f6a7b", "detail": "3 frames of one pass; live score 0.97" },
            { "entrance_id": "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f", "at": 1767099000, "decision": "unknown", "person_id": null, "detail": "" }
        ])),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn all_events(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Vec<DecisionEvent>>, ApiError> {
    Ok(Json(
        state
            .services
            .store()
            .decision_events(&admin.org, None)
            .await?,
    ))
}
