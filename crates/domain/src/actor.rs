//! Who did something, as the audit trail names them.

use std::fmt;

use serde::Serialize;

use crate::values::{ApiKeyId, Label, OrgId, PersonId, UnixTime};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator, through `limen admin …`.
    Operator,
    /// An organisation's admin, through one of its API keys.
    ApiKey(ApiKeyId),
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
            Actor::Employee(id) => write!(f, "employee:{id}"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// An organisation's admin as a request proved itself: the organisation
/// and the API key it came with, which the audit trail names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAdmin {
    pub org: OrgId,
    pub key: ApiKeyId,
}

impl OrgAdmin {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key.clone())
    }
}

/// An API key as its organisation's admins see it: never the key itself,
/// which is shown once when it is made and stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: Label,
    pub created_at: UnixTime,
    /// To the minute: a request refreshes it when it is older than that.
    pub last_used_at: Option<UnixTime>,
}
