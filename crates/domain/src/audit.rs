//! The audit trail's vocabulary: what an entry says was done, and the
//! details of it. Entries store them as text (an action's code, a detail
//! as a small JSON object) that every version reads back: the chain's
//! links cover that text, so a code once written never changes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::entrance::{ConnectorKind, LivenessMode};
use crate::face::ModelVersion;
use crate::language::Language;
use crate::recorded::{Stored, from_json_text, json_text};
use crate::security::SecurityLevel;
use crate::values::{AdminId, EntranceId, UnixTime};

/// An audited action, by the code its entries store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    OrganisationCreated,
    OrganisationRenamed,
    OrganisationDeleted,
    AdminTokenReplaced,
    AdminInvited,
    AdminRegistered,
    AdminLoginFailed,
    AdminRemoved,
    AdminTwoStepOn,
    AdminTwoStepOff,
    AdminPasswordResetRequested,
    AdminPasswordReset,
    ApiKeyCreated,
    ApiKeyRevoked,
    SecurityLevelChanged,
    LanguageChanged,
    TimeZoneChanged,
    EntranceCreated,
    EntranceRenamed,
    EntranceDeleted,
    EntranceLivenessChanged,
    EntranceConnectorChanged,
    DeviceRegistered,
    DeviceRevoked,
    PeopleImported,
    InvitationSent,
    PersonErased,
    AccountRegistered,
    LoginFailed,
    PasswordResetRequested,
    PasswordReset,
    PasswordChangeFailed,
    PasswordChanged,
    LanguageChosen,
    ConsentGiven,
    ConsentWithdrawn,
    ConsentRenewalRequested,
    ConsentLapsed,
    VectorEnrolled,
    VectorDeleted,
    VectorMigrated,
    VectorRetired,
    RenewalRequested,
    RegistrationCancelled,
    DataExported,
    ModelActivated,
    MasterKeyRotated,
    /// Data seeded for a benchmark or a test before any instance starts.
    Seeded,
}

impl AuditAction {
    pub const ALL: [AuditAction; 48] = [
        AuditAction::OrganisationCreated,
        AuditAction::OrganisationRenamed,
        AuditAction::OrganisationDeleted,
        AuditAction::AdminTokenReplaced,
        AuditAction::AdminInvited,
        AuditAction::AdminRegistered,
        AuditAction::AdminLoginFailed,
        AuditAction::AdminRemoved,
        AuditAction::AdminTwoStepOn,
        AuditAction::AdminTwoStepOff,
        AuditAction::AdminPasswordResetRequested,
        AuditAction::AdminPasswordReset,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyRevoked,
        AuditAction::SecurityLevelChanged,
        AuditAction::LanguageChanged,
        AuditAction::TimeZoneChanged,
        AuditAction::EntranceCreated,
        AuditAction::EntranceRenamed,
        AuditAction::EntranceDeleted,
        AuditAction::EntranceLivenessChanged,
        AuditAction::EntranceConnectorChanged,
        AuditAction::DeviceRegistered,
        AuditAction::DeviceRevoked,
        AuditAction::PeopleImported,
        AuditAction::InvitationSent,
        AuditAction::PersonErased,
        AuditAction::AccountRegistered,
        AuditAction::LoginFailed,
        AuditAction::PasswordResetRequested,
        AuditAction::PasswordReset,
        AuditAction::PasswordChangeFailed,
        AuditAction::PasswordChanged,
        AuditAction::LanguageChosen,
        AuditAction::ConsentGiven,
        AuditAction::ConsentWithdrawn,
        AuditAction::ConsentRenewalRequested,
        AuditAction::ConsentLapsed,
        AuditAction::VectorEnrolled,
        AuditAction::VectorDeleted,
        AuditAction::VectorMigrated,
        AuditAction::VectorRetired,
        AuditAction::RenewalRequested,
        AuditAction::RegistrationCancelled,
        AuditAction::DataExported,
        AuditAction::ModelActivated,
        AuditAction::MasterKeyRotated,
        AuditAction::Seeded,
    ];

    /// The code entries store: stable, whatever the words shown for it.
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::OrganisationCreated => "organisation.created",
            AuditAction::OrganisationRenamed => "organisation.renamed",
            AuditAction::OrganisationDeleted => "organisation.deleted",
            AuditAction::AdminTokenReplaced => "admin_token.replaced",
            AuditAction::AdminInvited => "admin.invited",
            AuditAction::AdminRegistered => "admin.registered",
            AuditAction::AdminLoginFailed => "admin.login_failed",
            AuditAction::AdminRemoved => "admin.removed",
            AuditAction::AdminTwoStepOn => "admin.two_step_on",
            AuditAction::AdminTwoStepOff => "admin.two_step_off",
            AuditAction::AdminPasswordResetRequested => "admin.password_reset_requested",
            AuditAction::AdminPasswordReset => "admin.password_reset",
            AuditAction::ApiKeyCreated => "api_key.created",
            AuditAction::ApiKeyRevoked => "api_key.revoked",
            AuditAction::SecurityLevelChanged => "security_level.changed",
            AuditAction::LanguageChanged => "language.changed",
            AuditAction::TimeZoneChanged => "time_zone.changed",
            AuditAction::EntranceCreated => "entrance.created",
            AuditAction::EntranceRenamed => "entrance.renamed",
            AuditAction::EntranceDeleted => "entrance.deleted",
            AuditAction::EntranceLivenessChanged => "entrance.liveness_changed",
            AuditAction::EntranceConnectorChanged => "entrance.connector_changed",
            AuditAction::DeviceRegistered => "device.registered",
            AuditAction::DeviceRevoked => "device.revoked",
            AuditAction::PeopleImported => "people.imported",
            AuditAction::InvitationSent => "invitation.sent",
            AuditAction::PersonErased => "person.erased",
            AuditAction::AccountRegistered => "account.registered",
            AuditAction::LoginFailed => "login.failed",
            AuditAction::PasswordResetRequested => "password.reset_requested",
            AuditAction::PasswordReset => "password.reset",
            AuditAction::PasswordChangeFailed => "password.change_failed",
            AuditAction::PasswordChanged => "password.changed",
            AuditAction::LanguageChosen => "language.chosen",
            AuditAction::ConsentGiven => "consent.given",
            AuditAction::ConsentWithdrawn => "consent.withdrawn",
            AuditAction::ConsentRenewalRequested => "consent.renewal_requested",
            AuditAction::ConsentLapsed => "consent.lapsed",
            AuditAction::VectorEnrolled => "vector.enrolled",
            AuditAction::VectorDeleted => "vector.deleted",
            AuditAction::VectorMigrated => "vector.migrated",
            AuditAction::VectorRetired => "vector.retired",
            AuditAction::RenewalRequested => "renewal.requested",
            AuditAction::RegistrationCancelled => "registration.cancelled",
            AuditAction::DataExported => "data.exported",
            AuditAction::ModelActivated => "model.activated",
            AuditAction::MasterKeyRotated => "master_key.rotated",
            AuditAction::Seeded => "bench.seeded",
        }
    }

    pub fn parse(code: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.code() == code)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Stored for AuditAction {
    fn to_stored(&self) -> String {
        self.code().to_owned()
    }

    fn from_stored(text: &str) -> Option<AuditAction> {
        AuditAction::parse(text)
    }
}

/// What an entry records of its action beyond who did it to whom: the
/// variable parts only, each typed, so that a page words them in its
/// reader's language. Stored as a JSON object named by its variant, or
/// as nothing for [`AuditDetail::None`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AuditDetail {
    /// The action says it all.
    None,
    /// The name given (an organisation's, an entrance's, an API key's).
    Name {
        name: String,
    },
    /// The admin the operator invited (the entry's subject is their
    /// organisation).
    Admin {
        admin: AdminId,
    },
    SecurityLevel {
        level: SecurityLevel,
    },
    Liveness {
        mode: LivenessMode,
    },
    Language {
        language: Language,
    },
    /// An IANA time zone's name.
    TimeZone {
        zone: String,
    },
    /// An entrance's connector, and the URL it calls.
    Connector {
        connector: ConnectorKind,
        url: Option<String>,
    },
    /// An HTTP entrance's new URL, and whether its secret was replaced
    /// too (the secret itself is never recorded).
    ConnectorChanged {
        url: String,
        new_secret: bool,
    },
    /// The entrance of a device.
    Entrance {
        entrance: EntranceId,
    },
    /// Consent to a privacy statement version, in a language, given by a
    /// method (`web`, `api` …).
    Consent {
        statement: String,
        language: Language,
        method: String,
    },
    /// The statement version a person was asked to consent to.
    Statement {
        statement: String,
    },
    /// Consent not given again to `statement` within `days` of its
    /// publication: the vectors were deleted.
    Lapsed {
        statement: String,
        days: u32,
    },
    /// Vectors enrolled with a model.
    Enrolled {
        model: ModelVersion,
        vectors: u32,
    },
    /// A renewal notice (0 the first, then the reminders) for a model;
    /// the old vectors work until `until`.
    RenewalRequested {
        model: ModelVersion,
        notice: u32,
        until: UnixTime,
    },
    /// Vectors of a model retired at the end of its transition; consent
    /// kept, enrolment needed.
    Retired {
        model: ModelVersion,
    },
    /// Vectors moved from one model to another in place: no picture,
    /// consent kept.
    Migrated {
        from: ModelVersion,
        to: ModelVersion,
    },
    /// A model activated: the previous one, if anyone holds its vectors,
    /// matches until `until`.
    Activated {
        until: UnixTime,
    },
    /// An invitation that expires at `expires_at`.
    Invitation {
        expires_at: UnixTime,
    },
    /// One batch of an import: people `first` to `last` of `total`.
    Imported {
        first: u64,
        last: u64,
        total: u64,
        created: u64,
        updated: u64,
    },
    /// What a rotation of the master key wrapped anew.
    Rekeyed {
        organisations: u64,
        vector_keys: u64,
        connector_secrets: u64,
        admin_secrets: u64,
    },
}

impl Stored for AuditDetail {
    fn to_stored(&self) -> String {
        json_text(self, &AuditDetail::None)
    }

    fn from_stored(text: &str) -> Option<AuditDetail> {
        from_json_text(text, AuditDetail::None)
    }
}

/// In English, for programs (the JSON API) and the operator.
impl fmt::Display for AuditDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditDetail::None => Ok(()),
            AuditDetail::Name { name } => f.write_str(name),
            AuditDetail::Admin { admin } => admin.fmt(f),
            AuditDetail::SecurityLevel { level } => level.fmt(f),
            AuditDetail::Liveness { mode } => f.write_str(mode.as_str()),
            AuditDetail::Language { language } => language.fmt(f),
            AuditDetail::TimeZone { zone } => f.write_str(zone),
            AuditDetail::Connector { connector, url } => match url {
                Some(url) => write!(f, "connector {} {url}", connector.as_str()),
                None => write!(f, "connector {}", connector.as_str()),
            },
            AuditDetail::ConnectorChanged { url, new_secret } => {
                write!(f, "connector http {url}")?;
                if *new_secret {
                    f.write_str(", new secret")?;
                }
                Ok(())
            }
            AuditDetail::Entrance { entrance } => write!(f, "entrance {entrance}"),
            AuditDetail::Consent {
                statement,
                language,
                method,
            } => write!(f, "statement {statement} ({language}) by {method}"),
            AuditDetail::Statement { statement } => write!(f, "statement {statement}"),
            AuditDetail::Lapsed { statement, days } => write!(
                f,
                "not given again to statement {statement} within {days} days of its publication: vectors deleted"
            ),
            AuditDetail::Enrolled { model, vectors } => {
                write!(f, "model {model}, {vectors} vectors")
            }
            AuditDetail::RenewalRequested {
                model,
                notice,
                until,
            } => write!(
                f,
                "model {model}, notice {notice}, old vectors work until {until}"
            ),
            AuditDetail::Retired { model } => write!(
                f,
                "model {model} retired at the end of its transition; consent kept, enrolment needed"
            ),
            AuditDetail::Migrated { from, to } => {
                write!(f, "model {from} to {to} in place: no picture, consent kept")
            }
            AuditDetail::Activated { until } => write!(
                f,
                "the previous version, if anyone holds its vectors, matched until {until}"
            ),
            AuditDetail::Invitation { expires_at } => write!(f, "expires at {expires_at}"),
            AuditDetail::Imported {
                first,
                last,
                total,
                created,
                updated,
            } => write!(
                f,
                "rows {first} to {last} of {total}: {created} created, {updated} updated"
            ),
            AuditDetail::Rekeyed {
                organisations,
                vector_keys,
                connector_secrets,
                admin_secrets,
            } => write!(
                f,
                "{organisations} organisations re-keyed, {vector_keys} vector keys, {connector_secrets} connector secrets and {admin_secrets} admins' second-factor secrets wrapped anew"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorded::Recorded;

    #[test]
    fn actions_read_back_their_codes() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.code()), Some(action));
            assert_eq!(
                Recorded::<AuditAction>::read(action.code().to_owned()),
                Recorded::new(action)
            );
        }
        let newer = Recorded::<AuditAction>::read("door.painted".to_owned());
        assert_eq!(newer.value(), None);
        assert_eq!(newer.to_string(), "door.painted");
    }

    #[test]
    fn details_read_back_and_old_free_text_stays_text() {
        let details = [
            AuditDetail::None,
            AuditDetail::Name {
                name: "{\"name\": \"Acme\"}".into(),
            },
            AuditDetail::Connector {
                connector: ConnectorKind::Http,
                url: Some("https://acs.acme.test/".into()),
            },
            AuditDetail::Consent {
                statement: "1a2b".into(),
                language: Language::Dutch,
                method: "web".into(),
            },
            AuditDetail::Entrance {
                entrance: EntranceId::generate(),
            },
            AuditDetail::Migrated {
                from: ModelVersion::new("arcface-r100"),
                to: ModelVersion::new("arcface-r100-v2"),
            },
            AuditDetail::SecurityLevel {
                level: SecurityLevel::VeryHigh,
            },
            AuditDetail::Imported {
                first: 1,
                last: 500,
                total: 2500,
                created: 499,
                updated: 1,
            },
        ];
        for detail in details {
            let stored = detail.to_stored();
            assert_eq!(Recorded::read(stored.clone()), Recorded::new(detail));
        }
        assert_eq!(AuditDetail::None.to_stored(), "");
        for old in [
            "statement 1a2b (nl) by web",
            "{\"name\": \"Acme\"} Ltd",
            "{\"weather\":\"fine\"}",
        ] {
            let read = Recorded::<AuditDetail>::read(old.to_owned());
            assert_eq!(read.value(), None, "{old}");
            assert_eq!(read.to_string(), old);
        }
        assert_eq!(
            AuditDetail::ConnectorChanged {
                url: "https://acs.acme.test/".into(),
                new_secret: true
            }
            .to_string(),
            "connector http https://acs.acme.test/, new secret"
        );
        assert_eq!(
            AuditDetail::Migrated {
                from: ModelVersion::new("a"),
                to: ModelVersion::new("b"),
            }
            .to_string(),
            "model a to b in place: no picture, consent kept"
        );
    }
}
