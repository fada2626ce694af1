//! Typed values kept in text columns, read back by versions that may not
//! know them: rows written before a value was typed hold free text, and a
//! newer version may write a value this one does not know. Such text is
//! kept and shown as it is, never refused.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

/// A value with the text form a row stores it in.
pub trait Stored: Sized {
    /// The text a row holds.
    fn to_stored(&self) -> String;

    /// The value `text` holds, if this version reads it.
    fn from_stored(text: &str) -> Option<Self>;
}

/// A value as a row holds it: its text exactly as stored (what a link of
/// the audit chain covers), and the value, when this version reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    text: String,
    value: Option<T>,
}

impl<T: Stored> Recorded<T> {
    /// A value about to be written.
    pub fn new(value: T) -> Recorded<T> {
        Recorded {
            text: value.to_stored(),
            value: Some(value),
        }
    }

    /// What a row holds.
    pub fn read(text: String) -> Recorded<T> {
        Recorded {
            value: T::from_stored(&text),
            text,
        }
    }
}

impl<T> Recorded<T> {
    /// The text as stored.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value, unless the row holds text this version does not read.
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }
}

/// The value in English words (for programs and logs), or the stored
/// text as it is.
impl<T: fmt::Display> fmt::Display for Recorded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => value.fmt(f),
            None => f.write_str(&self.text),
        }
    }
}

/// As its [`fmt::Display`]: the JSON API gives the English words.
impl<T: fmt::Display> Serialize for Recorded<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The text form of a structured value: nothing for `empty` (what rows
/// written without details hold), else a JSON object.
pub(crate) fn json_text<T: Serialize + PartialEq>(value: &T, empty: &T) -> String {
    if value == empty {
        return String::new();
    }
    serde_json::to_string(value).expect("a structured value serialises")
}

/// The value [`json_text`] wrote; `None` for anything else (free text
/// written before the value was structured never starts with `{`).
pub(crate) fn from_json_text<T: DeserializeOwned>(text: &str, empty: T) -> Option<T> {
    match text {
        "" => Some(empty),
        json if json.starts_with('{') => serde_json::from_str(json).ok(),
        _ => None,
    }
}
