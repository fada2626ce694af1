//! Domain values that are checked once, where they enter the system, so
//! that everything past the edge can rely on them.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Why a value from outside was refused; the message is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    #[error("not a valid e-mail address")]
    Email,
    #[error("an access-system id must be 1 to 64 visible characters without spaces")]
    AcsId,
    #[error("a name must be 1 to 100 characters, without control characters")]
    Name,
    #[error("not a valid identifier")]
    Id,
    #[error("a vector must be a non-empty list of finite numbers")]
    Vector,
    #[error("a pass id must be 1 to 64 letters, digits, '-', '_' or '.'")]
    PassId,
    #[error("a liveness mode is off, monitor or enforce")]
    LivenessMode,
    #[error("a name must be 1 to 100 characters, without control characters")]
    Label,
}

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh identifier: 128 random bits, so that ids cannot be guessed
            /// or enumerated across organisations.
            pub fn generate() -> Self {
                let mut bytes = [0u8; 16];
                rand::rng().fill_bytes(&mut bytes);
                Self(hex::encode(bytes))
            }

            pub fn parse(text: &str) -> Result<Self, InvalidValue> {
                let well_formed = text.len() == 32
                    && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if well_formed { Ok(Self(text.to_owned())) } else { Err(InvalidValue::Id) }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

random_id!(
    /// An organisation (a customer of the operator).
    OrgId
);
random_id!(
    /// A person imported by an organisation.
    PersonId
);
random_id!(
    /// An entrance of an organisation (a door, a barrier).
    EntranceId
);
random_id!(
    /// A camera device at an entrance.
    DeviceId
);
random_id!(
    /// An organisation's API key, named by the admin who made it.
    ApiKeyId
);
random_id!(
    /// An organisation's admin who signs in with e-mail and password.
    AdminId
);
random_id!(
    /// A match handed to a device for its access panel, held until the
    /// device says the panel has been told.
    HandoverId
);

/// A business e-mail address, trimmed and lower-cased so that it can serve
/// as the account name. The check is deliberately plain: one `@`, a
/// non-empty local part, a dotted domain, no spaces or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim().to_lowercase();
        let Some((local, domain)) = text.split_once('@') else {
            return Err(InvalidValue::Email);
        };
        let plain =
            |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        let domain_ok = plain(domain)
            && !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok =
            plain(local) && !local.contains(['<', '>', '"', ',', ';', '(', ')', '[', ']', '\\']);
        if text.len() <= 254 && local.len() <= 64 && domain_ok && local_ok {
            Ok(Self(text))
        } else {
            Err(InvalidValue::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id under which the access-management system knows the person (the
/// "card number" Limen reports on a match).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AcsId(String);

impl AcsId {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        if (1..=64).contains(&text.chars().count()) && text.chars().all(|c| c.is_ascii_graphic()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidValue::AcsId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name as the organisation gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        fitting_name(text).map(Self).ok_or(InvalidValue::Name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name an organisation gives one of its things (an entrance, an API
/// key), as people will read it in lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Label(String);

impl Label {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        fitting_name(text).map(Self).ok_or(InvalidValue::Label)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Trimmed, 1 to 100 characters, none of them a control character.
fn fitting_name(text: &str) -> Option<String> {
    let text = text.trim();
    ((1..=100).contains(&text.chars().count()) && !text.chars().any(char::is_control))
        .then(|| text.to_owned())
}

/// Seconds since the Unix epoch; every timestamp in the store is one.
pub type UnixTime = i64;

pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_normalised_and_checked() {
        assert_eq!(
            EmailAddress::parse(" Ann.Lee@Example.COM ").map(|e| e.0),
            Ok("ann.lee@example.com".into())
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@exa mple.com",
            "a@b@c.com",
            "ann@-x.com",
            "<a>@x.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(InvalidValue::Email),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn acs_ids_and_names_are_checked() {
        assert!(AcsId::parse("CARD-0042").is_ok());
        assert!(AcsId::parse("").is_err());
        assert!(AcsId::parse("a b").is_err());
        assert!(AcsId::parse(&"9".repeat(65)).is_err());
        assert!(PersonName::parse("Zoë").is_ok());
        assert!(PersonName::parse("  ").is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn ids_are_random_and_parse_only_their_own_shape() {
        let id = PersonId::generate();
        assert_ne!(id, PersonId::generate());
        assert_eq!(PersonId::parse(id.as_str()), Ok(id));
        assert!(PersonId::parse("1").is_err());
        assert!(PersonId::parse("../../etc/passwd").is_err());
    }
}
