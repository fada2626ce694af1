//! Passwords after NIST SP 800-63B: a password is the only factor here, so
//! at least 15 characters; up to 128 accepted; no composition rules; refused
//! when it is a well-known password, a trivial pattern, or built from the
//! account's own name or the service's. Stored as Argon2id hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub const MIN_CHARS: usize = 15;
pub const MAX_CHARS: usize = 128;

/// Passwords of 15 or more characters that are nevertheless among the
/// first any attacker tries (lower-cased, compared after removing spaces).
const COMMON: &[&str] = &[
    "passwordpassword",
    "password12345678",
    "password1234567",
    "123456789012345",
    "1234567890123456",
    "qwertyuiopasdfgh",
    "qwertyuiopasdfghjkl",
    "qwertyuiop123456",
    "1q2w3e4r5t6y7u8i",
    "iloveyouiloveyou",
    "letmeinletmein",
    "welcomewelcome1",
    "administrator123",
    "changemechangeme",
    "correcthorsebatterystaple",
    "trustno1trustno1",
    "football12345678",
    "baseballbaseball",
    "superman12345678",
    "abc123abc123abc",
    "princessprincess",
    "monkeymonkeymonkey",
    "sunshinesunshine",
    "dragondragondragon",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejected {
    #[error(
        "the password must be at least {MIN_CHARS} characters long (a short sentence works well)"
    )]
    TooShort,
    #[error("the password must be at most {MAX_CHARS} characters long")]
    TooLong,
    #[error("this password is too common or too easy to guess; please choose another")]
    Common,
    #[error(
        "the password must not be built from your e-mail address, your organisation's name or the service's name"
    )]
    Contextual,
}

/// Checks a new password; `context` holds words it must not be made of
/// (the e-mail address, its local part, the organisation's name).
pub fn check_new_password(password: &str, context: &[&str]) -> Result<(), PasswordRejected> {
    let length = password.chars().count();
    if length < MIN_CHARS {
        return Err(PasswordRejected::TooShort);
    }
    if length > MAX_CHARS {
        return Err(PasswordRejected::TooLong);
    }
    let folded: String = password
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if COMMON.contains(&folded.as_str()) || is_trivial_pattern(&folded) {
        return Err(PasswordRejected::Common);
    }
    let mut rest = folded.clone();
    for word in context.iter().copied().chain(["limen"]) {
        let word: String = word
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        if word.chars().count() >= 3 {
            rest = rest.replace(&word, "");
        }
    }
    // What is left once the context words are removed must still be a
    // password on its own.
    if rest.chars().count() < 8 || is_trivial_pattern(&rest) {
        return Err(PasswordRejected::Contextual);
    }
    Ok(())
}

/// One repeated character or short block ("aaaa…", "abcabc…"), or a run
/// of consecutive characters ("12345…", "abcde…", "zyxw…").
fn is_trivial_pattern(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return true;
    }
    let repeats = (1..=4).any(|block| {
        chars.len() > block
            && chars
                .iter()
                .enumerate()
                .all(|(i, c)| *c == chars[i % block])
    });
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|w| w[1] as i64 - w[0] as i64)
        .collect();
    let run = steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1);
    repeats || run
}

/// A valid Argon2id hash of no password anyone knows: verifying against it
/// costs as much as a real check, so a login for an unknown account takes
/// as long as one for a known account.
pub const UNUSABLE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bGltZW4tbm8tYWNjb3VudA$8Yl2kUZUm8vRzXQvP0w9i8m9b1CqJ0Pz0mV6T1dU3xA";

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_the_rule_not_composition() {
        assert_eq!(
            check_new_password("short one", &[]),
            Err(PasswordRejected::TooShort)
        );
        assert_eq!(
            check_new_password(&"x1".repeat(65), &[]),
            Err(PasswordRejected::TooLong)
        );
        assert_eq!(
            check_new_password("purple giraffes dance", &[]),
            Ok(()),
            "no digits or symbols required"
        );
        assert_eq!(check_new_password("çà et là, sous la pluie", &[]), Ok(()));
    }

    #[test]
    fn guessable_passwords_are_refused() {
        assert_eq!(
            check_new_password("Password Password", &[]),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check_new_password("aaaaaaaaaaaaaaaa", &[]),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check_new_password("abcabcabcabcabcabc", &[]),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check_new_password("abcdefghijklmnop", &[]),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check_new_password("ann.lee@acme.test1", &["ann.lee@acme.test", "ann.lee"]),
            Err(PasswordRejected::Contextual)
        );
        assert_eq!(
            check_new_password("AcmeAcmeLimen2024", &["Acme"]),
            Err(PasswordRejected::Contextual)
        );
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("purple giraffes dance").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("purple giraffes dance", &hash));
        assert!(!verify_password("purple giraffes dance!", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn the_stand_in_hash_costs_a_real_verification() {
        let parsed = PasswordHash::new(UNUSABLE_HASH).expect("a well-formed hash");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(!verify_password("", UNUSABLE_HASH));
    }
}
