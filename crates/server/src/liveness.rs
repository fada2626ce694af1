//! An entrance's liveness mode, as its organisation's admin sets it:
//! `PUT /api/v1/entrances/{id}/liveness {"mode": "off" | "monitor" | "enforce"}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use limen_domain::EntranceId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Admin;
use crate::bodies::ModeChange;
use crate::error::{ApiError, ErrorBody, JsonBody};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(change))
}

/// Sets whether the entrance judges that a frame shows a live face:
/// `off`, `monitor` (recorded only) or `enforce` (a pass judged not live
/// is answered `spoof_suspected`).
#[utoipa::path(
    put,
    path = "/api/v1/entrances/{id}/liveness",
    tag = "entrances",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = EntranceId, Path, description = "The entrance")),
    request_body(content = ModeChange, example = json!({ "mode": "enforce" })),
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "Not a mode", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such entrance in the organisation", body = ErrorBody),
    ),
)]
async fn change(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<ModeChange>,
) -> Result<StatusCode, ApiError> {
    let entrance = EntranceId::parse(&id).map_err(|_| ApiError::not_found())?;
    let mode = change.mode()?;
    state
        .services
        .set_entrance_liveness(&admin, &entrance, mode)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
