//! The organisation admin's security level: `GET` shows it with what it
//! means for the organisation's gallery today, `PUT` changes it.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use limen_domain::SecurityLevel;
use limen_services::SecurityView;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Admin;
use crate::bodies::LevelChange;
use crate::error::{ApiError, ErrorBody, JsonBody};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(show, change))
}

/// The organisation's security level and what it means today.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "level": "high", "target_fpir": 0.001, "gallery_people": 240, "threshold": 0.412,
    "expected_genuine_acceptance": { "one_vector": 0.93, "three_vectors": 0.98 },
    "levels": [
        { "level": "standard", "target_fpir": 0.01 },
        { "level": "high", "target_fpir": 0.001 },
        { "level": "very_high", "target_fpir": 0.0001 }
    ]
}))]
struct Security {
    level: SecurityLevel,
    /// The share of strangers the level lets be matched to somebody.
    target_fpir: f64,
    /// People in the organisation's gallery (on this instance).
    gallery_people: usize,
    /// The normalised distance under which one frame is a match, for
    /// today's gallery.
    threshold: f32,
    expected_genuine_acceptance: GenuineAcceptance,
    /// Every level, to choose from.
    levels: Vec<LevelTarget>,
}

/// Share of an enrolled person's single frames accepted, as measured on
/// lfw-dev.
#[derive(Debug, Serialize, ToSchema)]
struct GenuineAcceptance {
    one_vector: f32,
    three_vectors: f32,
}

#[derive(Debug, Serialize, ToSchema)]
struct LevelTarget {
    level: SecurityLevel,
    target_fpir: f64,
}

impl From<SecurityView> for Security {
    fn from(view: SecurityView) -> Security {
        Security {
            level: view.level,
            target_fpir: view.target_fpir,
            gallery_people: view.gallery_people,
            threshold: view.threshold,
            expected_genuine_acceptance: GenuineAcceptance {
                one_vector: view.expected_acceptance_one_vector,
                three_vectors: view.expected_acceptance_three_vectors,
            },
            levels: SecurityLevel::ALL
                .map(|level| LevelTarget {
                    level,
                    target_fpir: level.target_fpir(),
                })
                .into(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/security",
    tag = "organisation",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The level", body = Security),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn show(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Security>, ApiError> {
    Ok(Json(state.services.security(&admin.org).await?.into()))
}

/// Changes the level; the entrances use it from their next frame.
#[utoipa::path(
    put,
    path = "/api/v1/security",
    tag = "organisation",
    security(("api_key" = []), ("admin_session" = [])),
    request_body(content = LevelChange, example = json!({ "level": "very_high" })),
    responses(
        (status = 200, description = "Changed", body = Security),
        (status = 400, description = "Not a level", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn change(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(change): JsonBody<LevelChange>,
) -> Result<Json<Security>, ApiError> {
    Ok(Json(
        state
            .services
            .set_security_level(&admin, change.level()?)
            .await?
            .into(),
    ))
}
