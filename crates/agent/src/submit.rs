//! Sending a face crop to the server, with bounded retries.
//!
//! A frame is only worth anything while the person is still at the door: an
//! answer about an older picture could open the barrier for whoever stands
//! there now. So each attempt first checks the frame's age, and a frame past
//! [`RetryPolicy::max_frame_age`] is dropped, never queued for later.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Deserialize;
use thiserror::Error;
use url::{Host, Url};
use zeroize::Zeroizing;

use crate::tls::TrustedRoots;

/// The largest answer read from the server; a decision is a few dozen bytes.
const MAX_ANSWER_BYTES: u64 = 16 * 1024;

/// How hard to try for one frame.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Further attempts after the first one fails.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each further one.
    pub first_backoff: Duration,
    /// A frame older than this is not sent (again). Two seconds: about as
    /// long as a person waits at a barrier before stepping back or through.
    pub max_frame_age: Duration,
    /// Limit for one request, connection included.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            first_backoff: Duration::from_millis(200),
            max_frame_age: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
        }
    }
}

/// The server's decision on a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Someone matched; the agent presents `acs_id` to the access panel.
    Matched,
    /// The access system (called by the server) let the person in.
    Granted,
    Denied,
    Unknown,
    NoFace,
    PoorQuality,
    /// The entrance enforces liveness and the pass did not look live.
    SpoofSuspected,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Matched => "matched",
            Decision::Granted => "granted",
            Decision::Denied => "denied",
            Decision::Unknown => "unknown",
            Decision::NoFace => "no_face",
            Decision::PoorQuality => "poor_quality",
            Decision::SpoofSuspected => "spoof_suspected",
        })
    }
}

/// The body of a `POST /api/v1/frames` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerAnswer {
    pub decision: Decision,
    /// The matched person's access-system id (with `matched`).
    #[serde(default)]
    pub acs_id: Option<String>,
    pub latency_ms: u64,
    /// Where the frame's pass stands, when the frame named one.
    #[serde(default)]
    pub pass: Option<PassAnswer>,
    /// With `matched`: the match the server holds until the panel is told.
    #[serde(default)]
    pub handover: Option<Handover>,
}

/// A match the server holds for this device until the device ends the
/// handover (once its panel has answered the card read), so that a
/// withdrawal of the person waits for the door. The server lets go after
/// `within`; the card read may be presented only until `deadline`, the
/// same time counted from when the frame was sent, so the agent always
/// stops before the server lets go.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "HandoverAnswer")]
pub struct Handover {
    id: String,
    within: Duration,
    deadline: Instant,
}

#[derive(Deserialize)]
struct HandoverAnswer {
    id: String,
    within_ms: u64,
}

impl TryFrom<HandoverAnswer> for Handover {
    type Error = String;

    fn try_from(answer: HandoverAnswer) -> Result<Self, String> {
        // It becomes part of a URL path.
        let well_formed = answer.id.len() == 32
            && answer
                .id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err("a handover id is 32 hexadecimal digits".to_owned());
        }
        let within = Duration::from_millis(answer.within_ms);
        Ok(Handover {
            id: answer.id,
            within,
            // Replaced by `Submitter` with the time counted from sending.
            deadline: Instant::now() + within,
        })
    }
}

impl Handover {
    /// The least time worth presenting a card read in: a panel answers
    /// within a few of its polls.
    pub const LEAST_TIME: Duration = Duration::from_millis(200);

    /// How long a card read may still wait for the panel's answer; `None`
    /// once less than [`Handover::LEAST_TIME`] is left.
    pub fn time_left(&self) -> Option<Duration> {
        Some(self.deadline.saturating_duration_since(Instant::now()))
            .filter(|left| *left >= Self::LEAST_TIME)
    }

    fn count_from(&mut self, sent_at: Instant) {
        self.deadline = sent_at + self.within;
    }
}

/// The server's view of a pass after one of its frames.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PassAnswer {
    /// Frames fused into the decision.
    pub frames: usize,
    /// No further frame of this pass will be decided.
    pub decided: bool,
}

/// Why a frame was given up without an answer. The agent goes on with the
/// next frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Older than the policy's limit before an attempt could be made.
    TooOld(Duration),
    /// Every attempt failed.
    RetriesExhausted,
    /// The server refused this frame (a 4xx other than 401 and 429) or
    /// answered something unreadable; sending it again would not help.
    Refused(String),
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::TooOld(age) => write!(f, "frame too old ({} ms), dropped", age.as_millis()),
            DropReason::RetriesExhausted => {
                f.write_str("server unreachable, frame dropped after all retries")
            }
            DropReason::Refused(why) => write!(f, "server refused the frame ({why}), dropped"),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    Answered(ServerAnswer),
    Dropped(DropReason),
}

/// A failed attempt that will be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// Which retry comes next, 1-based, out of `of`.
    pub attempt: u32,
    pub of: u32,
    pub wait: Duration,
    pub reason: String,
}

impl fmt::Display for RetryNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server unreachable ({}), retry {}/{} in {} ms",
            self.reason,
            self.attempt,
            self.of,
            self.wait.as_millis()
        )
    }
}

/// Errors that stop the agent: retrying cannot fix them.
#[derive(Debug, Error)]
pub enum SubmitError {
    #[error("the server rejected the device token (HTTP 401): is the device revoked?")]
    Unauthorized,
    #[error("invalid server URL: {0}")]
    InvalidServer(String),
    #[error("the device token is empty or malformed")]
    InvalidToken,
    /// The server's certificate does not chain to a trusted root (see
    /// `--ca-cert`), or TLS failed otherwise: a configuration to fix, not
    /// an outage to wait out.
    #[error("TLS with the server failed: {0}")]
    Tls(String),
}

/// The Limen server's base URL, e.g. `https://limen.example.com`. Its
/// answers carry the matched person's access-system id, so it is
/// `https://`; plain `http://` only reaches a server on this machine
/// (loopback), where nothing crosses a network.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl(Url);

impl FromStr for ServerUrl {
    type Err = SubmitError;

    fn from_str(text: &str) -> Result<Self, SubmitError> {
        let invalid = |why: &str| SubmitError::InvalidServer(why.to_owned());
        let url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "the device token is the credential, not a user in the URL",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("a base URL has no query or fragment"));
        }
        let loopback = match url.host() {
            Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(address)) => address.is_loopback(),
            Some(Host::Ipv6(address)) => address.is_loopback(),
            None => return Err(invalid("it names no host")),
        };
        match url.scheme() {
            "https" => Ok(ServerUrl(url)),
            "http" if loopback => Ok(ServerUrl(url)),
            "http" => Err(invalid(
                "plain http:// is refused for a server on another machine, since its answers \
                 carry access-system ids: use https:// (with --ca-cert for a private CA)",
            )),
            _ => Err(invalid("it must start with https://")),
        }
    }
}

impl fmt::Display for ServerUrl {
    /// Without a trailing slash, ready for a path to be appended.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str().trim_end_matches('/'))
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Posts face crops to one server with one device token. A clone shares
/// the connections.
#[derive(Clone)]
pub struct Submitter {
    http: ureq::Agent,
    frames_url: String,
    handovers_url: String,
    heartbeat_url: String,
    authorization: Zeroizing<String>,
    policy: RetryPolicy,
}

impl fmt::Debug for Submitter {
    // The token stays out of any debug output (P6).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Submitter({})", self.frames_url)
    }
}

enum Attempt {
    Done(SubmitOutcome),
    Retry(String),
}

impl Submitter {
    /// Sends to `server` as the device with `device_token`; an `https://`
    /// server's certificate must chain to `roots`.
    pub fn new(
        server: &ServerUrl,
        device_token: &str,
        policy: RetryPolicy,
        roots: &TrustedRoots,
    ) -> Result<Submitter, SubmitError> {
        if device_token.is_empty()
            || device_token
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(SubmitError::InvalidToken);
        }
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.request_timeout))
            // The server is talked to directly; a proxy would see the faces.
            .proxy(None)
            .max_redirects(0)
            .tls_config(roots.tls_config())
            .build()
            .into();
        Ok(Submitter {
            http,
            frames_url: format!("{server}/api/v1/frames"),
            handovers_url: format!("{server}/api/v1/handovers"),
            heartbeat_url: format!("{server}/api/v1/heartbeat"),
            authorization: Zeroizing::new(format!("Bearer {device_token}")),
            policy,
        })
    }

    /// Sends one JPEG face crop read at `captured_at`, as a frame of the
    /// pass `pass` if given (the `Limen-Pass` header: the server decides
    /// the frames of one pass together); retries with exponential back-off
    /// while the frame is young enough, reporting each retry to `on_retry`.
    pub fn submit(
        &self,
        jpeg: &[u8],
        pass: Option<&str>,
        captured_at: Instant,
        on_retry: &mut dyn FnMut(&RetryNotice),
    ) -> Result<SubmitOutcome, SubmitError> {
        let mut wait = self.policy.first_backoff;
        for attempt in 0..=self.policy.retries {
            let age = captured_at.elapsed();
            if age > self.policy.max_frame_age {
                return Ok(SubmitOutcome::Dropped(DropReason::TooOld(age)));
            }
            let reason = match self.attempt(jpeg, pass)? {
                Attempt::Done(outcome) => return Ok(outcome),
                Attempt::Retry(reason) => reason,
            };
            if attempt == self.policy.retries {
                break;
            }
            on_retry(&RetryNotice {
                attempt: attempt + 1,
                of: self.policy.retries,
                wait,
                reason,
            });
            std::thread::sleep(wait);
            wait = wait.saturating_mul(2);
        }
        Ok(SubmitOutcome::Dropped(DropReason::RetriesExhausted))
    }

    /// Tells the server the panel has been told of `handover`'s match (or
    /// will not be): the person may now be removed. Once; a failure only
    /// means the server lets go when the handover's time is up.
    pub fn end_handover(&self, handover: &Handover) -> Result<(), String> {
        let ended = self
            .http
            .delete(&format!("{}/{}", self.handovers_url, handover.id))
            .header("Authorization", self.authorization.as_str())
            .call()
            .map_err(|e| transport_reason(&e))?;
        match ended.status().as_u16() {
            204 => Ok(()),
            404 => Err("the server had let go already".to_owned()),
            status => Err(format!("HTTP {status}")),
        }
    }

    /// Tells the server this device is still there while it has no frame
    /// to send, so that a camera nobody passes is not shown as down. Once,
    /// without retries: the next is due soon. The outer error stops the
    /// agent (a refused token or TLS); the inner one is worth a report only.
    pub fn heartbeat(&self) -> Result<Result<(), String>, SubmitError> {
        let sent = self
            .http
            .post(&self.heartbeat_url)
            .header("Authorization", self.authorization.as_str())
            .send_empty();
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                return match tls_failure(&e) {
                    Some(why) => Err(SubmitError::Tls(why)),
                    None => Ok(Err(transport_reason(&e))),
                };
            }
        };
        Ok(match response.status().as_u16() {
            204 => Ok(()),
            401 => return Err(SubmitError::Unauthorized),
            status => Err(format!("HTTP {status}")),
        })
    }

    fn attempt(&self, jpeg: &[u8], pass: Option<&str>) -> Result<Attempt, SubmitError> {
        let mut request = self
            .http
            .post(&self.frames_url)
            .header("Authorization", self.authorization.as_str())
            .header("Content-Type", "image/jpeg");
        if let Some(pass) = pass {
            request = request.header("Limen-Pass", pass);
        }
        let sent_at = Instant::now();
        let sent = request.send(jpeg);
        let mut response = match sent {
            Ok(response) => response,
            Err(ureq::Error::BadUri(_) | ureq::Error::Http(_)) => {
                return Err(SubmitError::InvalidServer("not a usable URL".into()));
            }
            Err(e) => match tls_failure(&e) {
                Some(why) => return Err(SubmitError::Tls(why)),
                None => return Ok(Attempt::Retry(transport_reason(&e))),
            },
        };
        let status = response.status().as_u16();
        match status {
            200 => {}
            401 => return Err(SubmitError::Unauthorized),
            429 => return Ok(Attempt::Retry("rate limited, HTTP 429".into())),
            502..=504 => return Ok(Attempt::Retry(format!("HTTP {status}"))),
            _ => {
                return Ok(Attempt::Done(SubmitOutcome::Dropped(DropReason::Refused(
                    format!("HTTP {status}"),
                ))));
            }
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string();
        let answer = body
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_str::<ServerAnswer>(&b).map_err(|e| e.to_string()));
        Ok(Attempt::Done(match answer {
            Ok(mut answer) => {
                if let Some(handover) = &mut answer.handover {
                    handover.count_from(sent_at);
                }
                SubmitOutcome::Answered(answer)
            }
            Err(why) => {
                SubmitOutcome::Dropped(DropReason::Refused(format!("unreadable answer: {why}")))
            }
        }))
    }
}

/// Why TLS failed, if it did. Rustls reports a refused certificate through
/// an I/O error during the handshake.
fn tls_failure(error: &ureq::Error) -> Option<String> {
    match error {
        ureq::Error::Rustls(e) => Some(e.to_string()),
        ureq::Error::Tls(why) => Some((*why).to_owned()),
        ureq::Error::Io(e) => e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .map(ToString::to_string),
        _ => None,
    }
}

/// A short reason for a failed connection, without anything from the request.
fn transport_reason(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(e) => e.kind().to_string(),
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_https_and_plain_http_only_on_loopback() {
        for (text, shown) in [
            ("https://limen.example.com", "https://limen.example.com"),
            ("https://limen.example.com/", "https://limen.example.com"),
            (
                "https://proxy.example.com/limen/",
                "https://proxy.example.com/limen",
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.1.2.3:8080/", "http://127.1.2.3:8080"),
            ("http://localhost:8080", "http://localhost:8080"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            let url: ServerUrl = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(url.to_string(), shown);
        }
        for text in [
            "http://limen.example.com",
            "http://10.0.0.5:8080",
            "http://192.168.1.20",
            "http://[fe80::1]:8080",
            "http://localhost.example.com",
        ] {
            let err = text.parse::<ServerUrl>().expect_err(text).to_string();
            assert!(err.contains("use https://"), "{text}: {err}");
        }
        for text in [
            "ftp://limen.example.com",
            "limen.example.com",
            "https://user:pw@limen.example.com",
            "https://limen.example.com/?x=1",
        ] {
            assert!(text.parse::<ServerUrl>().is_err(), "{text}");
        }
    }

    fn matched_with_handover(id: &str, within_ms: u64) -> Result<ServerAnswer, serde_json::Error> {
        serde_json::from_value(serde_json::json!({
            "decision": "matched",
            "acs_id": "31337",
            "latency_ms": 40,
            "handover": { "id": id, "within_ms": within_ms },
        }))
    }

    #[test]
    fn a_handover_id_must_be_fit_for_a_path() {
        assert!(matched_with_handover("0123456789abcdef0123456789abcdef", 5000).is_ok());
        for id in ["../../api/v1/me", "0123456789ABCDEF0123456789ABCDEF", ""] {
            assert!(matched_with_handover(id, 5000).is_err(), "{id}");
        }
    }

    #[test]
    fn a_card_read_waits_no_longer_than_the_server_holds_the_match() {
        let answer =
            matched_with_handover("0123456789abcdef0123456789abcdef", 5000).expect("valid answer");
        let mut handover = answer.handover.expect("handover");
        // Counted from when the frame was sent, not from the answer.
        let sent_at = Instant::now() - Duration::from_millis(4000);
        handover.count_from(sent_at);
        let left = handover.time_left().expect("about a second left");
        assert!(left <= Duration::from_millis(1000), "{left:?}");
        handover.count_from(Instant::now() - Duration::from_millis(4900));
        assert_eq!(handover.time_left(), None);
        handover.count_from(Instant::now() - Duration::from_secs(60));
        assert_eq!(handover.time_left(), None);
    }
}
