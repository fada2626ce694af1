//! The organisation's admin in a browser: sign-in, and a page per thing
//! an admin looks after. Each page calls the same services as the admin
//! API, so a rule lives in one place; an admin never sees a face or a
//! vector.

mod audit;
mod entrances;
mod events;
mod organisation;
mod password_reset;
mod people;
mod people_import;
mod register;
mod session;
mod settings;
mod sign_in;
mod time;
mod two_step;
pub(crate) mod words;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use limen_domain::{OrgId, Organisation};
use limen_services::ServiceError;

use crate::AppState;
use crate::i18n::Tr;

pub use session::{AdminPage, admin_cookie_name};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin", get(organisation::home))
        .route(
            "/admin/login",
            get(sign_in::login_form).post(sign_in::login),
        )
        .route("/admin/logout", post(sign_in::logout))
        .route(
            "/admin/password/forgot",
            get(password_reset::forgot_form).post(password_reset::forgot),
        )
        .route(
            "/admin/password/reset",
            get(password_reset::reset_form).post(password_reset::reset),
        )
        .route("/admin/admins", post(organisation::invite))
        .route("/admin/two-step", get(two_step::show).post(two_step::begin))
        .route("/admin/two-step/confirm", post(two_step::confirm))
        .route("/admin/two-step/off", post(two_step::end))
        .route(
            "/admin/register",
            get(register::register_form).post(register::register),
        )
        .merge(people::routes())
        .route("/admin/security", post(settings::change_security))
        .route("/admin/language", post(settings::change_language))
        .route("/admin/time-zone", post(settings::change_time_zone))
        .route("/admin/events", get(events::events))
        .route("/admin/audit", get(audit::audit))
        .route(
            "/admin/entrances",
            get(entrances::entrances).post(entrances::create),
        )
        .route("/admin/entrances/{id}/rename", post(entrances::rename))
        .route("/admin/entrances/{id}/delete", post(entrances::delete))
        .route("/admin/entrances/{id}/test", post(entrances::test))
        .route(
            "/admin/entrances/{id}/connector",
            post(entrances::change_connector),
        )
        .route("/admin/entrances/{id}/devices", post(entrances::add_camera))
        .route(
            "/admin/entrances/{id}/devices/{device}/revoke",
            post(entrances::revoke_camera),
        )
}

/// The part of the admin's pages a page belongs to, marked in the
/// navigation for the eye and for screen readers (`aria-current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminNav {
    Organisation,
    People,
    Entrances,
    Events,
    Audit,
}

/// A link of the admin's navigation.
pub struct NavLink {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// An organisation's name and default language.
async fn organisation(state: &AppState, org: &OrgId) -> Result<Organisation, ServiceError> {
    state
        .services
        .store()
        .organisation(org)
        .await?
        .ok_or(ServiceError::UnknownOrganisation)
}

impl AdminNav {
    /// The navigation's links, this section's marked current.
    pub fn links(self, t: &Tr) -> Vec<NavLink> {
        [
            (AdminNav::Organisation, "/admin", "admin-nav-organisation"),
            (AdminNav::People, "/admin/people", "admin-nav-people"),
            (
                AdminNav::Entrances,
                "/admin/entrances",
                "admin-nav-entrances",
            ),
            (AdminNav::Events, "/admin/events", "admin-nav-events"),
            (AdminNav::Audit, "/admin/audit", "admin-nav-audit"),
        ]
        .into_iter()
        .map(|(section, href, label)| NavLink {
            href,
            label: t.tr(label),
            current: section == self,
        })
        .collect()
    }
}
