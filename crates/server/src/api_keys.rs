//! An organisation's API keys through the admin API: list, make (the
//! token is in the answer this once), revoke.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use limen_domain::ApiKeyId;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Admin;
use crate::bodies::NewApiKeyBody;
use crate::error::{ApiError, JsonBody};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/api-keys", get(list).post(create))
        .route("/api/v1/api-keys/{id}", delete(revoke))
}

async fn list(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.services.api_keys(&admin.org).await?)))
}

async fn create(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<NewApiKeyBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let made = state
        .services
        .create_api_key(&admin, &body.checked_name()?)
        .await?;
    let mut answer = json!(made.key);
    answer["token"] = json!(made.token);
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = ApiKeyId::parse(&id).map_err(|_| ApiError::not_found())?;
    if !state.services.revoke_api_key(&admin, &key).await? {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
