//! The organisation admin's security level: `GET` shows it with what it
//! means for the organisation's gallery today, `PUT` changes it.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use limen_domain::SecurityLevel;
use limen_services::SecurityView;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Admin;
use crate::bodies::LevelChange;
use crate::error::{ApiError, JsonBody};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/security", get(show).put(change))
}

async fn show(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(&state.services.security(&admin.org).await?)))
}

async fn change(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(change): JsonBody<LevelChange>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(
        &state
            .services
            .set_security_level(&admin, change.level()?)
            .await?,
    )))
}

fn view(security: &SecurityView) -> Value {
    json!({
        "level": security.level,
        "target_fpir": security.target_fpir,
        "gallery_people": security.gallery_people,
        "threshold": security.threshold,
        "expected_genuine_acceptance": {
            "one_vector": security.expected_acceptance_one_vector,
            "three_vectors": security.expected_acceptance_three_vectors,
        },
        "levels": SecurityLevel::ALL.map(|level| json!({
            "level": level,
            "target_fpir": level.target_fpir(),
        })),
    })
}
