//! The privacy statement employees are shown before they consent, in
//! each language Limen speaks, each written for its readers (not a
//! translation kept in step by hand). Its version is the SHA-256 of the
//! exact text shown, organisation name included, so each language has its
//! own, and a consent record names precisely what was read.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::language::Language;

fn template(language: Language) -> &'static str {
    match language {
        Language::English => include_str!("privacy_statement.en.txt"),
        Language::Dutch => include_str!("privacy_statement.nl.txt"),
    }
}

/// The statement as a person reads it, with the version a consent names.
#[derive(Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Statement {
    pub text: String,
    pub version: String,
    pub language: Language,
}

impl Statement {
    pub fn for_organisation(name: &str, language: Language) -> Statement {
        let text = template(language).replace("{organisation}", name);
        let version = hex::encode(Sha256::digest(text.as_bytes()));
        Statement {
            text,
            version,
            language,
        }
    }

    /// The versions the organisation shows now, one per language.
    pub fn current_versions(name: &str) -> Vec<String> {
        Language::ALL
            .into_iter()
            .map(|language| Statement::for_organisation(name, language).version)
            .collect()
    }

    /// The text's paragraphs, as they are shown.
    pub fn paragraphs(&self) -> impl Iterator<Item = &str> {
        self.text.split("\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_follows_the_text() {
        for language in Language::ALL {
            let acme = Statement::for_organisation("Acme", language);
            assert!(acme.text.contains("Acme") && !acme.text.contains("{organisation}"));
            assert_eq!(acme.version.len(), 64);
            assert_eq!(
                acme.version,
                Statement::for_organisation("Acme", language).version
            );
            assert_ne!(
                acme.version,
                Statement::for_organisation("Bolt", language).version
            );
        }
        assert_ne!(
            Statement::for_organisation("Acme", Language::English).version,
            Statement::for_organisation("Acme", Language::Dutch).version,
            "each language has its own version"
        );
    }

    #[test]
    fn every_language_says_the_same_in_as_many_sections() {
        let sections = |language| {
            Statement::for_organisation("Acme", language)
                .paragraphs()
                .filter(|p| p.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .map(|p| p.split('.').next().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        };
        let english = sections(Language::English);
        assert_eq!(english.len(), 9, "{english:?}");
        for language in Language::ALL {
            assert_eq!(sections(language), english, "{language}");
        }
    }
}
