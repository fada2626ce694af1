//! The bodies the HTTP API accepts, as typed values with the checks their
//! handlers make before any service sees them. Public so that the fuzz
//! targets (fuzz/) read them exactly as the handlers do.

use axum::http::StatusCode;
use limen_access::http::SharedSecret;
use limen_domain::{
    EmailAddress, Label, Language, LivenessMode, NewPerson, PersonName, RowError, SecurityLevel,
};
use limen_services::ServiceError;
use serde::Deserialize;

use crate::error::ApiError;
use crate::i18n::Text;

/// One person of a people import, as sent (JSON object or CSV line).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRow {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub acs_id: String,
}

/// The rows of a people import, each checked into a [`NewPerson`] or its
/// errors; `content_type` picks JSON (an array) or CSV.
pub fn people_import(
    content_type: &str,
    body: &[u8],
) -> Result<Vec<Result<NewPerson, Vec<RowError>>>, ApiError> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = std::str::from_utf8(body)
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
    Ok(rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            NewPerson::parse(
                index + 1,
                &row.first_name,
                &row.last_name,
                &row.email,
                &row.acs_id,
            )
        })
        .collect())
}

/// Reads CSV with the header `first_name,last_name,email,acs_id` (fields
/// may be double-quoted, with `""` for a quote inside).
pub fn parse_csv(text: &str) -> Result<Vec<PersonRow>, ApiError> {
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
        Err(ServiceError::ImportRefused(errors).into())
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

/// `POST /api/v1/entrances`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEntrance {
    pub name: String,
    pub connector: ConnectorBody,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectorBody {
    Osdp,
    Http { url: String, secret: String },
}

impl NewEntrance {
    pub fn checked_name(&self) -> Result<Label, ApiError> {
        entrance_name(&self.name)
    }
}

/// `PATCH /api/v1/entrances/{id}`: a new name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntranceRename {
    pub name: String,
}

impl EntranceRename {
    pub fn checked_name(&self) -> Result<Label, ApiError> {
        entrance_name(&self.name)
    }
}

/// An entrance's name as given, checked.
pub fn entrance_name(name: &str) -> Result<Label, ApiError> {
    Label::parse(name).map_err(|_| {
        ApiError::unprocessable(
            "an entrance name must be 1 to 100 characters, without control characters",
        )
        .with_text(Text::new("admin-entrances-name-invalid"))
    })
}

/// `POST /api/v1/api-keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyBody {
    pub name: String,
}

impl NewApiKeyBody {
    pub fn checked_name(&self) -> Result<Label, ApiError> {
        Label::parse(&self.name).map_err(|_| {
            ApiError::unprocessable(
                "an API key's name must be 1 to 100 characters, without control characters",
            )
        })
    }
}

impl ConnectorBody {
    /// The HTTP connector's URL and parsed secret; `None` for OSDP. The URL
    /// is checked when the connector is built from them.
    pub fn http(&self) -> Result<Option<(&str, SharedSecret)>, ApiError> {
        match self {
            ConnectorBody::Osdp => Ok(None),
            ConnectorBody::Http { url, secret } => {
                let shared: SharedSecret = secret.parse().map_err(|e| {
                    ApiError::unprocessable(format!("the HTTP connector's secret: {e}"))
                        .with_text(Text::new("admin-entrances-secret-invalid"))
                })?;
                Ok(Some((url, shared)))
            }
        }
    }
}

/// `PUT /api/v1/security`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelChange {
    pub level: String,
}

impl LevelChange {
    pub fn level(&self) -> Result<SecurityLevel, ApiError> {
        self.level
            .parse()
            .map_err(|e: limen_domain::UnknownSecurityLevel| ApiError::bad_request(e.to_string()))
    }
}

/// `PUT /api/v1/language`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageChange {
    pub language: String,
}

impl LanguageChange {
    pub fn language(&self) -> Result<Language, ApiError> {
        self.language
            .parse()
            .map_err(|e: limen_domain::UnknownLanguage| ApiError::bad_request(e.to_string()))
    }
}

/// `PUT /api/v1/entrances/{id}/liveness`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeChange {
    pub mode: String,
}

impl ModeChange {
    pub fn mode(&self) -> Result<LivenessMode, ApiError> {
        LivenessMode::parse(&self.mode).map_err(|e| ApiError::bad_request(e.to_string()))
    }
}

/// `POST /api/v1/registration` and `POST /api/v1/admin-registration`; the
/// services check the token and the password (against the account's own
/// details).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    pub token: String,
    pub password: String,
}

/// `POST /api/v1/admins`: whom to invite as an admin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminInvite {
    pub email: String,
    pub name: String,
}

impl AdminInvite {
    pub fn checked(&self) -> Result<(EmailAddress, PersonName), ApiError> {
        Ok((
            EmailAddress::parse(&self.email)?,
            PersonName::parse(&self.name)?,
        ))
    }
}

/// `POST /api/v1/session`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/admin-session`: the code of their authenticator app too,
/// for an admin who set one up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminLoginRequest {
    pub email: String,
    pub password: String,
    pub code: Option<String>,
}

/// `POST /api/v1/me/consent`; the services compare the version with the
/// statement in force.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub statement_version: String,
}

/// `PUT /api/v1/me/password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    pub current_password: String,
    pub new_password: String,
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
