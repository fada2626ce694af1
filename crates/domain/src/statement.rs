//! The privacy statement employees are shown before they consent. Its
//! version is the SHA-256 of the exact text shown, organisation name
//! included, so a consent record names precisely what was read.

use sha2::{Digest, Sha256};

const TEMPLATE: &str = include_str!("privacy_statement.txt");

pub struct Statement {
    pub text: String,
    pub version: String,
}

impl Statement {
    pub fn for_organisation(name: &str) -> Statement {
        let text = TEMPLATE.replace("{organisation}", name);
        let version = hex::encode(Sha256::digest(text.as_bytes()));
        Statement { text, version }
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
        let acme = Statement::for_organisation("Acme");
        assert!(acme.text.contains("Acme") && !acme.text.contains("{organisation}"));
        assert_eq!(acme.version.len(), 64);
        assert_eq!(acme.version, Statement::for_organisation("Acme").version);
        assert_ne!(acme.version, Statement::for_organisation("Bolt").version);
    }
}
