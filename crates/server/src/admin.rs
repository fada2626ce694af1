//! The organisation admin's API: people, invitations, erasure, audit.
//! Every query is scoped by the organisation the bearer token belongs to.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use limen_domain::{ImportReport, Language, PersonId, PersonOverview, UnixTime};
use limen_store::AuditEntry;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Admin;
use crate::bodies::LanguageChange;
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::invitations::invite;
use crate::people_import::{ImportFileError, ImportFormat, PersonRow, read_import};

pub fn routes(import_limit: usize) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(import_people, list_people).layer(DefaultBodyLimit::max(import_limit)))
        .routes(routes!(delete_person))
        .routes(routes!(send_invitation))
        .routes(routes!(audit_trail))
        .routes(routes!(language, change_language))
}

/// Imports people from JSON or CSV: new addresses are added, known ones
/// updated. Every row is checked first; one bad row refuses the import.
#[utoipa::path(
    post,
    path = "/api/v1/people",
    tag = "people",
    security(("api_key" = []), ("admin_session" = [])),
    request_body(
        description = "A JSON array of people, or CSV with the header line `first_name,last_name,email,acs_id`.",
        content(
            (Vec<PersonRow> = "application/json", example = json!([
                { "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.com", "acs_id": "10042" },
                { "first_name": "Piet", "last_name": "de Vries", "email": "piet@example.com", "acs_id": "10043" }
            ])),
            (String = "text/csv", example = "first_name,last_name,email,acs_id\nAnn,Lee,ann.lee@example.com,10042\n"),
        ),
    ),
    responses(
        (status = 200, description = "Imported", body = ImportReport, example = json!({ "created": 2, "updated": 0 })),
        (status = 400, description = "Not UTF-8, or not a JSON array of people", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 409, description = "A later batch of a large import clashed with a change made meanwhile; the rows before it stay", body = ErrorBody),
        (status = 413, description = "Larger than 4 MiB", body = ErrorBody),
        (status = 415, description = "Neither application/json nor text/csv", body = ErrorBody),
        (status = 422, description = "Rows refused; nothing was imported", body = ErrorBody, example = json!({
            "error": "the import was refused and nothing was changed; correct the rows listed and send it again",
            "details": { "rows": [{ "row": 2, "field": "email", "message": "not a valid e-mail address" }] }
        })),
    ),
)]
async fn import_people(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportReport>, ApiError> {
    // Too large, or cut off: answered as JSON like every other error.
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = ImportFormat::of(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the people as application/json (an array) or text/csv (first_name,last_name,email,acs_id)",
        )
    })?;
    let rows = read_import(format, &body).map_err(|e| match e {
        ImportFileError::Json(_) => ApiError::bad_request(e.to_string()),
        _ => ApiError::unprocessable(e.to_string()),
    })?;
    let checked = rows.into_iter().map(|row| row.checked).collect();
    let report = state.services.import_people(&admin, checked).await?;
    Ok(Json(report))
}

/// The organisation's people, each with where they stand (never a face).
#[utoipa::path(
    get,
    path = "/api/v1/people",
    tag = "people",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The people", body = Vec<PersonOverview>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn list_people(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Vec<PersonOverview>>, ApiError> {
    Ok(Json(state.services.people(&admin.org).await?))
}

fn person_id(text: &str) -> Result<PersonId, ApiError> {
    PersonId::parse(text).map_err(|_| ApiError::not_found())
}

/// Erases a person: account, consents, vectors; the audit trail keeps
/// that it happened.
#[utoipa::path(
    delete,
    path = "/api/v1/people/{id}",
    tag = "people",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = PersonId, Path, description = "The person")),
    responses(
        (status = 204, description = "Erased"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such person in the organisation", body = ErrorBody),
    ),
)]
async fn delete_person(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state
        .services
        .erase_person(&admin, &person_id(&id)?)
        .await?
    {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A sent invitation: whom, and until when its link works.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "person_id": "0b9e5f6a7c8d4e3f9a1b2c3d4e5f6a7b", "expires_at": 1767225600 }))]
struct InvitationSent {
    person_id: PersonId,
    /// When the registration link stops working (Unix seconds).
    expires_at: UnixTime,
}

/// E-mails the person a registration link (a new one replaces any
/// earlier link).
#[utoipa::path(
    post,
    path = "/api/v1/people/{id}/invitation",
    tag = "people",
    security(("api_key" = []), ("admin_session" = [])),
    params(("id" = PersonId, Path, description = "The person")),
    responses(
        (status = 200, description = "Sent", body = InvitationSent),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such person in the organisation", body = ErrorBody),
        (status = 409, description = "The person has registered already", body = ErrorBody),
        (status = 502, description = "The mail server did not take the invitation", body = ErrorBody),
    ),
)]
async fn send_invitation(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<InvitationSent>, ApiError> {
    let person = person_id(&id)?;
    let expires_at = invite(&state, &admin, &person).await?;
    Ok(Json(InvitationSent {
        person_id: person,
        expires_at,
    }))
}

/// The organisation's audit trail, oldest first: each entry chained to
/// the one before it by an HMAC, so that an edit breaks the chain.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "organisation",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The entries", body = Vec<AuditEntry>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn audit_trail(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    Ok(Json(
        state
            .services
            .store()
            .audit_trail(admin.org.as_str())
            .await?,
    ))
}

/// The organisation's default language.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "language": "nl" }))]
struct OrganisationLanguage {
    language: Language,
}

/// The organisation's default language, for its people who chose none.
#[utoipa::path(
    get,
    path = "/api/v1/language",
    tag = "organisation",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The language", body = OrganisationLanguage),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn language(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<Json<OrganisationLanguage>, ApiError> {
    let language = state.services.organisation_language(&admin.org).await?;
    Ok(Json(OrganisationLanguage { language }))
}

/// Changes the organisation's default language (e-mails, pages and the
/// privacy statement of people who chose none).
#[utoipa::path(
    put,
    path = "/api/v1/language",
    tag = "organisation",
    security(("api_key" = []), ("admin_session" = [])),
    request_body(content = LanguageChange, example = json!({ "language": "nl" })),
    responses(
        (status = 200, description = "Changed", body = OrganisationLanguage),
        (status = 400, description = "Not a language Limen speaks", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn change_language(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    JsonBody(change): JsonBody<LanguageChange>,
) -> Result<Json<OrganisationLanguage>, ApiError> {
    let language = change.language()?;
    state
        .services
        .set_organisation_language(&admin, language)
        .await?;
    Ok(Json(OrganisationLanguage { language }))
}
