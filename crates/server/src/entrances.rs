//! Entrances, their camera devices and the decision events (admin API),
//! and the frame endpoint the devices send passages to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use limen_access::Decision;
use limen_access::http::{HttpAccessSystem, SharedSecret};
use limen_matcher::Identification;
use limen_store::token::{new_token, token_hash};
use limen_store::{ConnectorKind, DeviceAtEntrance, DeviceId, Entrance, EntranceId, NewConnector};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::{Zeroize, Zeroizing};

use crate::AppState;
use crate::auth::{AdminOrg, bearer};
use crate::error::{ApiError, JsonBody};
use crate::galleries::descriptor;

/// Largest frame: an agent sends a JPEG of the face region, tens of kB.
pub const FRAME_BODY_LIMIT: usize = 2 * 1024 * 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/entrances",
            post(create_entrance).get(list_entrances),
        )
        .route("/api/v1/entrances/{id}/devices", post(create_device))
        .route(
            "/api/v1/entrances/{id}/devices/{device_id}",
            delete(revoke_device),
        )
        .route("/api/v1/entrances/{id}/events", get(entrance_events))
        .route("/api/v1/events", get(all_events))
        .route(
            "/api/v1/frames",
            post(frame).layer(DefaultBodyLimit::max(FRAME_BODY_LIMIT)),
        )
}

/// The HTTP connectors built so far, one per entrance. An entrance's URL and
/// secret never change, so a built client stays valid.
#[derive(Default)]
pub struct AccessClients(Mutex<HashMap<EntranceId, Arc<HttpAccessSystem>>>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEntrance {
    name: String,
    connector: ConnectorBody,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ConnectorBody {
    Osdp,
    Http { url: String, secret: String },
}

fn entrance_id(text: &str) -> Result<EntranceId, ApiError> {
    EntranceId::parse(text).map_err(|_| ApiError::not_found())
}

async fn create_entrance(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
    JsonBody(body): JsonBody<NewEntrance>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "an entrance name must be 1 to 100 characters, without control characters",
        ));
    }
    let secret = match &body.connector {
        ConnectorBody::Osdp => None,
        ConnectorBody::Http { url, secret } => {
            let shared: SharedSecret = secret.parse().map_err(|e| {
                ApiError::unprocessable(format!("the HTTP connector's secret: {e}"))
            })?;
            let key = Zeroizing::new(shared.key().to_vec());
            // Built once here so that a URL the connector cannot use is
            // refused now rather than at the first passage.
            build_access_system(url.clone(), shared)
                .await?
                .map_err(|e| ApiError::unprocessable(format!("connector url: {e}")))?;
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
    let entrance = state.store.create_entrance(&org, name, &connector).await?;
    let detail = match entrance.connector {
        ConnectorKind::Osdp => "connector osdp".to_owned(),
        ConnectorKind::Http => format!("connector http {}", entrance.url.as_deref().unwrap_or("")),
    };
    state
        .audit(
            &org,
            "admin",
            "entrance.created",
            entrance.id.as_str(),
            &detail,
        )
        .await;
    Ok((StatusCode::CREATED, Json(json!(entrance))))
}

async fn build_access_system(
    url: String,
    secret: SharedSecret,
) -> Result<Result<HttpAccessSystem, limen_access::http::HttpConfigError>, ApiError> {
    // Reads the system's trusted roots from disk: off the async threads.
    tokio::task::spawn_blocking(move || {
        HttpAccessSystem::new(&url, secret, HttpAccessSystem::DEFAULT_TIMEOUT)
    })
    .await
    .map_err(|_| ApiError::internal())
}

async fn list_entrances(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.store.entrances(&org).await?)))
}

async fn create_device(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let entrance = entrance_id(&id)?;
    let (token, hash) = new_token();
    let device = state
        .store
        .create_device(&org, &entrance, &hash)
        .await?
        .ok_or_else(ApiError::not_found)?;
    state
        .audit(
            &org,
            "admin",
            "device.registered",
            device.as_str(),
            &format!("entrance {entrance}"),
        )
        .await;
    // The token is shown this once; only its hash is stored.
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": device, "entrance_id": entrance, "token": token })),
    ))
}

async fn revoke_device(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
    Path((id, device_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let entrance = entrance_id(&id)?;
    let device = DeviceId::parse(&device_id).map_err(|_| ApiError::not_found())?;
    if !state.store.revoke_device(&org, &entrance, &device).await? {
        return Err(ApiError::not_found());
    }
    state
        .audit(
            &org,
            "admin",
            "device.revoked",
            device.as_str(),
            &format!("entrance {entrance}"),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn entrance_events(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let entrance = entrance_id(&id)?;
    if state.store.entrance(&org, &entrance).await?.is_none() {
        return Err(ApiError::not_found());
    }
    Ok(Json(json!(
        state.store.decision_events(&org, Some(&entrance)).await?
    )))
}

async fn all_events(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.store.decision_events(&org, None).await?)))
}

// ----- the frame endpoint ---------------------------------------------------

/// What happened to a frame, as the device is told and the event records.
enum Outcome {
    NoFace,
    PoorQuality,
    Unknown,
    /// OSDP entrance: the agent presents the id to the panel.
    Matched,
    Granted,
    /// The access system said no, or could not be asked (`detail` says which).
    Denied,
}

impl Outcome {
    fn as_str(&self) -> &'static str {
        match self {
            Outcome::NoFace => "no_face",
            Outcome::PoorQuality => "poor_quality",
            Outcome::Unknown => "unknown",
            Outcome::Matched => "matched",
            Outcome::Granted => "granted",
            Outcome::Denied => "denied",
        }
    }
}

/// The engine's verdict on a frame, computed on a blocking thread.
enum Verdict {
    NoFace,
    PoorQuality,
    Searched(Identification<limen_store::PersonId>),
}

async fn device(state: &AppState, headers: &HeaderMap) -> Result<DeviceAtEntrance, ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
    state
        .store
        .device_for_token(&token_hash(token))
        .await?
        .ok_or_else(ApiError::unauthorized)
}

async fn frame(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let device = device(&state, &parts.headers).await?;
    if !state.frame_limiter.allow(device.device_id.as_str()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "this device sends frames faster than allowed; send one per passage",
        ));
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
    let received = axum::body::to_bytes(body, FRAME_BODY_LIMIT)
        .await
        .map_err(|_| too_large())?;
    let frame = Zeroizing::new(received.to_vec());
    // The receive buffer is wiped too when nothing else shares it.
    if let Ok(mut buffer) = received.try_into_mut() {
        buffer.zeroize();
    }
    if frame.is_empty() {
        return Err(ApiError::bad_request("the frame is empty"));
    }

    let entrance = device.entrance;
    let engine = state.engine.clone();
    let galleries = state.galleries.galleries().clone();
    let org = entrance.org_id.clone();
    let rule = state.decision_rule;
    let verdict = tokio::task::spawn_blocking(move || {
        // `frame` is moved in and dropped (wiped) here whatever happens;
        // the engine wipes the decoded pixels itself.
        let faces = engine.analyze(&frame)?;
        drop(frame);
        let Some(face) = faces.iter().max_by_key(|f| f.rect.area()) else {
            return Ok(Verdict::NoFace);
        };
        if !face.quality.passed {
            return Ok(Verdict::PoorQuality);
        }
        let Some(probe) = descriptor(face.descriptor.as_slice()) else {
            return Ok(Verdict::NoFace);
        };
        // `faces` (with their descriptors) and `probe` are wiped on drop.
        Ok(galleries
            .identify(&org, engine.model_version(), &probe, &rule)
            .map_or(Verdict::NoFace, Verdict::Searched))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|e: limen_face::FaceError| ApiError::unprocessable(e.to_string()))?;

    let (outcome, acs_id, person, detail) = match verdict {
        Verdict::NoFace => (Outcome::NoFace, None, None, String::new()),
        Verdict::PoorQuality => (Outcome::PoorQuality, None, None, String::new()),
        Verdict::Searched(Identification::Unknown(_)) => {
            (Outcome::Unknown, None, None, String::new())
        }
        Verdict::Searched(Identification::Matched(found)) => {
            let person_id = found.person().clone();
            let Some(person) = state.store.person(&entrance.org_id, &person_id).await? else {
                // Erased between the search and now: nobody to report.
                return Err(ApiError::internal());
            };
            let acs_id = person.acs_id.as_str().to_owned();
            let (outcome, detail) = match entrance.connector {
                ConnectorKind::Osdp => (Outcome::Matched, String::new()),
                ConnectorKind::Http => ask_access_system(&state, &entrance, &acs_id).await,
            };
            // Only now may a withdrawal of this person complete.
            drop(found);
            (outcome, Some(acs_id), Some(person_id), detail)
        }
    };
    if let Err(e) = state
        .store
        .record_decision(
            &entrance.org_id,
            &entrance.id,
            outcome.as_str(),
            person.as_ref(),
            &detail,
        )
        .await
    {
        tracing::error!(error = %e, "cannot record a decision event");
    }
    let latency_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        entrance = entrance.id.as_str(),
        decision = outcome.as_str(),
        latency_ms,
        "frame decided"
    );
    let mut answer = json!({ "decision": outcome.as_str(), "latency_ms": latency_ms });
    if let (Outcome::Matched, Some(acs_id)) = (&outcome, acs_id) {
        answer["acs_id"] = json!(acs_id);
    }
    Ok(Json(answer))
}

/// Asks the entrance's access system; any failure denies and is reported.
async fn ask_access_system(
    state: &AppState,
    entrance: &Entrance,
    acs_id: &str,
) -> (Outcome, String) {
    let system = match access_system(state, entrance).await {
        Ok(system) => system,
        Err(reason) => {
            tracing::warn!(entrance = entrance.id.as_str(), %reason, "access system not usable");
            return (Outcome::Denied, format!("connector not usable: {reason}"));
        }
    };
    match system.request_access(entrance.id.as_str(), acs_id).await {
        Ok(Decision::Granted) => (Outcome::Granted, String::new()),
        Ok(Decision::Denied) => (Outcome::Denied, "refused by the access system".to_owned()),
        Err(e) => {
            tracing::warn!(entrance = entrance.id.as_str(), error = %e, "access system gave no decision");
            (
                Outcome::Denied,
                format!("access system gave no decision: {e}"),
            )
        }
    }
}

async fn access_system(
    state: &AppState,
    entrance: &Entrance,
) -> Result<Arc<HttpAccessSystem>, String> {
    if let Some(system) = lock_clients(&state.access_clients).get(&entrance.id) {
        return Ok(system.clone());
    }
    let url = entrance.url.clone().ok_or("no URL stored")?;
    let secret = state
        .store
        .entrance_secret(entrance)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no secret stored")
        .and_then(|s| {
            SharedSecret::from_key(s.to_vec()).map_err(|_| "the stored secret is unusable")
        })?;
    let system = build_access_system(url, secret)
        .await
        .map_err(|e| e.message)?
        .map_err(|e| e.to_string())?;
    let system = Arc::new(system);
    lock_clients(&state.access_clients).insert(entrance.id.clone(), system.clone());
    Ok(system)
}

fn lock_clients(
    clients: &AccessClients,
) -> std::sync::MutexGuard<'_, HashMap<EntranceId, Arc<HttpAccessSystem>>> {
    clients.0.lock().unwrap_or_else(|p| p.into_inner())
}
