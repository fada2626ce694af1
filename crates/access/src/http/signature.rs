//! Signing requests, and the receiving side's verification.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::AccessRequest;

const SIGNATURE_PREFIX: &str = "sha256=";
/// Longer nonces are refused so the replay cache stays small.
const MAX_NONCE_LEN: usize = 128;

/// The secret an entrance shares with its access system.
#[derive(Clone)]
pub struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    /// `None` for an empty secret, which would make signatures forgeable.
    pub fn new(secret: impl Into<Vec<u8>>) -> Option<Self> {
        let secret = Zeroizing::new(secret.into());
        (!secret.is_empty()).then_some(Self(secret))
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(redacted)")
    }
}

/// The `X-Limen-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &SharedSecret, timestamp: u64, body: &[u8]) -> String {
    let tag = secret
        .mac(&timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{SIGNATURE_PREFIX}{}", hex::encode(tag))
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("timestamp header missing or not unix seconds")]
    MalformedTimestamp,
    #[error("timestamp outside the accepted window")]
    Stale,
    #[error("signature header missing or malformed")]
    MalformedSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("body is not an access request: {0}")]
    MalformedBody(String),
    #[error("body timestamp differs from the signed header")]
    TimestampMismatch,
    #[error("nonce empty or too long")]
    MalformedNonce,
    #[error("nonce already seen: replayed request")]
    Replayed,
}

/// The receiving side's check of Limen's requests: signature, freshness and
/// single use. Keeps the nonces it accepted for as long as their timestamp
/// is inside the window.
pub struct Verifier {
    secret: SharedSecret,
    window: Duration,
    /// Nonce → unix second after which its timestamp is stale anyway.
    seen_nonces: Mutex<HashMap<String, u64>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Tolerates this much clock difference between Limen and the receiver.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

    pub fn new(secret: SharedSecret, window: Duration) -> Self {
        Self {
            secret,
            window,
            seen_nonces: Mutex::new(HashMap::new()),
        }
    }

    /// Checks one request as received at `now`, given its two header values
    /// and raw body, and returns the request if it is genuine, fresh and new.
    pub fn verify(
        &self,
        timestamp_header: Option<&str>,
        signature_header: Option<&str>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<AccessRequest, VerifyError> {
        let timestamp_text = timestamp_header.ok_or(VerifyError::MalformedTimestamp)?;
        let timestamp: u64 = timestamp_text
            .parse()
            .map_err(|_| VerifyError::MalformedTimestamp)?;
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let window = self.window.as_secs();
        if timestamp.abs_diff(now) > window {
            return Err(VerifyError::Stale);
        }

        let tag = signature_header
            .and_then(|s| s.strip_prefix(SIGNATURE_PREFIX))
            .and_then(|hex_tag| hex::decode(hex_tag).ok())
            .ok_or(VerifyError::MalformedSignature)?;
        self.secret
            .mac(timestamp_text, body)
            .verify_slice(&tag)
            .map_err(|_| VerifyError::BadSignature)?;

        let request: AccessRequest =
            serde_json::from_slice(body).map_err(|e| VerifyError::MalformedBody(e.to_string()))?;
        if request.timestamp != timestamp {
            return Err(VerifyError::TimestampMismatch);
        }
        if request.nonce.is_empty() || request.nonce.len() > MAX_NONCE_LEN {
            return Err(VerifyError::MalformedNonce);
        }

        // A poisoned lock only means another check panicked; the map is intact.
        let mut seen = self.seen_nonces.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, stale_after| *stale_after >= now);
        if seen.contains_key(&request.nonce) {
            return Err(VerifyError::Replayed);
        }
        seen.insert(request.nonce.clone(), timestamp.saturating_add(window));
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SharedSecret {
        SharedSecret::new("correct horse battery staple").expect("non-empty")
    }

    fn body(timestamp: u64, nonce: &str) -> Vec<u8> {
        serde_json::to_vec(&AccessRequest {
            entrance: "front door".into(),
            acs_id: "4711".into(),
            timestamp,
            nonce: nonce.into(),
        })
        .expect("serialisable")
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Independently computed: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let secret = SharedSecret::new("key").expect("non-empty");
        assert_eq!(
            sign(&secret, 1_700_000_000, b"{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn accepts_a_genuine_request_once() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = body(1000, "n1");
        let signature = sign(&secret(), 1000, &body);
        let request = verifier.verify(Some("1000"), Some(&signature), &body, at(1010));
        assert_eq!(request.map(|r| r.acs_id), Ok("4711".into()));
        let replay = verifier.verify(Some("1000"), Some(&signature), &body, at(1011));
        assert_eq!(replay, Err(VerifyError::Replayed));
    }

    #[test]
    fn refuses_stale_and_future_timestamps() {
        let verifier = Verifier::new(secret(), Duration::from_secs(60));
        let body = body(1000, "n1");
        let signature = sign(&secret(), 1000, &body);
        for now in [1061, 939] {
            let outcome = verifier.verify(Some("1000"), Some(&signature), &body, at(now));
            assert_eq!(outcome, Err(VerifyError::Stale), "now {now}");
        }
    }

    #[test]
    fn refuses_other_secrets_and_tampered_bodies() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = body(1000, "n1");
        let other = SharedSecret::new("guess").expect("non-empty");
        let forged = sign(&other, 1000, &body);
        let outcome = verifier.verify(Some("1000"), Some(&forged), &body, at(1000));
        assert_eq!(outcome, Err(VerifyError::BadSignature));

        let signature = sign(&secret(), 1000, &body);
        let tampered = String::from_utf8(body)
            .expect("json")
            .replace("4711", "4712");
        let outcome = verifier.verify(
            Some("1000"),
            Some(&signature),
            tampered.as_bytes(),
            at(1000),
        );
        assert_eq!(outcome, Err(VerifyError::BadSignature));
    }

    #[test]
    fn the_signed_header_must_match_the_body() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = body(1000, "n1");
        let signature = sign(&secret(), 1001, &body);
        let outcome = verifier.verify(Some("1001"), Some(&signature), &body, at(1000));
        assert_eq!(outcome, Err(VerifyError::TimestampMismatch));
    }

    #[test]
    fn refuses_missing_or_malformed_headers() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = body(1000, "n1");
        let signature = sign(&secret(), 1000, &body);
        let cases = [
            (
                None,
                Some(signature.as_str()),
                VerifyError::MalformedTimestamp,
            ),
            (
                Some("10 00"),
                Some(signature.as_str()),
                VerifyError::MalformedTimestamp,
            ),
            (Some("1000"), None, VerifyError::MalformedSignature),
            (
                Some("1000"),
                Some(&signature[7..]),
                VerifyError::MalformedSignature,
            ),
            (
                Some("1000"),
                Some("sha256=zz"),
                VerifyError::MalformedSignature,
            ),
        ];
        for (timestamp, signature, expected) in cases {
            let outcome = verifier.verify(timestamp, signature, &body, at(1000));
            assert_eq!(outcome, Err(expected));
        }
    }

    #[test]
    fn forgets_nonces_once_their_timestamp_is_stale() {
        let verifier = Verifier::new(secret(), Duration::from_secs(60));
        let first = body(1000, "n1");
        let signature = sign(&secret(), 1000, &first);
        assert!(
            verifier
                .verify(Some("1000"), Some(&signature), &first, at(1000))
                .is_ok()
        );
        let later = body(1100, "n2");
        let signature = sign(&secret(), 1100, &later);
        assert!(
            verifier
                .verify(Some("1100"), Some(&signature), &later, at(1100))
                .is_ok()
        );
        let seen = verifier.seen_nonces.lock().expect("not poisoned");
        assert_eq!(seen.keys().collect::<Vec<_>>(), ["n2"]);
    }

    #[test]
    fn empty_secret_is_refused() {
        assert!(SharedSecret::new("").is_none());
    }
}
