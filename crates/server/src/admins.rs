//! An organisation's admin accounts through the API: admins invite and
//! remove admins; an invited admin registers with the link's token; an
//! admin signs in for a session token that the admin API takes as a key.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use limen_domain::{AdminAccount, AdminId, OrgAdmin};
use limen_services::{AdminInvitation, AdminSession};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Admin, bearer};
use crate::bodies::{AdminInvite, AdminLoginRequest, RegistrationRequest};
use crate::client::{Client, ClientGroup};
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::i18n::Tr;
use crate::mailer::{MailError, Mailer};
use crate::mails;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list, invite))
        .routes(routes!(remove))
        .routes(routes!(register))
        .routes(routes!(log_in, log_out))
}

/// The organisation's admin accounts, registered or only invited.
#[utoipa::path(
    get,
    path = "/api/v1/admins",
    tag = "admins",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The admins", body = Vec<AdminAccount>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn list(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Vec<AdminAccount>>, ApiError> {
    Ok(Json(state.services.admins(&admin.org).await?))
}

/// Invites an admin: an e-mail with a link to choose a password.
#[utoipa::path(
    post,
    path = "/api/v1/admins",
    tag = "admins",
    security(("api_key" = []), ("admin_session" = [])),
    request_body(content = AdminInvite, example = json!({ "email": "piet@example.com", "name": "Piet de Vries" })),
    responses(
        (status = 201, description = "Invited", body = AdminAccount),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 409, description = "An admin with that address has registered already", body = ErrorBody),
        (status = 422, description = "Not an e-mail address, or not a name", body = ErrorBody),
        (status = 502, description = "The mail server did not take the invitation", body = ErrorBody),
    ),
)]
async fn invite(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<AdminInvite>,
) -> Result<(StatusCode, Json<AdminAccount>), ApiError> {
    let invited = invite_admin(&state, &admin, &body).await?;
    Ok((StatusCode::CREATED, Json(invited)))
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

/// Removes an admin account; its sessions and the API keys it made end.
#[utoipa::path(
    delete,
    path = "/api/v1/admins/{id}",
    tag = "admins",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = AdminId, Path, description = "The admin")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such admin in the organisation", body = ErrorBody),
    ),
)]
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

/// An invited admin chooses a password with the token of their link.
#[utoipa::path(
    post,
    path = "/api/v1/admin-registration",
    tag = "admins",
    request_body(content = RegistrationRequest),
    responses(
        (status = 201, description = "Registered", body = AdminAccount),
        (status = 410, description = "The link is unknown or has expired", body = ErrorBody),
        (status = 422, description = "The password is refused (too short, too common, or like the account's own details)", body = ErrorBody),
    ),
)]
async fn register(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RegistrationRequest>,
) -> Result<(StatusCode, Json<AdminAccount>), ApiError> {
    let admin = state
        .services
        .register_admin(&request.token, &request.password)
        .await?;
    Ok((StatusCode::CREATED, Json(admin)))
}

/// An admin's session: its token is a key to the admin API.
#[derive(Debug, Serialize, ToSchema)]
struct AdminSignedIn {
    /// The bearer token of the session (scheme `admin_session`).
    token: String,
    /// Seconds the session lasts.
    expires_in: i64,
    admin: AdminAccount,
}

/// Signs an admin in. Failures are slowed per client and per account.
///
/// An admin who set up two-step sign-in on the admin pages gives the code
/// of their authenticator app too: without it the answer is 401, with a
/// wrong or already used one 422.
#[utoipa::path(
    post,
    path = "/api/v1/admin-session",
    tag = "admins",
    request_body(content = AdminLoginRequest, example = json!({ "email": "piet@example.com", "password": "correct horse battery staple", "code": "492039" })),
    responses(
        (status = 200, description = "Signed in", body = AdminSignedIn),
        (status = 401, description = "Wrong e-mail address or password, or no code where one is needed", body = ErrorBody),
        (status = 422, description = "A wrong code, or one used already", body = ErrorBody),
        (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody),
    ),
)]
async fn log_in(
    State(state): State<Arc<AppState>>,
    Client(client): Client,
    JsonBody(request): JsonBody<AdminLoginRequest>,
) -> Result<Json<AdminSignedIn>, ApiError> {
    let session = admin_log_in(
        &state,
        client,
        &request.email,
        &request.password,
        request.code.as_deref(),
    )
    .await?;
    Ok(Json(AdminSignedIn {
        token: session.token,
        expires_in: session.lifetime_secs,
        admin: session.admin,
    }))
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
    state
        .login_guard
        .sign_in("admin:", email, client, |email| async move {
            state.services.admin_log_in(&email, password, code).await
        })
        .await
}

/// Ends the admin session whose token the request carries.
#[utoipa::path(
    delete,
    path = "/api/v1/admin-session",
    tag = "admins",
    security(("admin_session" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Missing credentials", body = ErrorBody),
    ),
)]
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
