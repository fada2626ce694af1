//! Face enrolment over HTTP: the frames arrive here and go, in memory, to
//! the enrolment service, which has the engine make vectors of them and
//! wipes them. No face work here.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use limen_domain::{ModelVersion, Person};
use limen_services::{Frame, ServiceError};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{ApiSession, PageSession, person_language};
use crate::error::{ApiError, ErrorBody};
use crate::frame_buffer::{FrameBuffer, TooLarge};
use crate::i18n::{Text, Tr};
use crate::pages::{error_page, message_page};
use crate::rate_limit::RateLimiter;
use crate::views::{EnrolPage, render};

const MAX_FRAMES: usize = 5;
const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
const ENROL_SCRIPT: &str = include_str!("enrol.js");

/// `/api/v1/me/face`.
pub fn api_routes(face_limit: usize) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(api_enrol, api_remove).layer(DefaultBodyLimit::max(face_limit)))
}

/// The webcam page and what its script and form send.
pub fn routes(face_limit: usize) -> Router<Arc<AppState>> {
    Router::new()
        .route("/account/enrol", get(enrol_page))
        .route(
            "/account/face",
            post(page_enrol).layer(DefaultBodyLimit::max(face_limit)),
        )
        .route(
            "/account/face/upload",
            post(page_upload).layer(DefaultBodyLimit::max(face_limit)),
        )
        .route(
            "/account/face/check",
            post(page_check).layer(DefaultBodyLimit::max(MAX_FRAME_BYTES + 64 * 1024)),
        )
        .route(
            "/static/enrol.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], ENROL_SCRIPT) }),
        )
}

/// The uploaded frames, each wiped from memory when dropped.
type Frames = Vec<Frame>;

/// Whether the bytes are what their declared media type says: a PNG sent
/// as `image/jpeg` is refused rather than decoded as whatever it is.
pub(crate) fn is_declared_image(media_type: &str, bytes: &[u8]) -> bool {
    match media_type {
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        _ => false,
    }
}

/// The request's declared length, which bounds every part in it.
fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

async fn read_frames(
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Frames, ApiError> {
    Ok(read_parts(headers, multipart, false).await?.1)
}

/// The frames of a multipart body and, where `with_csrf`, the CSRF token
/// of the form sending them (a part named "csrf" before the frames).
async fn read_parts(
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
    with_csrf: bool,
) -> Result<(Option<String>, Frames), ApiError> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the frames as multipart/form-data, each JPEG or PNG image in a part named \"frame\"",
        )
    })?;
    // Each frame's buffer is reserved once, as large as the frame can be,
    // and never grows: a growing buffer leaves its earlier copies of the
    // face, unwiped, in freed memory.
    let capacity = declared_length(headers)
        .unwrap_or(MAX_FRAME_BYTES)
        .min(MAX_FRAME_BYTES);
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a frame may be at most {} MiB",
                MAX_FRAME_BYTES / (1024 * 1024)
            ),
        )
        .with_text(Text::new("error-frame-bytes").with("max", MAX_FRAME_BYTES / (1024 * 1024)))
    };
    let mut frames: Frames = Vec::new();
    let mut csrf = None;
    let part_error =
        |e: axum::extract::multipart::MultipartError| ApiError::new(e.status(), e.body_text());
    while let Some(mut field) = multipart.next_field().await.map_err(part_error)? {
        if with_csrf && csrf.is_none() && frames.is_empty() && field.name() == Some("csrf") {
            csrf = Some(field.text().await.map_err(part_error)?);
            continue;
        }
        if field.name() != Some("frame") {
            return Err(ApiError::unprocessable(
                "unexpected part: send each image in a part named \"frame\"",
            ));
        }
        let media_type = match field.content_type() {
            Some(t @ ("image/jpeg" | "image/png")) => t.to_owned(),
            _ => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "each frame must be a JPEG (image/jpeg) or PNG (image/png) image",
                )
                .with_text(Text::new("error-frame-type")));
            }
        };
        if frames.len() == MAX_FRAMES {
            return Err(
                ApiError::unprocessable(format!("send at most {MAX_FRAMES} frames"))
                    .with_text(Text::new("error-frame-count").with("max", MAX_FRAMES)),
            );
        }
        let mut frame = FrameBuffer::with_limit(capacity);
        while let Some(chunk) = field.chunk().await.map_err(part_error)? {
            frame.push(&chunk).map_err(|TooLarge| too_large())?;
        }
        let frame = frame.into_frame();
        if !is_declared_image(&media_type, &frame) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("a frame declared as {media_type} is not one"),
            ));
        }
        frames.push(frame);
    }
    if frames.is_empty() {
        return Err(ApiError::unprocessable(format!(
            "send 1 to {MAX_FRAMES} frames, each in a part named \"frame\""
        ))
        .with_text(Text::new("error-frame-count").with("max", MAX_FRAMES)));
    }
    Ok((csrf, frames))
}

/// Engine work one person may ask for, counted per person (more sessions
/// buy no more) once the frames are read, just before the engine.
fn within_limit(limiter: &RateLimiter, person: &Person, what: &str) -> Result<(), ApiError> {
    if limiter.allow(person.id.as_str()) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many {what} in a short time; wait a little and try again"),
    )
    .with_text(Text::new("error-too-many-enrolments"))
    .with_retry_after(Duration::from_secs(60)))
}

/// Advice codes worded for a person, joined.
fn advice(t: Tr, codes: &[&str]) -> String {
    codes
        .iter()
        .map(|code| t.advice(code))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What an enrolment answers, to the API and to the webcam page.
#[derive(Debug, Serialize, ToSchema)]
struct Enrolment {
    /// Always true: a refused enrolment answers an error.
    enrolled: bool,
    model_version: ModelVersion,
    /// The vectors stored, one per usable frame.
    vectors: usize,
    /// The frames that gave no vector, and why.
    set_aside: Vec<SetAside>,
}

/// A frame of the sitting that gave no vector.
#[derive(Debug, Serialize, ToSchema)]
struct SetAside {
    /// Its place in the upload, from 1.
    frame: usize,
    /// What was wrong, as a code (`no_face`, `blurred`, …).
    code: &'static str,
    /// What to do about it, in the language the person reads.
    advice: String,
}

async fn enrol(
    state: &AppState,
    t: Tr,
    person: &Person,
    frames: Frames,
) -> Result<Enrolment, ApiError> {
    let enrolled = match state.services.enrol(person, frames).await {
        Ok(enrolled) => {
            let reasons = enrolled.set_aside.iter().map(|aside| aside.problem.code);
            state.metrics.enrolment("enrolled", reasons);
            enrolled
        }
        Err(e) => {
            match &e {
                ServiceError::Enrolment(refused) => state.metrics.enrolment(
                    refused.code(),
                    refused.set_aside().iter().map(|aside| aside.problem.code()),
                ),
                ServiceError::NoConsent => state.metrics.enrolment("no_consent", []),
                ServiceError::Busy { .. } => state.metrics.enrolment("busy", []),
                _ => state.metrics.enrolment("failed", []),
            }
            return Err(e.into());
        }
    };
    Ok(Enrolment {
        enrolled: true,
        model_version: enrolled.model_version,
        vectors: enrolled.vectors,
        set_aside: enrolled
            .set_aside
            .iter()
            .map(|aside| SetAside {
                frame: aside.frame,
                code: aside.problem.code,
                advice: advice(t, &aside.problem.advice),
            })
            .collect(),
    })
}

/// The frames of an enrolment: 1 to 5 JPEG or PNG images, each in a
/// part named `frame`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the multipart body; read part by part.
struct EnrolmentUpload {
    #[schema(value_type = Vec<String>, format = Binary, content_media_type = "image/jpeg")]
    frame: Vec<Vec<u8>>,
}

/// Enrols the person's face from 1 to 5 frames of one sitting; the
/// frames are read in memory, turned into vectors and wiped. Needs
/// consent.
#[utoipa::path(
    post,
    path = "/api/v1/me/face",
    tag = "employee",
    security(("employee_session" = [])),
    request_body(content = EnrolmentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Enrolled", body = Enrolment, example = json!({
            "enrolled": true, "model_version": "dlib-resnet-v1", "vectors": 2,
            "set_aside": [{ "frame": 3, "code": "blurred", "advice": "image blurred: hold still" }]
        })),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
        (status = 403, description = "No consent given", body = ErrorBody),
        (status = 413, description = "A frame larger than 4 MiB", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data, or a frame that is not the JPEG or PNG it says", body = ErrorBody),
        (status = 422, description = "No usable frame, frames of different people, or the wrong number of frames", body = ErrorBody),
        (status = 429, description = "Too many enrolments in a short time; see Retry-After", body = ErrorBody),
        (status = 503, description = "The face engine is busy; see Retry-After", body = ErrorBody),
    ),
)]
async fn api_enrol(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Enrolment>), ApiError> {
    let frames = read_frames(&headers, multipart).await?;
    within_limit(&state.enrolment_limiter, &session.person, "enrolments")?;
    // The advice on frames set aside, in the language the person reads.
    let t = Tr::new(person_language(&state, &session.person, &headers).await?);
    Ok((
        StatusCode::CREATED,
        Json(enrol(&state, t, &session.person, frames).await?),
    ))
}

/// Deletes the person's face vectors; consent stands.
#[utoipa::path(
    delete,
    path = "/api/v1/me/face",
    tag = "employee",
    security(("employee_session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
    ),
)]
async fn api_remove(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    state.services.remove_vectors(&session.person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Page requests from the enrolment script carry the CSRF token in a header.
fn check_csrf_header(session: &PageSession, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if session.csrf.accepts(presented) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token; reload the page",
        )
        .with_text(Text::new("error-csrf-header")))
    }
}

async fn page_enrol(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Enrolment>, ApiError> {
    let t = session.t;
    enrol_from_page(&state, &session, &headers, multipart)
        .await
        .map(Json)
        .map_err(|e| e.for_person(t))
}

async fn enrol_from_page(
    state: &AppState,
    session: &PageSession,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Enrolment, ApiError> {
    check_csrf_header(session, headers)?;
    let frames = read_frames(headers, multipart).await?;
    within_limit(&state.enrolment_limiter, &session.person, "enrolments")?;
    enrol(state, session.t, &session.person, frames).await
}

/// Enrolment without JavaScript: pictures chosen or taken in a plain
/// form, the CSRF token in the form's first part.
async fn page_upload(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let t = session.t;
    let frames = match read_parts(&headers, multipart, true).await {
        Ok((Some(csrf), frames)) if session.csrf.accepts(&csrf) => frames,
        Ok(_) => {
            return message_page(
                t,
                StatusCode::FORBIDDEN,
                t.tr("csrf-refused-title"),
                t.tr("csrf-refused"),
            );
        }
        Err(e) => return error_page(t, e),
    };
    if let Err(e) = within_limit(&state.enrolment_limiter, &session.person, "enrolments") {
        return error_page(t, e);
    }
    match state.services.enrol(&session.person, frames).await {
        Ok(enrolled) => message_page(
            t,
            StatusCode::OK,
            t.tr("enrol-title"),
            t.tr1("enrol-done", "model", enrolled.model_version.as_str()),
        ),
        Err(e) => error_page(t, e),
    }
}

/// Live guidance for the webcam page: what is wrong with this one frame.
async fn page_check(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<FrameCheck>, ApiError> {
    let t = session.t;
    check(&state, &session, &headers, multipart)
        .await
        .map(Json)
        .map_err(|e| e.for_person(t))
}

/// What the webcam page shows of one frame.
#[derive(Debug, Serialize)]
struct FrameCheck {
    passed: bool,
    issues: Vec<&'static str>,
    advice: Vec<String>,
    /// Whole degrees: enough to ask for a view, too coarse to describe a
    /// face.
    yaw_deg: Option<f64>,
}

async fn check(
    state: &AppState,
    session: &PageSession,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<FrameCheck, ApiError> {
    let t = session.t;
    check_csrf_header(session, headers)?;
    let mut frames = read_frames(headers, multipart).await?;
    within_limit(&state.check_limiter, &session.person, "frame checks")?;
    let Some(frame) = frames.pop().filter(|_| frames.is_empty()) else {
        return Err(ApiError::unprocessable("send exactly one frame to check"));
    };
    let check = state.services.check_frame(&session.person, frame).await?;
    let passed = check.problems.is_empty();
    let advice: Vec<String> = if passed {
        vec![t.tr("enrol-hold-still")]
    } else {
        check
            .problems
            .iter()
            .map(|p| advice(t, &p.advice))
            .collect()
    };
    Ok(FrameCheck {
        passed,
        issues: check.problems.iter().map(|p| p.code).collect(),
        advice,
        yaw_deg: check.yaw_deg.map(f64::round),
    })
}

async fn enrol_page(State(state): State<Arc<AppState>>, session: PageSession) -> Response {
    match state.services.has_active_consent(&session.person).await {
        Ok(true) => {}
        Ok(false) => {
            return message_page(
                session.t,
                StatusCode::FORBIDDEN,
                session.t.tr("consent-first-title"),
                session.t.tr("consent-first"),
            );
        }
        Err(e) => return error_page(session.t, e),
    }
    render(
        StatusCode::OK,
        &EnrolPage {
            t: session.t,
            title: session.t.tr("enrol-title"),
            csrf: &session.csrf,
            max_frames: MAX_FRAMES,
        },
    )
}
