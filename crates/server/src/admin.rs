//! The organisation admin's API: people, invitations, erasure, audit.
//! Every query is scoped by the organisation the bearer token belongs to.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use limen_store::token::new_token;
use limen_store::{NewPerson, PersonId, RowError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::AdminOrg;
use crate::error::ApiError;
use crate::mailer::OutgoingMail;
use crate::pages::escape;

const OPENAPI: &str = include_str!("openapi.json");

pub fn routes(import_limit: usize) -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route(
            "/api/v1/people",
            post(import_people)
                .layer(DefaultBodyLimit::max(import_limit))
                .get(list_people),
        )
        .route("/api/v1/people/{id}", delete(delete_person))
        .route("/api/v1/people/{id}/invitation", post(send_invitation))
        .route("/api/v1/audit", get(audit_trail))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonRow {
    first_name: String,
    last_name: String,
    email: String,
    acs_id: String,
}

async fn import_people(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    let rows: Vec<PersonRow> = match media_type.as_str() {
        "application/json" => serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("expected a JSON array of people: {e}")))?,
        "text/csv" => parse_csv(text)?,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the people as application/json (an array) or text/csv (first_name,last_name,email,acs_id)",
            ));
        }
    };
    if rows.is_empty() {
        return Err(ApiError::unprocessable("the import holds no people"));
    }
    let mut people = Vec::with_capacity(rows.len());
    let mut errors: Vec<RowError> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match NewPerson::parse(
            index + 1,
            &row.first_name,
            &row.last_name,
            &row.email,
            &row.acs_id,
        ) {
            Ok(person) => people.push(person),
            Err(row_errors) => errors.extend(row_errors),
        }
    }
    errors.extend(state.store.import_conflicts(&org, &people).await?);
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(rows_refused(errors));
    }
    let report = state
        .store
        .import_people(&org, &people)
        .await?
        .map_err(rows_refused)?;
    state
        .audit(
            &org,
            "admin",
            "people.imported",
            "",
            &format!("{} created, {} updated", report.created, report.updated),
        )
        .await;
    Ok(Json(json!(report)))
}

fn rows_refused(errors: Vec<RowError>) -> ApiError {
    ApiError::unprocessable(
        "the import was refused and nothing was changed; correct the rows listed and send it again",
    )
    .with_details(json!({ "rows": errors }))
}

/// Reads CSV with the header `first_name,last_name,email,acs_id` (fields
/// may be double-quoted, with `""` for a quote inside).
fn parse_csv(text: &str) -> Result<Vec<PersonRow>, ApiError> {
    let mut records = csv_records(text.trim_start_matches('\u{feff}'))?;
    if records.is_empty() {
        return Err(ApiError::unprocessable("the CSV is empty"));
    }
    let header: Vec<String> = records
        .remove(0)
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if header != ["first_name", "last_name", "email", "acs_id"] {
        return Err(ApiError::unprocessable(
            "the first CSV line must be: first_name,last_name,email,acs_id",
        ));
    }
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        match <[String; 4]>::try_from(record) {
            Ok([first_name, last_name, email, acs_id]) => rows.push(PersonRow {
                first_name,
                last_name,
                email,
                acs_id,
            }),
            Err(record) => errors.push(RowError {
                row: index + 1,
                field: "line",
                message: format!("expected 4 fields, found {}", record.len()),
            }),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(rows_refused(errors))
    }
}

fn csv_records(text: &str) -> Result<Vec<Vec<String>>, ApiError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (in_quotes, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => in_quotes = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => in_quotes = true,
            (false, '"') => {
                return Err(ApiError::unprocessable(format!(
                    "malformed CSV on line {line}: a quote inside an unquoted field"
                )));
            }
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                if record.iter().any(|f| !f.is_empty()) || record.len() > 1 {
                    records.push(std::mem::take(&mut record));
                } else {
                    record.clear();
                }
                line += 1;
            }
            (false, c) => field.push(c),
        }
    }
    if in_quotes {
        return Err(ApiError::unprocessable(format!(
            "malformed CSV: a quoted field opened on or before line {line} is never closed"
        )));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

async fn list_people(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
) -> Result<Json<Value>, ApiError> {
    let people = state
        .store
        .people(&org, state.engine.model_version().id)
        .await?;
    Ok(Json(json!(people)))
}

fn person_id(text: &str) -> Result<PersonId, ApiError> {
    PersonId::parse(text).map_err(|_| ApiError::not_found())
}

async fn delete_person(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = person_id(&id)?;
    let erased = {
        let _changing = state.galleries.lock().await;
        state.galleries.remove(&org, &id).await;
        state.store.delete_person(&org, &id).await?
    };
    if !erased {
        return Err(ApiError::not_found());
    }
    state
        .audit(
            &org,
            "admin",
            "person.erased",
            id.as_str(),
            "all data about the person deleted",
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn send_invitation(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = person_id(&id)?;
    let person = state
        .store
        .person(&org, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if state
        .store
        .accounts_by_email(&person.email)
        .await?
        .iter()
        .any(|(p, _)| p.id == person.id)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "this person has already registered",
        ));
    }
    let organisation = state
        .store
        .organisation(&org)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (token, hash) = new_token();
    let days = i64::from(state.config.retention.invitation_days);
    let expires_at = limen_store::now() + days * 86_400;

    let base = &state.config.public_url;
    let statement_link = format!("{base}/privacy/{org}");
    let register_link = format!("{base}/register?token={token}");
    let name = person.first_name.as_str();
    let org_name = &organisation.name;
    let text = format!(
        "Hello {name},\n\n{org_name} invites you to pass its entrances by face, with Limen. Taking part is your choice.\n\n\
         What happens to your data, and your rights:\n{statement_link}\n\n\
         To register (this link works once and expires in {days} days):\n{register_link}\n\n\
         If you do not want to take part, ignore this message.\n"
    );
    let html = format!(
        "<!doctype html><html><body><p>Hello {name},</p><p>{org} invites you to pass its entrances by face, with Limen. \
         Taking part is your choice.</p><p><a href=\"{statement}\">What happens to your data, and your rights</a></p>\
         <p><a href=\"{register}\">Register</a> (this link works once and expires in {days} days)</p>\
         <p>If you do not want to take part, ignore this message.</p></body></html>",
        name = escape(name),
        org = escape(org_name),
        statement = escape(&statement_link),
        register = escape(&register_link),
    );
    let subject = format!("{org_name} invites you to face access with Limen");
    if let Err(e) = state
        .mailer
        .send(OutgoingMail {
            to: person.email.as_str(),
            subject: &subject,
            text,
            html,
        })
        .await
    {
        tracing::warn!(error = %e, "invitation e-mail not sent");
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("the invitation could not be sent: {e}"),
        ));
    }
    // Recorded only once the mail is out: a failed send leaves the earlier
    // link (if any) working and the person's status as it was.
    state
        .store
        .replace_invitation(&org, &id, &hash, expires_at)
        .await?;
    state
        .audit(
            &org,
            "admin",
            "invitation.sent",
            id.as_str(),
            &format!("expires at {expires_at}"),
        )
        .await;
    Ok(Json(json!({ "person_id": id, "expires_at": expires_at })))
}

async fn audit_trail(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.store.audit_trail(org.as_str()).await?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quotes_crlf_and_blank_lines() {
        let records = csv_records("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\nlast,row").expect("valid");
        assert_eq!(
            records,
            vec![
                vec!["a", "b"],
                vec!["x, y", "say \"hi\""],
                vec!["last", "row"]
            ]
        );
        assert!(csv_records("a,\"open").is_err());
        assert!(csv_records("a,b\"c").is_err());
    }

    #[test]
    fn csv_rows_need_four_fields() {
        let err = parse_csv("first_name,last_name,email,acs_id\nAnn,Lee,ann@x.test\n")
            .map(|_| ())
            .expect_err("short row");
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(parse_csv("name,email\n").is_err());
        assert_eq!(
            parse_csv("first_name,last_name,email,acs_id\nAnn,Lee,ann@x.test,7\n")
                .map(|r| r.len())
                .ok(),
            Some(1)
        );
    }
}
