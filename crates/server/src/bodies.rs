//! The bodies the HTTP API accepts, as typed values with the checks their
//! handlers make before any service sees them (a people import's are
//! [`crate::people_import`]'s). Public so that the fuzz
//! targets (fuzz/) read them exactly as the handlers do.

use limen_access::http::SharedSecret;
use limen_domain::{EmailAddress, Label, Language, LivenessMode, PersonName, SecurityLevel};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::i18n::Text;

/// `POST /api/v1/entrances`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntrance {
    pub name: String,
    pub connector: ConnectorBody,
}

#[derive(Debug, Deserialize, ToSchema)]
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
#[derive(Debug, Deserialize, ToSchema)]
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
#[derive(Debug, Deserialize, ToSchema)]
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
            ConnectorBody::Http { url, secret } => Ok(Some((url, shared_secret(secret)?))),
        }
    }
}

/// A connector's signing secret as given, checked.
pub fn shared_secret(secret: &str) -> Result<SharedSecret, ApiError> {
    secret.parse().map_err(|e| {
        ApiError::unprocessable(format!("the HTTP connector's secret: {e}"))
            .with_text(Text::new("admin-entrances-secret-invalid"))
    })
}

/// `PATCH /api/v1/entrances/{id}/connector`: an HTTP connector's new URL
/// and/or new secret; what is left out stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorChange {
    pub url: Option<String>,
    /// Never shown back: a connector's secret is write-only.
    pub secret: Option<String>,
}

/// `PUT /api/v1/security`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelChange {
    #[schema(value_type = SecurityLevel)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageChange {
    #[schema(value_type = Language)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeChange {
    #[schema(value_type = LivenessMode)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    /// The token of the invitation e-mail's link.
    pub token: String,
    pub password: String,
}

/// `POST /api/v1/admins`: whom to invite as an admin.
#[derive(Debug, Deserialize, ToSchema)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/admin-session`: the code of their authenticator app too,
/// for an admin who set one up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminLoginRequest {
    pub email: String,
    pub password: String,
    /// The six-digit code of the admin's authenticator app (TOTP, RFC
    /// 6238), for an admin who set up two-step sign-in.
    #[schema(example = "492039")]
    pub code: Option<String>,
}

/// `POST /api/v1/me/consent`; the services compare the version with the
/// statement in force.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// The version of the statement read (`GET /api/v1/me/statement`).
    pub statement_version: String,
}

/// `PUT /api/v1/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    pub current_password: String,
    pub new_password: String,
}
