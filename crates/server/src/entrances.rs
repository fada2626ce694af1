//! Entrances, their camera devices and the decision events (admin API),
//! and the frame endpoint the devices send passages to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use limen_access::Decision as AccessDecision;
use limen_access::http::{HttpAccessSystem, SharedSecret};
use limen_domain::{
    AccessSystemAnswer, ConnectorKind, Decision, DecisionDetail, DecisionEvent, Device, DeviceId,
    Entrance, EntranceId, HandoverId, OrgAdmin, PassId,
};
use limen_services::{HANDOVER_HOLD, PassKey, Recognition, ServiceError};
use limen_store::token::{new_token, token_hash};
use limen_store::{DeviceAtEntrance, NewConnector};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use zeroize::{Zeroize, Zeroizing};

use crate::AppState;
use crate::auth::{Admin, bearer};
use crate::bodies::{ConnectorBody, ConnectorChange, EntranceRename, NewEntrance, shared_secret};
use crate::enrol::is_declared_image;
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::frame_buffer::{FrameBuffer, TooLarge};
use crate::i18n::Text;
use crate::metrics::{AccessSystemError, FrameRefused};

/// Largest frame: an agent sends a JPEG of the face region, tens of kB.
pub const FRAME_BODY_LIMIT: usize = 2 * 1024 * 1024;

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
        .routes(routes!(frame).layer(DefaultBodyLimit::max(FRAME_BODY_LIMIT)))
        .routes(routes!(end_handover))
        .routes(routes!(heartbeat))
}

/// The HTTP connectors built so far, one per entrance, each with the
/// connector version it was built for: a change of URL or secret (on any
/// instance) counts the entrance's version up, and the next use builds
/// the connector anew.
#[derive(Default)]
pub struct AccessClients(Mutex<HashMap<EntranceId, (i64, Arc<HttpAccessSystem>)>>);

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

async fn build_access_system(
    state: &AppState,
    url: String,
    secret: SharedSecret,
) -> Result<Result<HttpAccessSystem, limen_access::http::HttpConfigError>, ApiError> {
    let policy = state.config.connector_policy.clone();
    // Reads the system's trusted roots from disk: off the async threads.
    tokio::task::spawn_blocking(move || {
        HttpAccessSystem::new(&url, secret, HttpAccessSystem::DEFAULT_TIMEOUT, policy)
    })
    .await
    .map_err(|_| ApiError::internal())
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
        lock_clients(&state.access_clients).remove(entrance);
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

// ----- the frame endpoint ---------------------------------------------------

async fn device(state: &AppState, headers: &HeaderMap) -> Result<DeviceAtEntrance, ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
    state
        .services
        .store()
        .device_for_token(&token_hash(token))
        .await?
        .ok_or_else(ApiError::unauthorized)
}

/// What a device is told of a frame.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "decision": "matched", "latency_ms": 184, "acs_id": "10042",
    "handover": { "id": "1f2e3d4c5b6a4f7e8d9c0b1a2f3e4d5c", "within_ms": 5000 },
    "pass": { "id": "3f2a9c0d-17", "frames": 2, "decided": true }
}))]
struct FrameDecision {
    decision: Decision,
    /// From the frame's arrival to the decision.
    latency_ms: u64,
    /// Whom the device presents to its panel: only with `matched` (OSDP
    /// entrances).
    #[serde(skip_serializing_if = "Option::is_none")]
    acs_id: Option<String>,
    /// OSDP entrances: the match the device ends once its panel has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    handover: Option<Handover>,
    /// Only when the frame named a pass (`Limen-Pass`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pass: Option<PassProgress>,
}

/// A match held for the device's panel.
#[derive(Debug, Serialize, ToSchema)]
struct Handover {
    /// End it with `DELETE /api/v1/handovers/{id}`.
    id: HandoverId,
    /// How long it is held at most.
    within_ms: u64,
}

/// Where a device's pass stands.
#[derive(Debug, Serialize, ToSchema)]
struct PassProgress {
    id: String,
    /// The frames fused into the decision so far.
    frames: usize,
    /// Whether the pass is decided (then start a new one).
    decided: bool,
}

/// A camera device sends the frame of one passage (a JPEG of the face
/// region); the answer is the decision, which the HTTP access system
/// has been asked for already where the entrance has one.
#[utoipa::path(
    post,
    path = "/api/v1/frames",
    tag = "devices",
    security(("device_token" = [])),
    params(("Limen-Pass" = Option<String>, Header, description = "The device's name for this approach (1 to 64 letters, digits, '-', '_', '.'): frames under one pass are decided together")),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "The frame, at most 2 MiB"),
    responses(
        (status = 200, description = "Decided", body = FrameDecision),
        (status = 400, description = "An empty frame, or a pass id that is not one", body = ErrorBody),
        (status = 401, description = "Missing or revoked device token", body = ErrorBody),
        (status = 409, description = "The pass is decided already", body = ErrorBody),
        (status = 413, description = "Larger than 2 MiB", body = ErrorBody),
        (status = 415, description = "Not image/jpeg, or not a JPEG", body = ErrorBody),
        (status = 422, description = "An image too large to read", body = ErrorBody),
        (status = 429, description = "Frames faster than allowed; see Retry-After", body = ErrorBody),
        (status = 503, description = "The face engine is busy, or the galleries cannot be confirmed current; see Retry-After", body = ErrorBody),
    ),
)]
async fn frame(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Json<FrameDecision>, ApiError> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let device = device(&state, &parts.headers).await?;
    state.services.frame_arrived(&device.device_id);
    if !state.frame_limiter.allow(device.device_id.as_str()) {
        state
            .metrics
            .frame_refused(&device.entrance.id, FrameRefused::RateLimited);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "this device sends frames faster than allowed; send one per passage",
        )
        .with_retry_after(std::time::Duration::from_secs(1)));
    }
    let media_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media_type.as_deref() != Some("image/jpeg") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the frame as the request body with Content-Type: image/jpeg",
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a frame may be at most {} MiB",
                FRAME_BODY_LIMIT / (1024 * 1024)
            ),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > FRAME_BODY_LIMIT) {
        return Err(too_large());
    }
    // Read into one buffer reserved from the declared length, which never
    // grows (a grown buffer leaves unwiped copies of the face behind).
    let limit = declared.unwrap_or(FRAME_BODY_LIMIT).min(FRAME_BODY_LIMIT);
    let mut frame = FrameBuffer::with_limit(limit);
    let mut body = body;
    while let Some(next) = body.frame().await {
        let next = next.map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "the frame did not arrive whole in time",
            )
        })?;
        let Ok(chunk) = next.into_data() else {
            continue;
        };
        frame.push(&chunk).map_err(|TooLarge| too_large())?;
        // The receive buffer is wiped too when nothing else shares it.
        if let Ok(mut buffer) = chunk.try_into_mut() {
            buffer.zeroize();
        }
    }
    if frame.is_empty() {
        return Err(ApiError::bad_request("the frame is empty"));
    }
    let frame = frame.into_frame();
    if !is_declared_image("image/jpeg", &frame) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body is not a JPEG image, as its Content-Type says",
        ));
    }

    let pass = pass_key(&parts.headers, &device.device_id)?;
    let entrance = device.entrance;
    // Frames fused into the decision, and whether the pass is over.
    let mut pass_state = None;
    // Where the device tells the panel: the match it must end once it has.
    let mut handover = None;
    let recognition = state
        .services
        .recognise(
            &entrance.org_id,
            device.security_level,
            entrance.liveness,
            pass.clone(),
            frame,
        )
        .await
        .inspect_err(|e| {
            if matches!(e, ServiceError::Busy { .. }) {
                state
                    .metrics
                    .frame_refused(&entrance.id, FrameRefused::Busy);
            }
        })?;
    let (outcome, acs_id, person, detail) = match recognition {
        Recognition::NoFace => (Decision::NoFace, None, None, DecisionDetail::default()),
        Recognition::PoorQuality => (Decision::PoorQuality, None, None, DecisionDetail::default()),
        Recognition::PassDecided => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "this pass is decided already; start a new pass for a new approach",
            ));
        }
        Recognition::Unknown {
            frames,
            decided,
            live_score,
        } => {
            pass_state = Some((frames, decided));
            (Decision::Unknown, None, None, detail_of(frames, live_score))
        }
        Recognition::SpoofSuspected {
            frames,
            decided,
            live_score,
        } => {
            pass_state = Some((frames, decided));
            (
                Decision::SpoofSuspected,
                None,
                None,
                detail_of(frames, live_score),
            )
        }
        Recognition::Matched(found) => {
            pass_state = Some((found.frames, true));
            let frames = found.frames;
            let live_score = found.live_score;
            let person_id = found.person().clone();
            let Some(person) = state
                .services
                .store()
                .person(&entrance.org_id, &person_id)
                .await?
            else {
                // Erased between the search and now: nobody to report.
                return Err(ApiError::internal());
            };
            let acs_id = person.acs_id.as_str().to_owned();
            let (outcome, detail) = match entrance.connector {
                ConnectorKind::Osdp => {
                    // A withdrawal of this person completes once the device
                    // has told its panel, or the hold has expired.
                    handover = Some(state.services.hold_for_handover(&device.device_id, found)?);
                    (Decision::Matched, detail_of(frames, live_score))
                }
                ConnectorKind::Http => {
                    let (outcome, said) = ask_access_system(&state, &entrance, &acs_id).await;
                    // Only now may a withdrawal of this person complete.
                    drop(found);
                    (
                        outcome,
                        DecisionDetail {
                            access_system: said,
                            ..detail_of(frames, live_score)
                        },
                    )
                }
            };
            (outcome, Some(acs_id), Some(person_id), detail)
        }
    };
    if let Err(e) = state
        .services
        .store()
        .record_decision(
            &entrance.org_id,
            &entrance.id,
            outcome,
            person.as_ref(),
            &detail,
        )
        .await
    {
        tracing::error!(error = %e, "cannot record a decision event");
    }
    let took = started.elapsed();
    state.metrics.decided(&entrance.id, outcome, took);
    let latency_ms = took.as_millis() as u64;
    tracing::info!(
        entrance = entrance.id.as_str(),
        decision = outcome.as_str(),
        latency_ms,
        "frame decided"
    );
    Ok(Json(FrameDecision {
        decision: outcome,
        latency_ms,
        acs_id: acs_id.filter(|_| outcome == Decision::Matched),
        handover: handover.map(|id| Handover {
            id,
            within_ms: HANDOVER_HOLD.as_millis() as u64,
        }),
        pass: pass
            .zip(pass_state)
            .map(|(pass, (frames, decided))| PassProgress {
                id: pass.pass.as_str().to_owned(),
                frames,
                decided,
            }),
    }))
}

/// The device has told its access panel of a match (or given up): the
/// matched person may now be removed.
#[utoipa::path(
    delete,
    path = "/api/v1/handovers/{id}",
    tag = "devices",
    security(("device_token" = [])),
    params(("id" = HandoverId, Path, description = "The handover of the frame's answer")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "Missing or revoked device token", body = ErrorBody),
        (status = 404, description = "No such handover of this device (or it expired)", body = ErrorBody),
    ),
)]
async fn end_handover(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let device = device(&state, &headers).await?;
    let id = HandoverId::parse(&id).map_err(|_| ApiError::not_found())?;
    if state.services.end_handover(&device.device_id, &id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

/// A device with no frame to send says it is still there, so that a camera
/// nobody walks past is not shown as down. It costs what a frame's token
/// check costs and writes nothing at once (see `frame_arrived`).
#[utoipa::path(
    post,
    path = "/api/v1/heartbeat",
    tag = "devices",
    security(("device_token" = [])),
    responses(
        (status = 204, description = "Heard"),
        (status = 401, description = "Missing or revoked device token", body = ErrorBody),
    ),
)]
async fn heartbeat(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let device = device(&state, &headers).await?;
    state.services.heartbeat(&device.device_id);
    Ok(StatusCode::NO_CONTENT)
}

/// The header naming the device's pass a frame belongs to.
const PASS_HEADER: &str = "limen-pass";

/// The frame's pass, if the device names one.
fn pass_key(headers: &HeaderMap, device: &DeviceId) -> Result<Option<PassKey>, ApiError> {
    let Some(value) = headers.get(PASS_HEADER) else {
        return Ok(None);
    };
    let pass = value
        .to_str()
        .ok()
        .and_then(|text| PassId::parse(text).ok())
        .ok_or_else(|| ApiError::bad_request(limen_domain::InvalidValue::PassId.to_string()))?;
    Ok(Some(PassKey {
        device: device.clone(),
        pass,
    }))
}

/// What a decision event says of a pass: how many frames were fused into
/// it, and its live score (a judgement of the presentation, nothing of
/// the face; none where liveness is off).
fn detail_of(frames: usize, live_score: Option<f32>) -> DecisionDetail {
    DecisionDetail {
        frames: u32::try_from(frames).unwrap_or(u32::MAX),
        live_score,
        access_system: None,
    }
}

/// Asks the entrance's access system; any failure denies. Why it gave no
/// decision (refused address, connection refused, timeout, status) stays
/// in the server log: the admin chose the URL, and the reasons would map
/// the network the server sits in.
async fn ask_access_system(
    state: &AppState,
    entrance: &Entrance,
    acs_id: &str,
) -> (Decision, Option<AccessSystemAnswer>) {
    let system = match access_system(state, entrance).await {
        Ok(system) => system,
        Err(reason) => {
            tracing::warn!(entrance = entrance.id.as_str(), %reason, "access system not usable");
            state
                .metrics
                .access_system_error(&entrance.id, AccessSystemError::NotUsable);
            return (Decision::Denied, Some(AccessSystemAnswer::NoAnswer));
        }
    };
    match system.request_access(entrance.id.as_str(), acs_id).await {
        Ok(AccessDecision::Granted) => (Decision::Granted, None),
        Ok(AccessDecision::Denied) => (Decision::Denied, Some(AccessSystemAnswer::Refused)),
        Err(e) => {
            tracing::warn!(entrance = entrance.id.as_str(), error = %with_causes(&e), "access system gave no decision");
            state
                .metrics
                .access_system_error(&entrance.id, AccessSystemError::NoDecision);
            (Decision::Denied, Some(AccessSystemAnswer::NoAnswer))
        }
    }
}

/// An error with its chain of causes, for the log.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

async fn access_system(
    state: &AppState,
    entrance: &Entrance,
) -> Result<Arc<HttpAccessSystem>, String> {
    let built = lock_clients(&state.access_clients)
        .get(&entrance.id)
        .filter(|(version, _)| *version == entrance.connector_version)
        .map(|(_, system)| system.clone());
    if let Some(system) = built {
        return Ok(system);
    }
    let url = entrance.url.clone().ok_or("no URL stored")?;
    let secret = state
        .services
        .store()
        .entrance_secret(entrance)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no secret stored")
        .and_then(|s| {
            SharedSecret::from_key(s.to_vec()).map_err(|_| "the stored secret is unusable")
        })?;
    let system = build_access_system(state, url, secret)
        .await
        .map_err(|e| e.message)?
        .map_err(|e| e.to_string())?;
    let system = Arc::new(system);
    lock_clients(&state.access_clients).insert(
        entrance.id.clone(),
        (entrance.connector_version, system.clone()),
    );
    Ok(system)
}

fn lock_clients(
    clients: &AccessClients,
) -> std::sync::MutexGuard<'_, HashMap<EntranceId, (i64, Arc<HttpAccessSystem>)>> {
    clients.0.lock().unwrap_or_else(|p| p.into_inner())
}
