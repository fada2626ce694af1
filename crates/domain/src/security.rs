//! An organisation's security level at its entrances.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An organisation's choice between letting strangers in and keeping its
/// people waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SecurityLevel {
    /// About 1 in 100 strangers is matched to somebody.
    Standard,
    /// About 1 in 1,000 (the default).
    #[default]
    High,
    /// About 1 in 10,000.
    VeryHigh,
}

impl SecurityLevel {
    pub const ALL: [SecurityLevel; 3] = [
        SecurityLevel::Standard,
        SecurityLevel::High,
        SecurityLevel::VeryHigh,
    ];

    /// The level's place in [`SecurityLevel::ALL`] (a row of a per-level
    /// table).
    pub fn position(self) -> usize {
        match self {
            SecurityLevel::Standard => 0,
            SecurityLevel::High => 1,
            SecurityLevel::VeryHigh => 2,
        }
    }

    /// The false-positive identification rate this level aims at.
    pub fn target_fpir(self) -> f64 {
        match self {
            SecurityLevel::Standard => 0.01,
            SecurityLevel::High => 0.001,
            SecurityLevel::VeryHigh => 0.0001,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SecurityLevel::Standard => "standard",
            SecurityLevel::High => "high",
            SecurityLevel::VeryHigh => "very_high",
        }
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A security level name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown security level {0:?}: use standard, high or very_high")]
pub struct UnknownSecurityLevel(pub String);

impl FromStr for SecurityLevel {
    type Err = UnknownSecurityLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SecurityLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| UnknownSecurityLevel(s.to_owned()))
    }
}

impl Serialize for SecurityLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SecurityLevel {
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
    fn levels_read_back_what_they_write() {
        for (position, level) in SecurityLevel::ALL.into_iter().enumerate() {
            assert_eq!(level.as_str().parse(), Ok(level));
            assert_eq!(level.position(), position);
        }
        assert_eq!(
            "medium".parse::<SecurityLevel>(),
            Err(UnknownSecurityLevel("medium".into()))
        );
        assert_eq!(SecurityLevel::default(), SecurityLevel::High);
    }
}
