//! Limen's HTTP service: the admin API, the employee API and pages, webcam
//! enrolment, the device API, and the mailer. Every change to a person, a
//! consent, a vector or an organisation is `limen-services`'s; this crate
//! moves requests between them and people, and maps their answers to HTTP.

pub mod bodies;
pub mod client;
pub mod config;
pub mod mailer;
pub mod metrics;
pub mod people_import;
pub mod rate_limit;
pub mod tls;

mod access_clients;
mod admin;
mod admin_pages;
pub mod admins;
mod api_doc;
mod api_keys;
mod auth;
mod checked_form;
mod connections;
mod employee;
mod enrol;
mod entrances;
mod error;
mod frame_buffer;
mod frames;
mod i18n;
mod invitation_queue;
mod invitations;
mod liveness;
mod login_guard;
mod mails;
mod models;
mod pages;
mod password_reset;
mod requests;
mod security;
mod sign_in;
mod views;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use limen_services::Services;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::api_doc::openapi;
pub use crate::connections::ConnectionLimits;

use crate::access_clients::AccessClients;
use crate::config::Config;
pub use crate::error::ApiError;
use crate::login_guard::LoginGuard;
use crate::mailer::Mailer;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;

/// How often due renewal and re-consent requests are looked for and sent.
const REQUESTS_EVERY: Duration = Duration::from_secs(10);

/// Largest JSON or form body accepted.
const SMALL_BODY_LIMIT: usize = 256 * 1024;
/// Largest people import (CSV or JSON).
const IMPORT_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Largest enrolment upload: up to five webcam frames.
const FACE_BODY_LIMIT: usize = 12 * 1024 * 1024;

pub struct AppState {
    pub config: Config,
    pub services: Services,
    pub mailer: Mailer,
    login_guard: LoginGuard,
    frame_limiter: RateLimiter,
    /// Enrolments and quality checks per person: engine work an employee
    /// can ask for.
    enrolment_limiter: RateLimiter,
    check_limiter: RateLimiter,
    /// Requests for a password link, per address asked for and per client
    /// (which may be a whole office behind one address).
    reset_address_limiter: RateLimiter,
    reset_client_limiter: RateLimiter,
    access_clients: AccessClients,
    invitations: invitation_queue::InvitationQueue,
    csrf_key: zeroize::Zeroizing<[u8; 32]>,
    metrics: Metrics,
}

impl AppState {
    pub fn new(config: Config, services: Services, mailer: Mailer) -> AppState {
        let csrf_key = services.store().master_key().derive("csrf");
        let frames_per_minute = config.device_frames_per_minute;
        AppState {
            config,
            services,
            mailer,
            // Per instance: with N instances behind a load balancer, an
            // attacker gets up to N times these (see the README).
            login_guard: LoginGuard::default(),
            frame_limiter: RateLimiter::new(frames_per_minute, Duration::from_secs(60)),
            // A sitting is one enrolment; a few retries are generous.
            enrolment_limiter: RateLimiter::new(10, Duration::from_secs(600)),
            // The webcam page checks at most about two frames a second.
            check_limiter: RateLimiter::new(180, Duration::from_secs(60)),
            // A forgotten password is asked for a few times at most.
            reset_address_limiter: RateLimiter::new(5, Duration::from_secs(3600)),
            reset_client_limiter: RateLimiter::new(50, Duration::from_secs(3600)),
            access_clients: AccessClients::default(),
            invitations: invitation_queue::InvitationQueue::default(),
            csrf_key,
            metrics: Metrics::default(),
        }
    }
}

/// The API (every route under `/api/`) and the service's health checks,
/// each route with its documentation.
fn api() -> OpenApiRouter<Arc<AppState>> {
    api_doc::root()
        .routes(routes!(health))
        .routes(routes!(ready))
        .merge(admin::routes(IMPORT_BODY_LIMIT))
        .merge(api_keys::routes())
        .merge(admins::routes())
        .merge(employee::routes())
        .merge(enrol::api_routes(FACE_BODY_LIMIT))
        .merge(entrances::routes())
        .merge(frames::routes())
        .merge(invitation_queue::routes())
        .merge(security::routes())
        .merge(models::routes())
        .merge(liveness::routes())
}

/// Every route the service serves: the API and the pages. Nothing under
/// `/api/` may come from anywhere but [`api`] (a test holds the router's
/// routes to the document).
pub fn routes() -> Router<Arc<AppState>> {
    let (api, _) = api().split_for_parts();
    api.merge(admin_pages::routes())
        .merge(pages::routes())
        .merge(sign_in::routes())
        .merge(password_reset::routes())
        .merge(enrol::routes(FACE_BODY_LIMIT))
}

pub fn router(state: Arc<AppState>) -> Router {
    routes()
        .layer(axum::extract::DefaultBodyLimit::max(SMALL_BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "Up", body = String, content_type = "text/plain", example = "ok")))]
async fn health() -> &'static str {
    "ok"
}

/// The process can serve: its database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain", example = "ready"),
        (status = 503, description = "The database does not answer", body = String, content_type = "text/plain", example = "database unreachable"),
    ),
)]
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match state.services.store().ping().await {
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

async fn security_headers(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Served over https, browsers should never try plain http again (a
    // first request over http could be intercepted and redirected). When
    // Limen terminates TLS its public address is https (the configuration
    // insists), and it serves nothing over plain http; behind a proxy the
    // header reaches browsers over the proxy's https.
    if state.config.is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
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

/// Where `limen serve` listens.
pub struct Listeners {
    /// Everything people, admins and devices reach.
    pub service: tokio::net::TcpListener,
    /// When set, the service speaks https with this certificate.
    pub tls: Option<tls::TlsTermination>,
    /// `/metrics`, apart from the service (plain http, for the operator's
    /// monitoring only).
    pub metrics: Option<tokio::net::TcpListener>,
}

/// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
pub async fn serve(state: Arc<AppState>, listeners: Listeners) -> std::io::Result<()> {
    let purge_state = state.clone();
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            purge_state.services.purge_expired().await;
        }
    });
    let requests_state = state.clone();
    let requests = tokio::spawn(async move {
        let mut tick = tokio::time::interval(REQUESTS_EVERY);
        loop {
            tick.tick().await;
            requests::send_due(&requests_state).await;
        }
    });
    let invitations = tokio::spawn(invitation_queue::send_queued(state.clone()));
    let metrics = listeners.metrics.map(|listener| {
        tokio::spawn(connections::serve(
            listener,
            None,
            metrics::routes(state.clone()),
            state.config.connections,
            std::future::pending(),
        ))
    });
    connections::serve(
        listeners.service,
        listeners.tls,
        router(state.clone()),
        state.config.connections,
        shutdown_signal(),
    )
    .await;
    purge.abort();
    requests.abort();
    invitations.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    state.services.shutdown().await;
    tracing::info!("stopped");
    Ok(())
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
