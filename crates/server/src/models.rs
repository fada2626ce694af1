//! Model renewal as the organisation sees it: `GET /api/v1/model` shows
//! the versions in use and how far the organisation's people are with
//! renewing (the requests themselves go out from `requests`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use limen_domain::{ModelVersion, UnixTime};
use limen_services::RolloutView;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(show))
}

/// The model versions in use, and the organisation's people's renewals.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "active": "dlib-resnet-v2", "activated_at": 1767000000,
    "transition": { "retiring": "dlib-resnet-v1", "ends_at": 1769592000, "reminders_before_end_seconds": [1209600, 259200] },
    "people": { "renewed": 180, "pending": 58, "expired": 2 }
}))]
struct ModelInUse {
    /// The version enrolment uses.
    active: ModelVersion,
    activated_at: UnixTime,
    /// An older version the entrances still match, while its holders renew.
    transition: Option<ModelTransition>,
    people: RenewalCounts,
}

#[derive(Debug, Serialize, ToSchema)]
struct ModelTransition {
    retiring: ModelVersion,
    /// When the retiring version's vectors are deleted.
    ends_at: UnixTime,
    /// When people who have not renewed are reminded, in seconds before
    /// `ends_at`, largest first.
    reminders_before_end_seconds: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
struct RenewalCounts {
    /// Enrolled with the active version since it was activated.
    renewed: u64,
    /// Still holding only vectors of the retiring version.
    pending: u64,
    /// Their old vectors were deleted when a transition ended; not
    /// enrolled since.
    expired: u64,
}

#[utoipa::path(
    get,
    path = "/api/v1/model",
    tag = "organisation",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The versions and renewals", body = ModelInUse),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn show(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<ModelInUse>, ApiError> {
    let view: RolloutView = state.services.rollout_view(&admin.org).await?;
    let rollout = view.rollout;
    Ok(Json(ModelInUse {
        active: rollout.active,
        activated_at: rollout.activated_at,
        transition: rollout.transition.map(|t| ModelTransition {
            retiring: t.retiring,
            ends_at: t.ends_at,
            reminders_before_end_seconds: t.reminders,
        }),
        people: RenewalCounts {
            renewed: view.progress.renewed,
            pending: view.progress.pending,
            expired: view.progress.expired,
        },
    }))
}
