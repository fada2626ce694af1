//! Who did something, as the audit trail names them.

use std::fmt;

use serde::Serialize;

use crate::values::{
    AdminId, ApiKeyId, EmailAddress, Label, OrgId, PersonId, PersonName, UnixTime,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator, through `limen admin …`.
    Operator,
    /// An organisation's admin, through one of its API keys.
    ApiKey(ApiKeyId),
    /// An organisation's admin, signed in with their own account.
    Admin(AdminId),
    /// An employee acting on their own data.
    Employee(PersonId),
    /// Someone not signed in (a failed login, for example).
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Operator => f.write_str("operator"),
            Actor::ApiKey(id) => write!(f, "api-key:{id}"),
            Actor::Admin(id) => write!(f, "admin:{id}"),
            Actor::Employee(id) => write!(f, "employee:{id}"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// An organisation's admin as a request proved itself: the organisation
/// and the credential it came with, which the audit trail names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAdmin {
    pub org: OrgId,
    pub by: AdminCredential,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCredential {
    ApiKey(ApiKeyId),
    /// A session of an admin's account.
    Account(AdminId),
}

impl OrgAdmin {
    pub fn actor(&self) -> Actor {
        match &self.by {
            AdminCredential::ApiKey(key) => Actor::ApiKey(key.clone()),
            AdminCredential::Account(admin) => Actor::Admin(admin.clone()),
        }
    }
}

/// An admin's account as the organisation's admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AdminAccount {
    pub id: AdminId,
    pub email: EmailAddress,
    pub name: PersonName,
    pub invited_at: UnixTime,
    /// When they chose their password; `None` while only invited.
    pub registered_at: Option<UnixTime>,
}

/// An API key as its organisation's admins see it: never the key itself,
/// which is shown once when it is made and stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: Label,
    pub created_at: UnixTime,
    /// To the minute: a request refreshes it when it is older than that.
    pub last_used_at: Option<UnixTime>,
}
