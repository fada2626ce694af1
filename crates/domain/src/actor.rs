//! Who did something, as the audit trail names them.

use std::fmt;

use crate::values::PersonId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator, through `limen admin …`.
    Operator,
    /// An organisation's admin, through its API token.
    Admin,
    /// An employee acting on their own data.
    Employee(PersonId),
    /// Someone not signed in (a failed login, for example).
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Operator => f.write_str("operator"),
            Actor::Admin => f.write_str("admin"),
            Actor::Employee(id) => write!(f, "employee:{id}"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}
