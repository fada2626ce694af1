//! The employee's side, as a JSON API, and the actions the pages share
//! with it: registration, login, consent, the rights over one's own data.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use limen_store::token::{new_token, token_hash};
use limen_store::{EmailAddress, Person, RedeemError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::ApiSession;
use crate::error::{ApiError, JsonBody};
use crate::password::{check_new_password, hash_password, verify_password};
use crate::statement::Statement;

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

// ----- actions shared by the API and the pages ----------------------------

pub(crate) fn actor(person: &Person) -> String {
    format!("employee:{}", person.id)
}

pub(crate) async fn statement_for(
    state: &AppState,
    person: &Person,
) -> Result<Statement, ApiError> {
    let org = state
        .store
        .organisation(&person.org_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Statement::for_organisation(&org.name))
}

/// Uses up a registration link and creates the account.
pub(crate) async fn register(
    state: &AppState,
    token: &str,
    password: &str,
) -> Result<Person, ApiError> {
    let hash = token_hash(token);
    let person = state.store.invitation(&hash).await.map_err(redeem_error)?;
    let org_name = state
        .store
        .organisation(&person.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let local_part = person.email.as_str().split('@').next().unwrap_or_default();
    check_new_password(password, &[person.email.as_str(), local_part, &org_name])
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let password_hash = hash_blocking(password.to_owned()).await?;
    let person = state
        .store
        .redeem_invitation(&hash, &password_hash)
        .await
        .map_err(redeem_error)?;
    state
        .audit(
            &person.org_id,
            &actor(&person),
            "account.registered",
            person.id.as_str(),
            "",
        )
        .await;
    Ok(person)
}

fn redeem_error(e: RedeemError) -> ApiError {
    match e {
        RedeemError::Unknown => ApiError::new(StatusCode::GONE, e.to_string()),
        RedeemError::Expired => ApiError::new(StatusCode::GONE, e.to_string()),
        RedeemError::AlreadyRegistered => ApiError::new(StatusCode::CONFLICT, e.to_string()),
        RedeemError::Store(e) => e.into(),
    }
}

async fn hash_blocking(password: String) -> Result<String, ApiError> {
    let password = zeroize::Zeroizing::new(password);
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|_| ApiError::internal())
}

/// Checks e-mail and password, rate-limited per client address and per
/// account name, and opens a session. Returns the session token once.
pub(crate) async fn login(
    state: &AppState,
    client: SocketAddr,
    email: &str,
    password: &str,
) -> Result<(Person, String, i64), ApiError> {
    let too_many = || {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many login attempts; wait a few minutes and try again",
        )
    };
    let wrong = || ApiError::new(StatusCode::UNAUTHORIZED, "wrong e-mail address or password");
    if !state.login_by_address.allow(&client.ip().to_string()) {
        return Err(too_many());
    }
    let email = EmailAddress::parse(email).map_err(|_| wrong())?;
    if !state.login_by_account.allow(email.as_str()) {
        return Err(too_many());
    }
    let candidates = state.store.accounts_by_email(&email).await?;
    let password = zeroize::Zeroizing::new(password.to_owned());
    let matched = tokio::task::spawn_blocking(move || {
        // With no account, verify against a throw-away hash anyway so that
        // timing does not tell which addresses are registered.
        if candidates.is_empty() {
            let _ = verify_password(&password, crate::password::UNUSABLE_HASH);
            return None;
        }
        candidates
            .into_iter()
            .find(|(_, hash)| verify_password(&password, hash))
            .map(|(person, _)| person)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let Some(person) = matched else {
        for (org, subject) in state
            .store
            .accounts_by_email(&email)
            .await?
            .iter()
            .map(|(p, _)| (&p.org_id, p.id.as_str()))
        {
            state
                .audit(org, "anonymous", "login.failed", subject, "")
                .await;
        }
        return Err(wrong());
    };
    let (token, hash) = new_token();
    let lifetime = i64::from(state.config.retention.session_hours) * 3600;
    state
        .store
        .create_session(&person, &hash, limen_store::now() + lifetime)
        .await?;
    Ok((person, token, lifetime))
}

pub(crate) async fn give_consent(
    state: &AppState,
    person: &Person,
    version: &str,
    method: &str,
) -> Result<(), ApiError> {
    let statement = statement_for(state, person).await?;
    if version != statement.version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "the statement version does not match the current privacy statement; read it again and consent to the current version",
        ));
    }
    state.store.give_consent(person, version, method).await?;
    state
        .audit(
            &person.org_id,
            &actor(person),
            "consent.given",
            person.id.as_str(),
            &format!("statement {version} by {method}"),
        )
        .await;
    Ok(())
}

pub(crate) async fn withdraw_consent(state: &AppState, person: &Person) -> Result<(), ApiError> {
    let withdrawn = {
        let _changing = state.galleries.lock().await;
        // Out of the gallery first: once the store says "withdrawn", no
        // search can find the person and no earlier match is still open.
        state.galleries.remove(&person.org_id, &person.id).await;
        state.store.withdraw_consent(person).await?
    };
    if withdrawn {
        state
            .audit(
                &person.org_id,
                &actor(person),
                "consent.withdrawn",
                person.id.as_str(),
                "vector deleted",
            )
            .await;
    }
    Ok(())
}

pub(crate) async fn remove_face(state: &AppState, person: &Person) -> Result<(), ApiError> {
    let deleted = {
        let _changing = state.galleries.lock().await;
        state.galleries.remove(&person.org_id, &person.id).await;
        state.store.delete_vector(person).await?
    };
    if deleted {
        state
            .audit(
                &person.org_id,
                &actor(person),
                "vector.deleted",
                person.id.as_str(),
                "",
            )
            .await;
    }
    Ok(())
}

pub(crate) async fn cancel_registration(state: &AppState, person: &Person) -> Result<(), ApiError> {
    {
        let _changing = state.galleries.lock().await;
        state.galleries.remove(&person.org_id, &person.id).await;
        state.store.cancel_registration(person).await?;
    }
    state
        .audit(
            &person.org_id,
            &actor(person),
            "registration.cancelled",
            person.id.as_str(),
            "account, consent and vector erased",
        )
        .await;
    Ok(())
}

pub(crate) async fn change_password(
    state: &AppState,
    person: &Person,
    session_hash: &[u8; 32],
    current: &str,
    new: &str,
) -> Result<(), ApiError> {
    let stored = state
        .store
        .password_hash(person)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let current_owned = zeroize::Zeroizing::new(current.to_owned());
    let current_ok = tokio::task::spawn_blocking(move || verify_password(&current_owned, &stored))
        .await
        .map_err(|_| ApiError::internal())?;
    if !current_ok {
        state
            .audit(
                &person.org_id,
                &actor(person),
                "password.change_failed",
                person.id.as_str(),
                "",
            )
            .await;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the current password is not correct",
        ));
    }
    let org_name = state
        .store
        .organisation(&person.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let local_part = person.email.as_str().split('@').next().unwrap_or_default();
    check_new_password(new, &[person.email.as_str(), local_part, &org_name])
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let hash = hash_blocking(new.to_owned()).await?;
    state
        .store
        .change_password(person, &hash, session_hash)
        .await?;
    state
        .audit(
            &person.org_id,
            &actor(person),
            "password.changed",
            person.id.as_str(),
            "other sessions ended",
        )
        .await;
    Ok(())
}

pub(crate) async fn overview(state: &AppState, person: &Person) -> Result<Value, ApiError> {
    let org = state
        .store
        .organisation(&person.org_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let consent = state
        .store
        .consents(person)
        .await?
        .into_iter()
        .find(|c| c.withdrawn_at.is_none());
    let vector = state.store.vector(person).await?;
    let active_model = state.engine.model_version().id;
    Ok(json!({
        "person_id": person.id,
        "organisation": { "id": org.id, "name": org.name },
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "consent": consent,
        "face": vector.map(|v| json!({
            "model_version": v.model_version,
            "enrolled_at": v.enrolled_at,
            "renewal_needed": v.model_version != active_model,
        })),
    }))
}

/// Everything held on the person, the vector included: it is their data.
pub(crate) async fn export(state: &AppState, person: &Person) -> Result<Value, ApiError> {
    let org = state
        .store
        .organisation(&person.org_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let consents = state.store.consents(person).await?;
    let vector = state.store.vector(person).await?;
    let cancellations = state.store.cancellations(person).await?;
    state
        .audit(
            &person.org_id,
            &actor(person),
            "data.exported",
            person.id.as_str(),
            "",
        )
        .await;
    Ok(json!({
        "exported_at": limen_store::now(),
        "organisation": { "id": org.id, "name": org.name },
        "person": {
            "id": person.id,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            "acs_id": person.acs_id,
            "imported_at": person.created_at,
            "invited_at": person.invited_at,
        },
        "account": { "name": person.email, "password": "stored only as an Argon2id hash, which is not exported" },
        "consents": consents,
        "face_vector": vector.map(|v| json!({
            "model_version": v.model_version,
            "enrolled_at": v.enrolled_at,
            "values": v.values.as_slice(),
        })),
        "cancelled_registrations": cancellations,
    }))
}

// ----- JSON API -----------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationRequest {
    token: String,
    password: String,
}

async fn api_register(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RegistrationRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let person = register(&state, &request.token, &request.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "person_id": person.id, "account": person.email })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

async fn api_login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let (_, token, lifetime) = login(&state, client, &request.email, &request.password).await?;
    Ok(Json(json!({ "token": token, "expires_in": lifetime })))
}

async fn api_logout(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    state.store.delete_session(&session.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_me(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(overview(&state, &session.person).await?))
}

async fn api_statement(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<Json<Value>, ApiError> {
    let statement = statement_for(&state, &session.person).await?;
    Ok(Json(
        json!({ "version": statement.version, "text": statement.text }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentRequest {
    statement_version: String,
}

async fn api_consent(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
    JsonBody(request): JsonBody<ConsentRequest>,
) -> Result<StatusCode, ApiError> {
    give_consent(&state, &session.person, &request.statement_version, "api").await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_withdraw(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    withdraw_consent(&state, &session.person).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_export(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(export(&state, &session.person).await?))
}

async fn api_cancel(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    cancel_registration(&state, &session.person).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordRequest {
    current_password: String,
    new_password: String,
}

async fn api_password(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
    JsonBody(request): JsonBody<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    change_password(
        &state,
        &session.person,
        &session.token_hash,
        &request.current_password,
        &request.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
