//! Who is asking: an organisation's admin (bearer API key), an employee on
//! the API (bearer session token) or an employee in the browser (session
//! cookie, with a CSRF token on every form).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{KeyInit, Mac};
use limen_domain::{Language, OrgAdmin, Person};
use limen_store::token::token_hash;

use crate::AppState;
use crate::config::Config;
use crate::error::ApiError;
use crate::i18n::{Tr, accepted_language};

/// The session cookie's name. Over https it carries the `__Host-` prefix,
/// which browsers accept only from a secure origin, for path `/` and
/// without a domain: no sibling subdomain or plain-http page can plant or
/// overwrite it.
pub fn session_cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-limen_session"
    } else {
        "limen_session"
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The organisation's admin whose API key or session came with the request.
pub struct Admin(pub OrgAdmin);

impl<S> FromRequestParts<S> for Admin
where
    Arc<AppState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = Arc::<AppState>::from_ref(state);
        let token = bearer(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let admin = state.services.admin_for_bearer(token).await?;
        admin.map(Admin).ok_or_else(ApiError::unauthorized)
    }
}

/// An employee signed in through the API.
pub struct ApiSession {
    pub person: Person,
    pub token_hash: [u8; 32],
}

impl<S> FromRequestParts<S> for ApiSession
where
    Arc<AppState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = Arc::<AppState>::from_ref(state);
        let token = bearer(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let hash = token_hash(token);
        let person = state
            .services
            .store()
            .session_person(&hash)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(ApiSession {
            person,
            token_hash: hash,
        })
    }
}

/// An employee signed in through the pages. Pages that need one send
/// everyone else to the login page.
pub struct PageSession {
    pub person: Person,
    pub token_hash: [u8; 32],
    /// The token every form of this session must carry.
    pub csrf: CsrfToken,
    /// The language the person reads.
    pub t: Tr,
}

pub fn session_cookie_value(headers: &HeaderMap, config: &Config) -> Option<String> {
    cookie_value(headers, session_cookie_name(config))
}

/// The value of the cookie `name` the browser sent, if any.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

impl<S> FromRequestParts<S> for PageSession
where
    Arc<AppState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = Arc::<AppState>::from_ref(state);
        let to_login = || Redirect::to("/login").into_response();
        let token = session_cookie_value(&parts.headers, &state.config).ok_or_else(to_login)?;
        let hash = token_hash(&token);
        let person = match state.services.store().session_person(&hash).await {
            Ok(Some(person)) => person,
            Ok(None) => return Err(to_login()),
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        let language = match person_language(&state, &person, &parts.headers).await {
            Ok(language) => language,
            Err(e) => return Err(e.into_response()),
        };
        Ok(PageSession {
            person,
            token_hash: hash,
            csrf: CsrfToken::of_session(&state, &hash),
            t: Tr::new(language),
        })
    }
}

/// The language a signed-in person reads: their choice, else their
/// browser's, else their organisation's ([`Language::read_by`]).
pub(crate) async fn person_language(
    state: &AppState,
    person: &Person,
    headers: &HeaderMap,
) -> Result<Language, ApiError> {
    let accepted = accepted_language(headers);
    let organisation = match (person.language, accepted) {
        // Only asked for when neither decides.
        (None, None) => state.services.organisation_language(&person.org_id).await?,
        _ => Language::default(),
    };
    Ok(Language::read_by(person.language, accepted, organisation))
}

/// The token every form of a session carries, an employee's or an
/// admin's: a MAC of the session's hash, so it needs no storage and means
/// nothing outside that session. Pages put it in a hidden field (it reads
/// as the `str` it is).
pub struct CsrfToken(String);

impl CsrfToken {
    pub fn of_session(state: &AppState, session_hash: &[u8; 32]) -> CsrfToken {
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(state.csrf_key.as_ref())
        else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(session_hash);
        CsrfToken(hex::encode(mac.finalize().into_bytes()))
    }

    /// Whether a form carried this token, compared in constant time.
    pub fn accepts(&self, presented: &str) -> bool {
        constant_time_eq(presented.as_bytes(), self.0.as_bytes())
    }
}

impl std::ops::Deref for CsrfToken {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

pub fn session_cookie(config: &Config, token: &str, max_age_secs: i64) -> String {
    set_cookie(session_cookie_name(config), token, max_age_secs)
}

pub fn cleared_session_cookie(config: &Config) -> String {
    set_cookie(session_cookie_name(config), "", 0)
}

/// A `Set-Cookie` value for a session token: never readable by scripts,
/// never sent over plain http or from another site.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> String {
    format!("{name}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_secs}")
}

/// Whether a browser sent this request from one of our own pages. Login
/// and registration have no session yet, so no CSRF token: a cross-site
/// post could log a victim into the attacker's account. Browsers say
/// where a request comes from in `Sec-Fetch-Site` (or at least `Origin`);
/// a request with neither is not from a browser that would be fooled.
pub fn from_this_site(headers: &HeaderMap, config: &Config) -> bool {
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match value("origin") {
        Some(origin) => origin.trim_end_matches('/') == config.public_origin(),
        None => true,
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
