//! The employee's side as a JSON API: registration, login, consent, and
//! the rights over one's own data. Each handler calls the services and
//! serialises their answer; the pages call the same services.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use limen_domain::{EmailAddress, PersonId, Statement};
use limen_services::{AccountOverview, PersonExport, Session};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{ApiSession, person_language};
use crate::bodies::{ConsentRequest, LoginRequest, PasswordRequest, RegistrationRequest};
use crate::client::{Client, ClientGroup};
use crate::error::{ApiError, ErrorBody, JsonBody};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(api_register))
        .routes(routes!(api_login, api_logout))
        .routes(routes!(api_me, api_cancel))
        .routes(routes!(api_statement))
        .routes(routes!(api_consent, api_withdraw))
        .routes(routes!(api_export))
        .routes(routes!(api_password))
}

/// Login, for the API and the pages alike, slowed after failures per
/// client address and per account (in this instance; see `login_guard`).
pub(crate) async fn log_in(
    state: &AppState,
    client: ClientGroup,
    email: &str,
    password: &str,
) -> Result<Session, ApiError> {
    state
        .login_guard
        .sign_in("", email, client, |email| async move {
            state.services.log_in(&email, password).await
        })
        .await
}

/// An employee's new account.
#[derive(Debug, Serialize, ToSchema)]
struct Registered {
    person_id: PersonId,
    /// The account's name: the address the invitation went to.
    account: EmailAddress,
}

/// An invited employee chooses a password with the token of their link.
#[utoipa::path(
    post,
    path = "/api/v1/registration",
    tag = "employee",
    request_body(content = RegistrationRequest, example = json!({ "token": "k3Jd9s0aQw…", "password": "correct horse battery staple" })),
    responses(
        (status = 201, description = "Registered", body = Registered),
        (status = 409, description = "Registered already", body = ErrorBody),
        (status = 410, description = "The link is unknown or has expired", body = ErrorBody),
        (status = 422, description = "The password is refused (too short, too common, or like the person's own details)", body = ErrorBody),
    ),
)]
async fn api_register(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RegistrationRequest>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let person = state
        .services
        .register(&request.token, &request.password)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            person_id: person.id,
            account: person.email,
        }),
    ))
}

/// An employee's session.
#[derive(Debug, Serialize, ToSchema)]
struct SignedIn {
    /// The bearer token of the session (scheme `employee_session`).
    token: String,
    /// Seconds the session lasts.
    expires_in: i64,
}

/// Signs an employee in. Failures are slowed per client and per account.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "employee",
    request_body(content = LoginRequest, example = json!({ "email": "ann.lee@example.com", "password": "correct horse battery staple" })),
    responses(
        (status = 200, description = "Signed in", body = SignedIn),
        (status = 401, description = "Wrong e-mail address or password", body = ErrorBody),
        (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody),
    ),
)]
async fn api_login(
    State(state): State<Arc<AppState>>,
    Client(client): Client,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<SignedIn>, ApiError> {
    let session = log_in(&state, client, &request.email, &request.password).await?;
    Ok(Json(SignedIn {
        token: session.token,
        expires_in: session.lifetime_secs,
    }))
}

/// Ends the session the request carries.
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "employee",
    security(("employee_session" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
    ),
)]
async fn api_logout(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    state.services.end_session(&session.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The person's account: organisation, consent, whether a face is stored
/// (never its numbers).
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "employee",
    security(("employee_session" = [])),
    responses(
        (status = 200, description = "The account", body = AccountOverview),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/me/statement",
    tag = "employee",
    security(("employee_session" = [])),
    params(("Accept-Language" = Option<String>, Header, description = "The language to read, where the person chose none")),
    responses(
        (status = 200, description = "The statement", body = Statement),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
    ),
)]
async fn api_statement(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
    headers: HeaderMap,
) -> Result<Json<Statement>, ApiError> {
    let language = person_language(&state, &session.person, &headers).await?;
    Ok(Json(
        state
            .services
            .statement_for(&session.person, language)
            .await?,
    ))
}

/// Consents to the statement of the version named.
#[utoipa::path(
    post,
    path = "/api/v1/me/consent",
    tag = "employee",
    security(("employee_session" = [])),
    request_body(content = ConsentRequest),
    responses(
        (status = 204, description = "Consent recorded"),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
        (status = 409, description = "The version is not the statement in force", body = ErrorBody),
    ),
)]
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

/// Withdraws consent: the face vectors are deleted with it.
#[utoipa::path(
    delete,
    path = "/api/v1/me/consent",
    tag = "employee",
    security(("employee_session" = [])),
    responses(
        (status = 204, description = "Withdrawn; no face is stored"),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
    ),
)]
async fn api_withdraw(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    state.services.withdraw_consent(&session.person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything Limen holds on the person, face vectors included.
#[utoipa::path(
    get,
    path = "/api/v1/me/export",
    tag = "employee",
    security(("employee_session" = [])),
    responses(
        (status = 200, description = "The export", body = PersonExport, example = json!({
            "exported_at": 1767225600,
            "organisation": { "id": "4f1c2b7e9a0d4c3b8e6f1a2b3c4d5e6f", "name": "Acme" },
            "person": {
                "id": "0b9e5f6a7c8d4e3f9a1b2c3d4e5f6a7b", "first_name": "Ann", "last_name": "Lee",
                "email": "ann.lee@example.com", "acs_id": "10042", "imported_at": 1767000000,
                "invited_at": 1767000100, "language": null
            },
            "account": { "name": "ann.lee@example.com", "password": "stored only as an Argon2id hash, which is not exported" },
            "consents": [{
                "statement_version": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "statement_language": "en", "method": "api", "given_at": 1767000200, "withdrawn_at": null
            }],
            "face_vectors": [{ "model_version": "dlib-resnet-v1", "enrolled_at": 1767000300, "values": [0.0132, -0.0871, 0.0415] }],
            "cancelled_registrations": [],
            "renewal_requests": [],
            "reconsent_requests": [],
            "decisions": [{ "entrance_id": "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f", "at": 1767100000, "decision": "granted", "person_id": "0b9e5f6a7c8d4e3f9a1b2c3d4e5f6a7b", "detail": "" }],
            "history": [{ "at": 1767000200, "actor": "employee:0b9e5f6a7c8d4e3f9a1b2c3d4e5f6a7b", "action": "consent.given", "detail": "" }]
        })),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
    ),
)]
async fn api_export(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<Json<PersonExport>, ApiError> {
    Ok(Json(state.services.export(&session.person).await?))
}

/// Cancels the registration: account, consent and face are deleted; the
/// organisation may invite the person again.
#[utoipa::path(
    delete,
    path = "/api/v1/me",
    tag = "employee",
    security(("employee_session" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
    ),
)]
async fn api_cancel(
    State(state): State<Arc<AppState>>,
    session: ApiSession,
) -> Result<StatusCode, ApiError> {
    state.services.cancel_registration(&session.person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the password; the person's other sessions end.
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "employee",
    security(("employee_session" = [])),
    request_body(content = PasswordRequest),
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "Missing or invalid session", body = ErrorBody),
        (status = 403, description = "The current password is not correct", body = ErrorBody),
        (status = 422, description = "The new password is refused", body = ErrorBody),
    ),
)]
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
