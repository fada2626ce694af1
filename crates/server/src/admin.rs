//! The organisation admin's API: people, invitations, erasure, audit.
//! Every query is scoped by the organisation the bearer token belongs to.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use limen_domain::PersonId;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Admin;
use crate::bodies::LanguageChange;
use crate::error::{ApiError, JsonBody};
use crate::invitations::invite;
use crate::people_import::{ImportFileError, ImportFormat, read_import};

const OPENAPI: &str = include_str!("openapi.json");

pub fn routes(import_limit: usize) -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route(
            "/api/v1/people",
            post(import_people)
                .layer(DefaultBodyLimit::max(import_limit))
                .get(list_people),
        )
        .route("/api/v1/people/{id}", delete(delete_person))
        .route("/api/v1/people/{id}/invitation", post(send_invitation))
        .route("/api/v1/audit", get(audit_trail))
        .route("/api/v1/language", get(language).put(change_language))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn import_people(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = ImportFormat::of(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the people as application/json (an array) or text/csv (first_name,last_name,email,acs_id)",
        )
    })?;
    let rows = read_import(format, &body).map_err(|e| match e {
        ImportFileError::Json(_) => ApiError::bad_request(e.to_string()),
        _ => ApiError::unprocessable(e.to_string()),
    })?;
    let checked = rows.into_iter().map(|row| row.checked).collect();
    let report = state.services.import_people(&admin, checked).await?;
    Ok(Json(json!(report)))
}

async fn list_people(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.services.people(&admin.org).await?)))
}

fn person_id(text: &str) -> Result<PersonId, ApiError> {
    PersonId::parse(text).map_err(|_| ApiError::not_found())
}

async fn delete_person(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state
        .services
        .erase_person(&admin, &person_id(&id)?)
        .await?
    {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn send_invitation(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let person = person_id(&id)?;
    let expires_at = invite(&state, &admin, &person).await?;
    Ok(Json(
        json!({ "person_id": person, "expires_at": expires_at }),
    ))
}

async fn audit_trail(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state
            .services
            .store()
            .audit_trail(admin.org.as_str())
            .await?
    )))
}

/// The organisation's default language, for its people who chose none.
async fn language(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Value>, ApiError> {
    let language = state.services.organisation_language(&admin.org).await?;
    Ok(Json(json!({ "language": language })))
}

async fn change_language(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(change): JsonBody<LanguageChange>,
) -> Result<Json<Value>, ApiError> {
    let language = change.language()?;
    state
        .services
        .set_organisation_language(&admin, language)
        .await?;
    Ok(Json(json!({ "language": language })))
}
