//! An admin signed in through the pages: a cookie of its own holding an
//! admin session's token (never an API key, which is for machines), and a
//! CSRF token on every form, as for employees.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;
use limen_domain::{AdminCredential, AdminId, Language, OrgAdmin};
use limen_store::token::token_hash;

use super::time::zone_named;
use crate::AppState;
use crate::auth::{CsrfToken, cookie_value};
use crate::config::Config;
use crate::error::ApiError;
use crate::i18n::{Tr, accepted_language};

/// The admin session cookie's name: apart from the employees' so that one
/// browser can hold both, `__Host-` over https for the reasons given at
/// [`crate::auth::session_cookie_name`].
pub fn admin_cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-limen_admin"
    } else {
        "limen_admin"
    }
}

pub struct AdminPage {
    pub admin: OrgAdmin,
    pub admin_id: AdminId,
    /// The organisation's name, shown on every page.
    pub organisation: String,
    /// The time zone its times are shown in.
    pub zone: TimeZone,
    pub token_hash: [u8; 32],
    /// The token every form of this session must carry.
    pub csrf: CsrfToken,
    /// The language the admin reads: their browser's, else the
    /// organisation's.
    pub t: Tr,
}

impl<S> FromRequestParts<S> for AdminPage
where
    Arc<AppState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = Arc::<AppState>::from_ref(state);
        let to_login = || Redirect::to("/admin/login").into_response();
        let token =
            cookie_value(&parts.headers, admin_cookie_name(&state.config)).ok_or_else(to_login)?;
        let hash = token_hash(&token);
        let admin = match state.services.store().admin_for_session(&hash).await {
            Ok(Some(admin)) => admin,
            Ok(None) => return Err(to_login()),
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        let AdminCredential::Account(admin_id) = admin.by.clone() else {
            return Err(to_login());
        };
        let organisation = match super::organisation(&state, &admin.org).await {
            Ok(found) => found,
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        let language = Language::read_by(
            None,
            accepted_language(&parts.headers),
            organisation.language,
        );
        Ok(AdminPage {
            admin,
            admin_id,
            zone: zone_named(&organisation.time_zone),
            organisation: organisation.name,
            token_hash: hash,
            csrf: CsrfToken::of_session(&state, &hash),
            t: Tr::new(language),
        })
    }
}
