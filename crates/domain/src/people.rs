//! Organisations and the people they import.

use serde::Serialize;

use crate::language::Language;
use crate::values::{AcsId, EmailAddress, InvalidValue, OrgId, PersonId, PersonName, UnixTime};

#[derive(Debug, Clone, Serialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    pub created_at: UnixTime,
    /// What its people read where they chose no language themselves.
    pub language: Language,
    /// The time zone (an IANA name such as `Europe/Amsterdam`) its admins
    /// read times in.
    pub time_zone: String,
}

/// An organisation's time zone until its admins choose one (the schema's
/// default too).
pub const DEFAULT_TIME_ZONE: &str = "Europe/Amsterdam";

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Person {
    pub id: PersonId,
    pub org_id: OrgId,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: EmailAddress,
    pub acs_id: AcsId,
    pub created_at: UnixTime,
    pub invited_at: Option<UnixTime>,
    /// The language they chose to read Limen in, if they chose.
    pub language: Option<Language>,
}

/// Where a person stands on the way from import to enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    Imported,
    Invited,
    Registered,
    Consented,
    Enrolled,
    /// Enrolled with a model that is no longer the active one, or whose
    /// vectors were deleted when that model's transition ended: consent
    /// stands, a fresh enrolment is needed.
    RenewalNeeded,
}

/// A person as the organisation's admin sees them: a status, never a face.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PersonOverview {
    #[serde(flatten)]
    pub person: Person,
    pub status: PersonStatus,
}

/// One imported row, already checked for its own shape.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// Where it was in the import (from 1), for error reports.
    pub row: usize,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: EmailAddress,
    pub acs_id: AcsId,
}

impl NewPerson {
    /// Checks one row of an import; `row` (counted from 1) is for the errors.
    pub fn parse(
        row: usize,
        first_name: &str,
        last_name: &str,
        email: &str,
        acs_id: &str,
    ) -> Result<NewPerson, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut check = |field: &'static str, result: Result<(), InvalidValue>| {
            if let Err(e) = result {
                errors.push(RowError {
                    row,
                    field,
                    problem: RowProblem::Invalid(e),
                });
            }
        };
        let first = PersonName::parse(first_name);
        check(
            "first_name",
            first.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let last = PersonName::parse(last_name);
        check("last_name", last.as_ref().map(|_| ()).map_err(Clone::clone));
        let mail = EmailAddress::parse(email);
        check("email", mail.as_ref().map(|_| ()).map_err(Clone::clone));
        let acs = AcsId::parse(acs_id);
        check("acs_id", acs.as_ref().map(|_| ()).map_err(Clone::clone));
        match (first, last, mail, acs) {
            (Ok(first_name), Ok(last_name), Ok(email), Ok(acs_id)) => Ok(NewPerson {
                row,
                first_name,
                last_name,
                email,
                acs_id,
            }),
            _ => Err(errors),
        }
    }
}

/// What is wrong with one row of an import: the row as the import counts
/// it (a CSV's as a spreadsheet shows it, the header being row 1; a JSON
/// array's position from 1), the field, and the problem. Serialised with
/// the problem in English as `message`, for programs; pages word it in
/// the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RowError {
    pub row: usize,
    pub field: &'static str,
    #[serde(rename = "message", serialize_with = "english")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub problem: RowProblem,
}

/// Why a row of an import cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("{0}")]
    Invalid(InvalidValue),
    /// The same e-mail address or ACS id as an earlier row of the import.
    #[error("duplicate of row {0}")]
    DuplicateOf(usize),
    /// The ACS id is another person's in the organisation.
    #[error("already belongs to another person in this organisation")]
    AcsIdTaken,
    /// A CSV line without a field the header names, or with more
    /// (non-empty) fields than the header: values would land in the wrong
    /// columns.
    #[error("expected {expected} fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    /// A `"` inside a CSV field that does not start with one: the quoting
    /// is broken, so the fields may not be where they seem.
    #[error("a quote inside a field that does not start with one")]
    StrayQuote,
}

fn english<S: serde::Serializer>(problem: &RowProblem, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(problem)
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
}
