//! Model renewal as the organisation sees it: `GET /api/v1/model` shows
//! the versions in use and how far the organisation's people are with
//! renewing (the requests themselves go out from `requests`).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use limen_services::RolloutView;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Admin;
use crate::error::ApiError;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/model", get(show))
}

async fn show(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(&state.services.rollout_view(&admin.org).await?)))
}

fn view(view: &RolloutView) -> Value {
    let rollout = &view.rollout;
    json!({
        "active": rollout.active,
        "activated_at": rollout.activated_at,
        "transition": rollout.transition.as_ref().map(|t| json!({
            "retiring": t.retiring,
            "ends_at": t.ends_at,
            "reminders_before_end_seconds": t.reminders,
        })),
        "people": {
            "renewed": view.progress.renewed,
            "pending": view.progress.pending,
            "expired": view.progress.expired,
        },
    })
}
