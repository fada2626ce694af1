//! The employee's side as a JSON API: registration, login, consent, and
//! the rights over one's own data. Each handler calls the services and
//! serialises their answer; the pages call the same services.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use limen_domain::EmailAddress;
use limen_services::{AccountOverview, PersonExport, ServiceError, Session};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{ApiSession, person_language};
use crate::bodies::{ConsentRequest, LoginRequest, PasswordRequest, RegistrationRequest};
use crate::client::{Client, ClientGroup};
use crate::error::{ApiError, JsonBody};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/registration", post(api_register))
        .route("/api/v1/session", post(api_login).delete(api_logout))
        .route("/api/v1/me", get(api_me).delete(api_cancel))
        .route("/api/v1/me/statement", get(api_statement))
        .route("/api/v1/me/consent", post(api_consent).delete(api_withdraw))
        .route("/api/v1/me/export", get(api_export))
        .route("/api/v1/me/password", put(api_password))
}

/// Login, for the API and the pages alike, slowed after failures per
/// client address and per account (in this instance; see `login_guard`).
pub(crate) async fn log_in(
    state: &AppState,
    client: ClientGroup,
    email: &str,
    password: &str,
) -> Result<Session, ApiError> {
    let account = email.trim().to_lowercase();
    let login = async {
        match EmailAddress::parse(email) {
            Ok(email) => state.services.log_in(&email, password).await,
            Err(_) => Err(ServiceError::WrongCredentials),
        }
    };
    state.login_guard.attempt(&account, client, login).await
}

async fn api_register(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RegistrationRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let person = state
        .services
        .register(&request.token, &request.password)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "person_id": person.id, "account": person.email })),
    ))
}

async fn api_login(
    State(state): State<Arc<AppState>>,
    Client(client): Client,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let session = log_in(&state, client, &request.email, &request.password).await?;
    Ok(Json(
        json!({ "token": session.token, "expires_in": session.lifetime_secs }),
    ))
}

async fn api_logout(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    state.services.end_session(&session.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_me(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<Json<AccountOverview>, ApiError> {
    Ok(Json(
        state.services.account_overview(&session.person).await?,
    ))
}

/// The statement in the language the person reads (see
/// [`person_language`]): the version consented to names its language.
async fn api_statement(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let language = person_language(&state, &session.person, &headers).await?;
    let statement = state
        .services
        .statement_for(&session.person, language)
        .await?;
    Ok(Json(json!({
        "version": statement.version,
        "language": statement.language,
        "text": statement.text,
    })))
}

async fn api_consent(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
    JsonBody(request): JsonBody<ConsentRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .give_consent(&session.person, &request.statement_version, "api")
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_withdraw(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    state.services.withdraw_consent(&session.person).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_export(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<Json<PersonExport>, ApiError> {
    Ok(Json(state.services.export(&session.person).await?))
}

async fn api_cancel(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    state.services.cancel_registration(&session.person).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_password(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
    JsonBody(request): JsonBody<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .change_password(
            &session.person,
            &session.token_hash,
            &request.current_password,
            &request.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
