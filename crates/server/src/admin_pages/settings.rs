//! The organisation's settings on its page (`/admin`): the security level,
//! the face model's renewal progress, the default language; changed with
//! forms posted to `/admin/security` and `/admin/language`. The same
//! services and checks as `/api/v1/security`, `/api/v1/model` and
//! `/api/v1/language`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use limen_domain::{Language, SecurityLevel};
use serde::Deserialize;

use super::AdminPage;
use super::time::{is_known_zone, known_zones, local_time};
use crate::AppState;
use crate::bodies::{LanguageChange, LevelChange};
use crate::checked_form::CheckedForm;
use crate::error::ApiError;
use crate::i18n::{Text, Tr};
use crate::pages::error_page;

/// What the organisation's page shows of its settings.
pub struct OrganisationSettings {
    /// Each level: its code, its words, and whether it is the current one.
    pub levels: Vec<(&'static str, String, bool)>,
    /// Each language: its code, its name, and whether it is the default.
    pub languages: Vec<(&'static str, String, bool)>,
    /// The face model and how far its renewal is, in words.
    pub renewal: String,
    /// Each time zone by name, and whether it is the organisation's.
    pub zones: Vec<(String, bool)>,
}

pub async fn settings(
    state: &AppState,
    page: &AdminPage,
) -> Result<OrganisationSettings, ApiError> {
    let t = page.t;
    let org = &page.admin.org;
    let security = state.services.security(org).await?;
    let rollout = state.services.rollout_view(org).await?;
    let language = state.services.organisation_language(org).await?;
    // The zone the page's session read with the organisation.
    let time_zone = page.zone.iana_name().unwrap_or("UTC");
    let progress = &rollout.progress;
    let renewal = match &rollout.rollout.transition {
        Some(transition) => t.text(
            &Text::new("admin-organisation-renewal")
                .with("model", rollout.rollout.active.as_str().to_owned())
                .with("retiring", transition.retiring.as_str().to_owned())
                .with("until", local_time(transition.ends_at, &page.zone))
                .with("renewed", progress.renewed.to_string())
                .with("pending", progress.pending.to_string())
                .with("expired", progress.expired.to_string()),
        ),
        None => t.tr1(
            "admin-organisation-no-renewal",
            "model",
            rollout.rollout.active.as_str(),
        ),
    };
    Ok(OrganisationSettings {
        levels: SecurityLevel::ALL
            .into_iter()
            .map(|level| {
                let one_in = (1.0 / level.target_fpir()).round() as u32;
                let words = t.tr2(
                    "admin-organisation-level-option",
                    "level",
                    level_name(&t, level),
                    "one_in",
                    one_in,
                );
                (level.as_str(), words, level == security.level)
            })
            .collect(),
        languages: Language::ALL
            .into_iter()
            .map(|l| {
                let name = t.tr(match l {
                    Language::English => "admin-organisation-language-en",
                    Language::Dutch => "admin-organisation-language-nl",
                });
                (l.code(), name, l == language)
            })
            .collect(),
        renewal,
        zones: known_zones()
            .into_iter()
            .map(|zone| {
                let current = zone == time_zone;
                (zone, current)
            })
            .collect(),
    })
}

fn level_name(t: &Tr, level: SecurityLevel) -> String {
    t.tr(match level {
        SecurityLevel::Standard => "admin-organisation-level-standard",
        SecurityLevel::High => "admin-organisation-level-high",
        SecurityLevel::VeryHigh => "admin-organisation-level-very-high",
    })
}

#[derive(Deserialize)]
pub(super) struct LevelForm {
    level: String,
}

pub(super) async fn change_security(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, LevelForm>,
) -> Response {
    let changed = async {
        let level = LevelChange { level: form.level }.level()?;
        state
            .services
            .set_security_level(&page.admin, level)
            .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    back_home(page.t, changed)
}

#[derive(Deserialize)]
pub(super) struct LanguageForm {
    language: String,
}

pub(super) async fn change_language(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, LanguageForm>,
) -> Response {
    let changed = async {
        let language = LanguageChange {
            language: form.language,
        }
        .language()?;
        state
            .services
            .set_organisation_language(&page.admin, language)
            .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    back_home(page.t, changed)
}

#[derive(Deserialize)]
pub(super) struct TimeZoneForm {
    time_zone: String,
}

pub(super) async fn change_time_zone(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: page,
        form,
    }: CheckedForm<AdminPage, TimeZoneForm>,
) -> Response {
    let changed = async {
        if !is_known_zone(&form.time_zone) {
            return Err(ApiError::unprocessable("not a time zone this server knows")
                .with_text(Text::new("admin-organisation-time-zone-unknown")));
        }
        state
            .services
            .set_organisation_time_zone(&page.admin, &form.time_zone)
            .await?;
        Ok(())
    }
    .await;
    back_home(page.t, changed)
}

/// After a change: back to the organisation's page. A value no form offers
/// is answered with an error page.
fn back_home(t: Tr, changed: Result<(), ApiError>) -> Response {
    match changed {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(e) => error_page(t, e),
    }
}
