//! An entrance's liveness mode, as its organisation's admin sets it:
//! `PUT /api/v1/entrances/{id}/liveness {"mode": "off" | "monitor" | "enforce"}`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use limen_domain::EntranceId;

use crate::AppState;
use crate::auth::AdminOrg;
use crate::bodies::ModeChange;
use crate::error::{ApiError, JsonBody};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/entrances/{id}/liveness", put(change))
}

async fn change(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<ModeChange>,
) -> Result<StatusCode, ApiError> {
    let entrance = EntranceId::parse(&id).map_err(|_| ApiError::not_found())?;
    let mode = change.mode()?;
    state
        .services
        .set_entrance_liveness(&org, &entrance, mode)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
