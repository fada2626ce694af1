//! An organisation's API keys through the admin API: list, make (the
//! token is in the answer this once), revoke.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use limen_domain::{ApiKey, ApiKeyId};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Admin;
use crate::bodies::NewApiKeyBody;
use crate::error::{ApiError, ErrorBody, JsonBody};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

/// The organisation's API keys (never the keys themselves).
#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    tag = "api keys",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The keys", body = Vec<ApiKey>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn list(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(state.services.api_keys(&admin.org).await?))
}

/// A key as made: the token is in this answer only.
#[derive(Debug, Serialize, ToSchema)]
struct ApiKeyMade {
    #[serde(flatten)]
    key: ApiKey,
    /// The key itself, a bearer token (scheme `api_key`): shown this
    /// once, stored only as a hash.
    token: String,
}

/// Makes a named API key.
#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    tag = "api keys",
    security(("api_key" = []), ("admin_session" = [])),
    request_body(content = NewApiKeyBody, example = json!({ "name": "HR system" })),
    responses(
        (status = 201, description = "Made", body = ApiKeyMade),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 409, description = "The name is taken, or the organisation holds the most keys it may", body = ErrorBody),
        (status = 422, description = "Not a name", body = ErrorBody),
    ),
)]
async fn create(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<NewApiKeyBody>,
) -> Result<(StatusCode, Json<ApiKeyMade>), ApiError> {
    let made = state
        .services
        .create_api_key(&admin, &body.checked_name()?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyMade {
            key: made.key,
            token: made.token,
        }),
    ))
}

/// Revokes a key: requests with it are refused from now on.
#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{id}",
    tag = "api keys",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = ApiKeyId, Path, description = "The key")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such key in the organisation", body = ErrorBody),
    ),
)]
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
