//! Signing requests the Standard Webhooks way, and the receiving side's
//! verification.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::WebhookEvent;

const SECRET_PREFIX: &str = "whsec_";
/// The key lengths Standard Webhooks allows for HMAC-SHA256.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;
const SIGNATURE_VERSION: &str = "v1";
const ID_PREFIX: &str = "msg_";
/// Longer ids are refused so the replay cache stays small.
const MAX_ID_LEN: usize = 128;

/// Why a text is not a usable `whsec_` secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a secret starts with whsec_ followed by base64")]
    MissingPrefix,
    #[error("the part after whsec_ is not base64")]
    NotBase64,
    #[error("a secret is 24 to 64 random bytes, this one is {0}")]
    Length(usize),
}

/// The HMAC key an entrance shares with its access system: 24 to 64 bytes,
/// written `whsec_<base64>`.
#[derive(Clone)]
pub struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    /// The secret from its raw key bytes (as stored).
    pub fn from_key(key: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let key = Zeroizing::new(key.into());
        if !SECRET_BYTES.contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self(key))
    }

    /// The raw key bytes, for storing.
    pub fn key(&self) -> &[u8] {
        &self.0
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl FromStr for SharedSecret {
    type Err = SecretError;

    /// Parses `whsec_<base64>`; like the Standard Webhooks libraries, the
    /// base64 padding may be left out.
    fn from_str(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|_| SecretError::NotBase64)?;
        Self::from_key(key)
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(redacted)")
    }
}

/// A `webhook-id`: unique per request, and free of `.` so that the signed
/// text `<id>.<timestamp>.<body>` cannot be read two ways.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// `msg_` and 128 random bits in hex.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Self(format!("{ID_PREFIX}{}", hex::encode(bytes))))
    }

    /// An id as received: 1 to 128 visible ASCII characters, no `.`.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = !text.is_empty()
            && text.len() <= MAX_ID_LEN
            && text.bytes().all(|b| b.is_ascii_graphic() && b != b'.');
        valid.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `webhook-signature` value for `body` sent as message `id` at
/// `timestamp`.
pub fn sign(secret: &SharedSecret, id: &MessageId, timestamp: u64, body: &[u8]) -> String {
    let tag = secret
        .mac(id.as_str(), &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{SIGNATURE_VERSION},{}", BASE64.encode(tag))
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("webhook-id header missing or malformed")]
    MalformedId,
    #[error("webhook-timestamp header missing or not unix seconds")]
    MalformedTimestamp,
    #[error("timestamp outside the accepted window")]
    Stale,
    #[error("webhook-signature header missing or without a v1 signature")]
    MalformedSignature,
    #[error("no signature matches")]
    BadSignature,
    #[error("body is not an event Limen sends: {0}")]
    MalformedBody(String),
    #[error("webhook-id already seen: replayed request")]
    Replayed,
}

/// The three headers of a received request, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceivedHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// The receiving side's check of Limen's requests: signature, freshness and
/// single use. Keeps the ids it accepted for as long as their timestamp is
/// inside the window.
pub struct Verifier {
    secret: SharedSecret,
    window: Duration,
    /// Message id → unix second after which its timestamp is stale anyway.
    seen_ids: Mutex<HashMap<MessageId, u64>>,
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
            seen_ids: Mutex::new(HashMap::new()),
        }
    }

    /// Checks one request as received at `now`, given its three header
    /// values and raw body, and returns its event (an access request, or an
    /// admin's connection test) if it is genuine, fresh and new.
    pub fn verify(
        &self,
        headers: ReceivedHeaders<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<WebhookEvent, VerifyError> {
        let id = headers
            .id
            .and_then(MessageId::parse)
            .ok_or(VerifyError::MalformedId)?;
        let timestamp_text = headers.timestamp.ok_or(VerifyError::MalformedTimestamp)?;
        let timestamp: u64 = timestamp_text
            .parse()
            .map_err(|_| VerifyError::MalformedTimestamp)?;
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let window = self.window.as_secs();
        if timestamp.abs_diff(now) > window {
            return Err(VerifyError::Stale);
        }

        // A space-separated list, so a sender can sign with an old and a
        // new key while the secret is rotated; signatures of other
        // versions are skipped.
        let tags: Vec<Vec<u8>> = headers
            .signature
            .unwrap_or_default()
            .split(' ')
            .filter_map(|s| s.split_once(','))
            .filter(|(version, _)| *version == SIGNATURE_VERSION)
            .filter_map(|(_, tag)| BASE64.decode(tag).ok())
            .collect();
        if tags.is_empty() {
            return Err(VerifyError::MalformedSignature);
        }
        let expected = self.secret.mac(id.as_str(), timestamp_text, body);
        if !tags
            .iter()
            .any(|tag| expected.clone().verify_slice(tag).is_ok())
        {
            return Err(VerifyError::BadSignature);
        }

        let event: WebhookEvent =
            serde_json::from_slice(body).map_err(|e| VerifyError::MalformedBody(e.to_string()))?;

        // A poisoned lock only means another check panicked; the map is intact.
        let mut seen = self.seen_ids.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, stale_after| *stale_after >= now);
        if seen.contains_key(&id) {
            return Err(VerifyError::Replayed);
        }
        seen.insert(id, timestamp.saturating_add(window));
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::super::AccessRequest;
    use super::*;

    /// `whsec_` and the base64 of the 24 bytes "limen-access-test-secret".
    const SECRET: &str = "whsec_bGltZW4tYWNjZXNzLXRlc3Qtc2VjcmV0";

    fn secret() -> SharedSecret {
        SECRET.parse().expect("valid")
    }

    fn body(acs_id: &str) -> Vec<u8> {
        AccessRequest {
            entrance: "front door".into(),
            acs_id: acs_id.into(),
        }
        .to_body()
    }

    fn id(text: &str) -> MessageId {
        MessageId::parse(text).expect("valid id")
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn headers<'a>(id: &'a str, timestamp: &'a str, signature: &'a str) -> ReceivedHeaders<'a> {
        ReceivedHeaders {
            id: Some(id),
            timestamp: Some(timestamp),
            signature: Some(signature),
        }
    }

    #[test]
    fn signature_is_base64_hmac_sha256_of_id_dot_timestamp_dot_body() {
        // Independently computed:
        // printf 'msg_0123.1700000000.{}' | openssl dgst -sha256 -mac HMAC \
        //   -macopt key:limen-access-test-secret -binary | base64
        assert_eq!(
            sign(&secret(), &id("msg_0123"), 1_700_000_000, b"{}"),
            "v1,3WZBOPoFu0uK4GCkdzppaDDjBaihfFzzcDy7G5jVnTs="
        );
    }

    #[test]
    fn the_body_is_a_typed_event() {
        assert_eq!(
            String::from_utf8(body("4711")).expect("utf-8"),
            r#"{"type":"access.requested","entrance":"front door","acs_id":"4711"}"#
        );
        let read = |body: &[u8]| serde_json::from_slice::<WebhookEvent>(body);
        assert_eq!(
            read(&body("4711")).ok(),
            Some(WebhookEvent::AccessRequested(AccessRequest {
                entrance: "front door".into(),
                acs_id: "4711".into(),
            }))
        );
        assert_eq!(
            read(br#"{"type":"connection.test","entrance":"x"}"#).ok(),
            Some(WebhookEvent::ConnectionTest {
                entrance: "x".into()
            })
        );
        let other_type = br#"{"type":"door.opened","entrance":"x","acs_id":"1"}"#;
        assert!(read(other_type).is_err());
        let untyped = br#"{"entrance":"x","acs_id":"1"}"#;
        assert!(read(untyped).is_err());
    }

    /// The person an access request names; none for a connection test.
    fn acs_id(event: WebhookEvent) -> Option<String> {
        match event {
            WebhookEvent::AccessRequested(request) => Some(request.acs_id),
            WebhookEvent::ConnectionTest { .. } => None,
        }
    }

    #[test]
    fn a_connection_test_verifies_as_one() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = br#"{"type":"connection.test","entrance":"front door"}"#;
        let signature = sign(&secret(), &id("msg_1"), 1000, body);
        let event = verifier.verify(headers("msg_1", "1000", &signature), body, at(1000));
        assert_eq!(
            event,
            Ok(WebhookEvent::ConnectionTest {
                entrance: "front door".into()
            })
        );
    }

    #[test]
    fn secrets_are_whsec_base64_of_24_to_64_bytes() {
        assert_eq!(secret().key(), b"limen-access-test-secret");
        // Padding may be left out, as the reference libraries allow.
        let padded = format!("whsec_{}", BASE64.encode([7u8; 32]));
        let unpadded = padded.trim_end_matches('=');
        assert_ne!(padded, unpadded);
        for text in [padded.as_str(), unpadded] {
            let parsed: SharedSecret = text.parse().expect("valid");
            assert_eq!(parsed.key(), [7u8; 32]);
        }
        let cases = [
            (
                "bGltZW4tYWNjZXNzLXRlc3Qtc2VjcmV0",
                SecretError::MissingPrefix,
            ),
            ("whsec_not base64!", SecretError::NotBase64),
            ("whsec_c2hvcnQ=", SecretError::Length(5)),
            (
                &format!("whsec_{}", BASE64.encode([1u8; 65])),
                SecretError::Length(65),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<SharedSecret>().err(), Some(expected), "{text}");
        }
        assert_eq!(
            SharedSecret::from_key(vec![1u8; 23]).err(),
            Some(SecretError::Length(23))
        );
        assert_eq!(format!("{:?}", secret()), "SharedSecret(redacted)");
    }

    #[test]
    fn message_ids_are_random_and_never_contain_a_dot() {
        let a = MessageId::random().expect("randomness");
        let b = MessageId::random().expect("randomness");
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("msg_") && a.as_str().len() == 36);
        assert!(MessageId::parse(a.as_str()).is_some());
        for bad in ["", "msg.1", "msg 1", "msg\u{e9}", &"m".repeat(129)] {
            assert!(MessageId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn accepts_a_genuine_request_once() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = body("4711");
        let signature = sign(&secret(), &id("msg_1"), 1000, &body);
        let request = verifier.verify(headers("msg_1", "1000", &signature), &body, at(1010));
        assert_eq!(request.map(acs_id), Ok(Some("4711".into())));
        let replay = verifier.verify(headers("msg_1", "1000", &signature), &body, at(1011));
        assert_eq!(replay, Err(VerifyError::Replayed));
    }

    #[test]
    fn refuses_stale_and_future_timestamps() {
        let verifier = Verifier::new(secret(), Duration::from_secs(60));
        let body = body("4711");
        let signature = sign(&secret(), &id("msg_1"), 1000, &body);
        for now in [1061, 939] {
            let outcome = verifier.verify(headers("msg_1", "1000", &signature), &body, at(now));
            assert_eq!(outcome, Err(VerifyError::Stale), "now {now}");
        }
    }

    #[test]
    fn refuses_other_secrets_tampered_bodies_and_moved_ids_or_timestamps() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = body("4711");
        let other: SharedSecret = format!("whsec_{}", BASE64.encode([9u8; 24]))
            .parse()
            .expect("valid");
        let forged = sign(&other, &id("msg_1"), 1000, &body);
        let outcome = verifier.verify(headers("msg_1", "1000", &forged), &body, at(1000));
        assert_eq!(outcome, Err(VerifyError::BadSignature));

        let signature = sign(&secret(), &id("msg_1"), 1000, &body);
        let tampered = String::from_utf8(body.clone())
            .expect("json")
            .replace("4711", "4712");
        let outcome = verifier.verify(
            headers("msg_1", "1000", &signature),
            tampered.as_bytes(),
            at(1000),
        );
        assert_eq!(outcome, Err(VerifyError::BadSignature));
        // The id and the timestamp are signed too.
        for (id, timestamp) in [("msg_2", "1000"), ("msg_1", "1001")] {
            let outcome = verifier.verify(headers(id, timestamp, &signature), &body, at(1000));
            assert_eq!(outcome, Err(VerifyError::BadSignature), "{id} {timestamp}");
        }
    }

    #[test]
    fn any_matching_v1_signature_of_a_list_is_enough() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = body("4711");
        let good = sign(&secret(), &id("msg_1"), 1000, &body);
        let list = format!("v1a,c2lnbmF0dXJl v1,AAAA {good}");
        let request = verifier.verify(headers("msg_1", "1000", &list), &body, at(1000));
        assert_eq!(request.map(acs_id), Ok(Some("4711".into())));
    }

    #[test]
    fn refuses_missing_or_malformed_headers() {
        let verifier = Verifier::new(secret(), Verifier::DEFAULT_WINDOW);
        let body = body("4711");
        let signature = sign(&secret(), &id("msg_1"), 1000, &body);
        let good = headers("msg_1", "1000", &signature);
        let cases = [
            (
                ReceivedHeaders { id: None, ..good },
                VerifyError::MalformedId,
            ),
            (
                ReceivedHeaders {
                    id: Some("msg.1"),
                    ..good
                },
                VerifyError::MalformedId,
            ),
            (
                ReceivedHeaders {
                    timestamp: None,
                    ..good
                },
                VerifyError::MalformedTimestamp,
            ),
            (
                ReceivedHeaders {
                    timestamp: Some("10 00"),
                    ..good
                },
                VerifyError::MalformedTimestamp,
            ),
            (
                ReceivedHeaders {
                    signature: None,
                    ..good
                },
                VerifyError::MalformedSignature,
            ),
            (
                ReceivedHeaders {
                    signature: Some(&signature[3..]),
                    ..good
                },
                VerifyError::MalformedSignature,
            ),
            (
                ReceivedHeaders {
                    signature: Some("v1,not base64!"),
                    ..good
                },
                VerifyError::MalformedSignature,
            ),
        ];
        for (headers, expected) in cases {
            let outcome = verifier.verify(headers, &body, at(1000));
            assert_eq!(outcome, Err(expected), "{headers:?}");
        }
    }

    #[test]
    fn forgets_ids_once_their_timestamp_is_stale() {
        let verifier = Verifier::new(secret(), Duration::from_secs(60));
        let first = body("4711");
        let signature = sign(&secret(), &id("msg_1"), 1000, &first);
        assert!(
            verifier
                .verify(headers("msg_1", "1000", &signature), &first, at(1000))
                .is_ok()
        );
        let later = body("4712");
        let signature = sign(&secret(), &id("msg_2"), 1100, &later);
        assert!(
            verifier
                .verify(headers("msg_2", "1100", &signature), &later, at(1100))
                .is_ok()
        );
        let seen = verifier.seen_ids.lock().expect("not poisoned");
        assert_eq!(seen.keys().collect::<Vec<_>>(), [&id("msg_2")]);
    }
}
