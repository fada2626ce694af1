//! Limen's HTTP service: the admin API, the employee API and pages, webcam
//! enrolment, and the mailer. The face maths is the engine's; the data is
//! the store's; this crate moves requests between them and people.

pub mod config;
pub mod galleries;
pub mod mailer;
pub mod password;
pub mod rate_limit;
pub mod statement;

mod admin;
mod auth;
mod employee;
mod enrol;
mod entrances;
mod error;
mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use limen_face::FaceEngine;
use limen_matcher::{DecisionRule, SecurityLevel};
use limen_store::{AuditEvent, OrgId, Store};

use crate::config::Config;
use crate::entrances::AccessClients;
use crate::galleries::LiveGalleries;
use crate::mailer::Mailer;
use crate::rate_limit::RateLimiter;

/// Largest JSON or form body accepted.
const SMALL_BODY_LIMIT: usize = 256 * 1024;
/// Largest people import (CSV or JSON).
const IMPORT_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Largest enrolment upload: up to five webcam frames.
const FACE_BODY_LIMIT: usize = 12 * 1024 * 1024;

pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub engine: Arc<FaceEngine>,
    pub mailer: Mailer,
    /// Every organisation's gallery of the engine's model version.
    pub galleries: LiveGalleries,
    /// How entrances decide who is close enough to be a match.
    pub decision_rule: DecisionRule,
    login_by_address: RateLimiter,
    login_by_account: RateLimiter,
    frame_limiter: RateLimiter,
    access_clients: AccessClients,
    csrf_key: zeroize::Zeroizing<[u8; 32]>,
}

impl AppState {
    /// `galleries` must hold the engine's model version (see
    /// [`LiveGalleries::load`]).
    pub fn new(
        config: Config,
        store: Store,
        engine: Arc<FaceEngine>,
        mailer: Mailer,
        galleries: LiveGalleries,
    ) -> AppState {
        let csrf_key = store.master_key().derive("csrf");
        let frames_per_minute = config.device_frames_per_minute;
        AppState {
            config,
            store,
            engine,
            mailer,
            galleries,
            decision_rule: DecisionRule::new(SecurityLevel::default()),
            login_by_address: RateLimiter::new(50, Duration::from_secs(300)),
            login_by_account: RateLimiter::new(10, Duration::from_secs(300)),
            frame_limiter: RateLimiter::new(frames_per_minute, Duration::from_secs(60)),
            access_clients: AccessClients::default(),
            csrf_key,
        }
    }

    /// Records an action in the organisation's audit trail. A failure to
    /// record is logged but does not undo the action already done.
    pub(crate) async fn audit(
        &self,
        org: &OrgId,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) {
        let event = AuditEvent {
            actor,
            action,
            subject,
            detail,
        };
        if let Err(e) = self.store.audit(org.as_str(), event).await {
            tracing::error!(error = %e, action, "cannot append to the audit trail");
        }
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .merge(admin::routes(IMPORT_BODY_LIMIT))
        .merge(employee::routes())
        .merge(pages::routes())
        .merge(enrol::routes(FACE_BODY_LIMIT))
        .merge(entrances::routes())
        .layer(axum::extract::DefaultBodyLimit::max(SMALL_BODY_LIMIT))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// One line per request: method, route pattern, status, time. The route
/// pattern, not the URI, so that tokens in paths or query strings (such as
/// registration links) never reach the log.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route = route.as_deref().unwrap_or("(unmatched)"),
        status = response.status().as_u16(),
        millis = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self' blob: mediastream:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    // Registration links carry a token: never pass them on as a referrer.
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CACHE_CONTROL, "no-store");
    response
}

/// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
pub async fn serve(state: Arc<AppState>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let purge_state = state.clone();
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            purge_expired(&purge_state).await;
        }
    });
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    purge.abort();
    state.store.close().await;
    tracing::info!("stopped");
    result
}

/// Drops what has outlived its retention period.
async fn purge_expired(state: &AppState) {
    let retention = &state.config.retention;
    let now = limen_store::now();
    let cancellations_before = now - i64::from(retention.cancellation_record_days) * 86_400;
    if let Err(e) = state.store.purge_expired(cancellations_before).await {
        tracing::warn!(error = %e, "retention purge failed");
    }
    let decisions_before = now - i64::from(retention.decision_event_days) * 86_400;
    match state.store.purge_decision_events(decisions_before).await {
        Ok(deleted) => tracing::debug!(deleted, "expired decision events purged"),
        Err(e) => tracing::warn!(error = %e, "decision event purge failed"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
