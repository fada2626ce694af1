//! The languages Limen speaks to people in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A language every page, e-mail and privacy statement exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// English (the default of a new organisation).
    #[default]
    English,
    Dutch,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::Dutch];

    /// The language a person reads: the one they chose, else the one their
    /// browser asks for (none for e-mail), else their organisation's.
    pub fn read_by(
        chosen: Option<Language>,
        accepted: Option<Language>,
        organisation: Language,
    ) -> Language {
        chosen.or(accepted).unwrap_or(organisation)
    }

    /// The language's BCP 47 primary subtag, as stored and as in
    /// `Accept-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Dutch => "nl",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A language code Limen does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: use en or nl")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|language| language.code() == s)
            .ok_or_else(|| UnknownLanguage(s.to_owned()))
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back() {
        for language in Language::ALL {
            assert_eq!(language.code().parse(), Ok(language));
        }
        assert!("de".parse::<Language>().is_err());
        assert!("EN".parse::<Language>().is_err());
    }

    #[test]
    fn a_choice_comes_before_the_browser_and_the_browser_before_the_organisation() {
        use Language::{Dutch, English};
        assert_eq!(
            Language::read_by(Some(Dutch), Some(English), English),
            Dutch
        );
        assert_eq!(Language::read_by(None, Some(Dutch), English), Dutch);
        assert_eq!(Language::read_by(None, None, Dutch), Dutch);
    }
}
