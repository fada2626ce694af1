//! Face enrolment: frames arrive over HTTP, go to the face engine in
//! memory, and are wiped as soon as the engine is done with them. Only the
//! resulting vector is kept, encrypted, by the store. No face maths here.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use limen_store::Person;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::AppState;
use crate::auth::{ApiSession, PageSession};
use crate::employee::{actor, remove_face};
use crate::error::ApiError;
use crate::pages::{escape, message_page, page};

const MAX_FRAMES: usize = 5;
const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
const ENROL_SCRIPT: &str = include_str!("enrol.js");

pub fn routes(face_limit: usize) -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/me/face",
            post(api_enrol)
                .delete(api_remove)
                .layer(DefaultBodyLimit::max(face_limit)),
        )
        .route("/account/enrol", get(enrol_page))
        .route(
            "/account/face",
            post(page_enrol).layer(DefaultBodyLimit::max(face_limit)),
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
type Frames = Vec<Zeroizing<Vec<u8>>>;

async fn read_frames(multipart: Result<Multipart, MultipartRejection>) -> Result<Frames, ApiError> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the frames as multipart/form-data, each JPEG or PNG image in a part named \"frame\"",
        )
    })?;
    let mut frames: Frames = Vec::new();
    let part_error =
        |e: axum::extract::multipart::MultipartError| ApiError::new(e.status(), e.body_text());
    while let Some(mut field) = multipart.next_field().await.map_err(part_error)? {
        if field.name() != Some("frame") {
            return Err(ApiError::unprocessable(
                "unexpected part: send each image in a part named \"frame\"",
            ));
        }
        if !matches!(field.content_type(), Some("image/jpeg" | "image/png")) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "each frame must be a JPEG (image/jpeg) or PNG (image/png) image",
            ));
        }
        if frames.len() == MAX_FRAMES {
            return Err(ApiError::unprocessable(format!(
                "send at most {MAX_FRAMES} frames"
            )));
        }
        let mut frame = Zeroizing::new(Vec::new());
        while let Some(chunk) = field.chunk().await.map_err(part_error)? {
            if frame.len() + chunk.len() > MAX_FRAME_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "a frame may be at most {} MiB",
                        MAX_FRAME_BYTES / (1024 * 1024)
                    ),
                ));
            }
            frame.extend_from_slice(&chunk);
        }
        frames.push(frame);
    }
    if frames.is_empty() {
        return Err(ApiError::unprocessable(format!(
            "send 1 to {MAX_FRAMES} frames, each in a part named \"frame\""
        )));
    }
    Ok(frames)
}

async fn enrol(state: &AppState, person: &Person, frames: Frames) -> Result<Value, ApiError> {
    // Refuse before any face is looked at; the store checks again when it
    // writes, inside the same transaction as the write (P3).
    if !state
        .store
        .consents(person)
        .await?
        .iter()
        .any(|c| c.withdrawn_at.is_none())
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "consent is required before enrolment: read the privacy statement and give your consent first",
        ));
    }
    let engine = state.engine.clone();
    let descriptor = tokio::task::spawn_blocking(move || {
        let views: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        engine.enrol(&views)
        // `frames` is dropped here, wiping the image bytes.
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    // One vector per person until the store keeps a person's whole set.
    let descriptor = descriptor
        .faces
        .into_iter()
        .next()
        .map(|face| face.vector)
        .ok_or_else(ApiError::internal)?;
    let model_version = state.engine.model_version().id;
    {
        let _changing = state.galleries.lock().await;
        state
            .store
            .store_vector(person, model_version, descriptor.as_slice())
            .await?;
        if !state
            .galleries
            .upsert(&person.org_id, &person.id, descriptor.as_slice())
        {
            tracing::error!("an enrolled vector was refused by the gallery");
        }
    }
    state
        .audit(
            &person.org_id,
            &actor(person),
            "vector.enrolled",
            person.id.as_str(),
            &format!("model {model_version}"),
        )
        .await;
    Ok(json!({ "enrolled": true, "model_version": model_version }))
}

async fn api_enrol(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let frames = read_frames(multipart).await?;
    Ok((
        StatusCode::CREATED,
        Json(enrol(&state, &session.person, frames).await?),
    ))
}

async fn api_remove(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    remove_face(&state, &session.person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Page requests from the enrolment script carry the CSRF token in a header.
fn check_csrf_header(session: &PageSession, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if session.check_csrf(presented) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token; reload the page",
        ))
    }
}

async fn page_enrol(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    check_csrf_header(&session, &headers)?;
    let frames = read_frames(multipart).await?;
    Ok(Json(enrol(&state, &session.person, frames).await?))
}

/// Live guidance for the webcam page: what is wrong with this one frame.
async fn page_check(
    State(state): State<Arc<AppState>>,
    session: PageSession,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    check_csrf_header(&session, &headers)?;
    let mut frames = read_frames(multipart).await?;
    let Some(frame) = frames.pop().filter(|_| frames.is_empty()) else {
        return Err(ApiError::unprocessable("send exactly one frame to check"));
    };
    let engine = state.engine.clone();
    let faces = tokio::task::spawn_blocking(move || engine.analyze(&frame))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    // Each problem as a stable code (for programs) and advice (for people).
    let problems: Vec<(&str, String)> = match faces.as_slice() {
        [] => vec![(
            "no_face",
            "no face found: look straight at the camera".into(),
        )],
        [face] => face
            .quality
            .issues
            .iter()
            .map(|issue| (issue.code(), issue.to_string()))
            .collect(),
        _ => vec![(
            "several_faces",
            "one face only: make sure nobody else is in the picture".into(),
        )],
    };
    let passed = problems.is_empty();
    let advice: Vec<String> = if passed {
        vec!["good: hold still".into()]
    } else {
        problems.iter().map(|(_, advice)| advice.clone()).collect()
    };
    let issues: Vec<&str> = problems.iter().map(|(code, _)| *code).collect();
    Ok(Json(
        json!({ "passed": passed, "issues": issues, "advice": advice }),
    ))
}

async fn enrol_page(State(state): State<Arc<AppState>>, session: PageSession) -> Response {
    match state.store.consents(&session.person).await {
        Ok(consents) if consents.iter().any(|c| c.withdrawn_at.is_none()) => {}
        Ok(_) => {
            return message_page(
                StatusCode::FORBIDDEN,
                "Consent first",
                "Your face is only enrolled after you have consented. Go to your account to read the statement and decide.",
            );
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let body = format!(
        "<div id=\"enrol\" data-csrf=\"{csrf}\">\
         <p>Look straight at the camera, in good light, with nobody else in view. A few pictures are taken when the \
         guidance says they are good; they are turned into a facial vector and erased at once.</p>\
         <video id=\"camera\" autoplay playsinline muted></video>\
         <p id=\"guidance\" role=\"status\" aria-live=\"polite\">Starting the camera…</p>\
         <p><button id=\"start\" type=\"button\">Start</button> <a href=\"/account\">Back to your account</a></p>\
         <noscript><p class=\"error\">Taking the pictures needs JavaScript and a camera. Everything else works without it.</p></noscript></div>",
        csrf = escape(&session.csrf),
    );
    page("Enrol your face", &body, Some("enrol.js")).into_response()
}
