//! An entrance's liveness mode, as its organisation's admin sets it:
//! `PUT /api/v1/entrances/{id}/liveness {"mode": "off" | "monitor" | "enforce"}`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use limen_domain::EntranceId;

use crate::AppState;
use crate::auth::Admin;
use crate::bodies::ModeChange;
use crate::error::{ApiError, JsonBody};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/entrances/{id}/liveness", put(change))
}

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
