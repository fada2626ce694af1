//! An organisation's admin accounts through the API: admins invite and
//! remove admins; an invited admin registers with the link's token; an
//! admin signs in for a session token that the admin API takes as a key.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use limen_domain::{AdminId, EmailAddress};
use limen_services::{AdminInvitation, ServiceError};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Admin, bearer};
use crate::bodies::{AdminInvite, LoginRequest, RegistrationRequest};
use crate::client::Client;
use crate::error::{ApiError, JsonBody};
use crate::i18n::Tr;
use crate::mailer::{MailError, Mailer};
use crate::mails;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/admins", get(list).post(invite))
        .route("/api/v1/admins/{id}", delete(remove))
        .route("/api/v1/admin-registration", post(register))
        .route("/api/v1/admin-session", post(log_in).delete(log_out))
}

async fn list(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.services.admins(&admin.org).await?)))
}

async fn invite(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<AdminInvite>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (email, name) = body.checked()?;
    let invitation = state
        .services
        .new_admin_invitation(&admin, email, name)
        .await?;
    send_admin_invitation(
        &state.mailer,
        &state.config.public_url,
        &invitation,
        state.services.retention().invitation_days,
    )
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "admin invitation e-mail not sent");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("the invitation could not be sent: {e}"),
        )
    })?;
    // Recorded only once the mail is out, as for employees' invitations.
    let invited = state
        .services
        .record_admin_invitation(&admin, &invitation)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(invited))))
}

async fn remove(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = AdminId::parse(&id).map_err(|_| ApiError::not_found())?;
    if !state.services.remove_admin(&admin, &id).await? {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn register(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RegistrationRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let admin = state
        .services
        .register_admin(&request.token, &request.password)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(admin))))
}

async fn log_in(
    State(state): State<Arc<AppState>>,
    Client(client): Client,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    // Counted apart from an employee account with the same address.
    let account = format!("admin:{}", request.email.trim().to_lowercase());
    let login = async {
        match EmailAddress::parse(&request.email) {
            Ok(email) => state.services.admin_log_in(&email, &request.password).await,
            Err(_) => Err(ServiceError::WrongCredentials),
        }
    };
    let session = state.login_guard.attempt(&account, client, login).await?;
    Ok(Json(json!({
        "token": session.token,
        "expires_in": session.lifetime_secs,
        "admin": session.admin,
    })))
}

async fn log_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers).ok_or_else(ApiError::unauthorized)?;
    state.services.end_admin_session(token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The invitation e-mail, in the organisation's language: who invites,
/// and the link to choose a password.
pub async fn send_admin_invitation(
    mailer: &Mailer,
    public_url: &str,
    invitation: &AdminInvitation,
    days: u32,
) -> Result<(), MailError> {
    let register_link = format!("{public_url}/admin/register?token={}", invitation.token);
    let mail = mails::AdminInvitation {
        name: invitation.name.as_str(),
        organisation: &invitation.organisation.name,
        register_link: &register_link,
        days,
    }
    .mail(Tr::new(invitation.organisation.language))?;
    mail.send(mailer, invitation.email.as_str()).await
}
