//! The device API: the frames of a passage, the end of a handover, and
//! the heartbeat of a camera that has nothing to send.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use limen_access::Decision as AccessDecision;
use limen_domain::{
    AccessSystemAnswer, ConnectorKind, Decision, DecisionDetail, DeviceId, Entrance, HandoverId,
    PassId,
};
use limen_services::{HANDOVER_HOLD, PassKey, Recognition, ServiceError};
use limen_store::DeviceAtEntrance;
use limen_store::token::token_hash;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use zeroize::Zeroize;

use crate::AppState;
use crate::access_clients::{access_system, with_causes};
use crate::auth::bearer;
use crate::enrol::is_declared_image;
use crate::error::{ApiError, ErrorBody};
use crate::frame_buffer::{FrameBuffer, TooLarge};
use crate::metrics::{AccessSystemError, FrameRefused};

/// Largest frame: an agent sends a JPEG of the face region, tens of kB.
pub const FRAME_BODY_LIMIT: usize = 2 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(frame).layer(DefaultBodyLimit::max(FRAME_BODY_LIMIT)))
        .routes(routes!(end_handover))
        .routes(routes!(heartbeat))
}

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
