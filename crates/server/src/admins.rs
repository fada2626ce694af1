//! An organisation's admin accounts through the API: admins invite and
//! remove admins; an invited admin registers with the link's token; an
//! admin signs in for a session token that the admin API takes as a key.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use limen_domain::{AdminAccount, AdminId, EmailAddress, OrgAdmin};
use limen_services::{AdminInvitation, AdminSession, ServiceError};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Admin, bearer};
use crate::bodies::{AdminInvite, AdminLoginRequest, RegistrationRequest};
use crate::client::{Client, ClientGroup};
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
    let invited = invite_admin(&state, &admin, &body).await?;
    Ok((StatusCode::CREATED, Json(json!(invited))))
}

/// Invites an admin of `by`'s organisation by e-mail, for the API and the
/// pages alike; the invitation is recorded only once the mail is out, as
/// for employees' invitations.
pub(crate) async fn invite_admin(
    state: &AppState,
    by: &OrgAdmin,
    body: &AdminInvite,
) -> Result<AdminAccount, ApiError> {
    let (email, name) = body.checked()?;
    let invitation = state.services.new_admin_invitation(by, email, name).await?;
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
    Ok(state
        .services
        .record_admin_invitation(by, &invitation)
        .await?)
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
    JsonBody(request): JsonBody<AdminLoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let session = admin_log_in(
        &state,
        client,
        &request.email,
        &request.password,
        request.code.as_deref(),
    )
    .await?;
    Ok(Json(json!({
        "token": session.token,
        "expires_in": session.lifetime_secs,
        "admin": session.admin,
    })))
}

/// Checks an admin's e-mail and password, for the API and the pages alike.
/// Failures slow the account as employees' do, counted apart from an
/// employee account with the same address.
pub(crate) async fn admin_log_in(
    state: &AppState,
    client: ClientGroup,
    email: &str,
    password: &str,
    code: Option<&str>,
) -> Result<AdminSession, ApiError> {
    let account = format!("admin:{}", email.trim().to_lowercase());
    let login = async {
        match EmailAddress::parse(email) {
            Ok(email) => state.services.admin_log_in(&email, password, code).await,
            Err(_) => Err(ServiceError::WrongCredentials),
        }
    };
    state.login_guard.attempt(&account, client, login).await
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
