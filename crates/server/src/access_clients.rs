//! The HTTP connectors to organisations' access systems, built once per
//! entrance and connector version and shared by the requests that use
//! them (a frame's match, an admin's "send a test").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use limen_access::http::{HttpAccessSystem, SharedSecret};
use limen_domain::{Entrance, EntranceId};

use crate::AppState;
use crate::error::ApiError;

/// The HTTP connectors built so far, one per entrance, each with the
/// connector version it was built for: a change of URL or secret (on any
/// instance) counts the entrance's version up, and the next use builds
/// the connector anew.
#[derive(Default)]
pub struct AccessClients(Mutex<HashMap<EntranceId, (i64, Arc<HttpAccessSystem>)>>);

/// Builds a connector for a URL and secret, as the server's policy on
/// connector addresses allows; the inner error says why it cannot.
pub(crate) async fn build_access_system(
    state: &AppState,
    url: String,
    secret: SharedSecret,
) -> Result<Result<HttpAccessSystem, limen_access::http::HttpConfigError>, ApiError> {
    let policy = state.config.connector_policy.clone();
    // Reads the system's trusted roots from disk: off the async threads.
    tokio::task::spawn_blocking(move || {
        HttpAccessSystem::new(&url, secret, HttpAccessSystem::DEFAULT_TIMEOUT, policy)
    })
    .await
    .map_err(|_| ApiError::internal())
}

/// The entrance's connector, built once per connector version.
pub(crate) async fn access_system(
    state: &AppState,
    entrance: &Entrance,
) -> Result<Arc<HttpAccessSystem>, String> {
    let built = lock_clients(&state.access_clients)
        .get(&entrance.id)
        .filter(|(version, _)| *version == entrance.connector_version)
        .map(|(_, system)| system.clone());
    if let Some(system) = built {
        return Ok(system);
    }
    let url = entrance.url.clone().ok_or("no URL stored")?;
    let secret = state
        .services
        .store()
        .entrance_secret(entrance)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no secret stored")
        .and_then(|s| {
            SharedSecret::from_key(s.to_vec()).map_err(|_| "the stored secret is unusable")
        })?;
    let system = build_access_system(state, url, secret)
        .await
        .map_err(|e| e.message)?
        .map_err(|e| e.to_string())?;
    let system = Arc::new(system);
    lock_clients(&state.access_clients).insert(
        entrance.id.clone(),
        (entrance.connector_version, system.clone()),
    );
    Ok(system)
}
fn lock_clients(
    clients: &AccessClients,
) -> std::sync::MutexGuard<'_, HashMap<EntranceId, (i64, Arc<HttpAccessSystem>)>> {
    clients.0.lock().unwrap_or_else(|p| p.into_inner())
}
/// An error with its chain of causes, for the log.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

impl AccessClients {
    /// Forgets an entrance's connector (the entrance is gone).
    pub(crate) fn forget(&self, entrance: &EntranceId) {
        lock_clients(self).remove(entrance);
    }
}
