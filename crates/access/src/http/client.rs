//! Limen's side: one signed POST per passage, with a short timeout.
//!
//! The client is hyper's, which the HTTP server stack already brings in,
//! with rustls (ring) for `https://` URLs: a full client such as reqwest
//! would add features (redirects, cookies, proxies, compression) that a
//! signed one-shot POST must not use anyway.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode, Uri, header};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;

use super::policy::{ConnectorPolicy, GuardedResolver};
use super::signature::{MessageId, SharedSecret, sign};
use super::{AccessRequest, AccessResponse, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::Decision;

/// An answer larger than this is not `{"granted": bool}`.
const MAX_RESPONSE_BYTES: usize = 4096;

/// Why an access system URL cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HttpConfigError {
    #[error("not a valid URL: {0}")]
    InvalidUrl(String),
    #[error("only http:// and https:// URLs are supported, not {0:?}")]
    UnsupportedScheme(String),
    /// The URL is shown to the organisation's admins and kept in the
    /// database; the connector authenticates by signing with the secret.
    #[error(
        "a connector URL carries no user name or password: the connector signs its requests with the shared secret"
    )]
    CredentialsInUrl,
    #[error("an https:// URL needs trusted root certificates and none were found")]
    NoTrustedRoots,
    #[error("TLS setup failed: {0}")]
    Tls(#[source] rustls::Error),
    #[error(
        "{0} is not a host the operator allows for connectors (loopback and private addresses need the operator's allowlist)"
    )]
    HostNotAllowed(String),
}

/// Why the access system gave no decision. The door stays closed in every
/// case; the caller reports the error.
#[derive(Debug, thiserror::Error)]
pub enum HttpAccessError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("request failed: {0}")]
    Transport(#[source] hyper_util::client::legacy::Error),
    #[error("answer body could not be read: {0}")]
    Body(String),
    #[error("answered with status {0}")]
    Status(StatusCode),
    #[error("answer is not {{\"granted\": bool}}: {0}")]
    MalformedAnswer(#[source] serde_json::Error),
    #[error("no randomness for the message id: {0}")]
    MessageId(getrandom::Error),
}

/// An access system reached over HTTP.
#[derive(Debug)]
pub struct HttpAccessSystem {
    url: Uri,
    secret: SharedSecret,
    timeout: Duration,
    client: Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
}

impl HttpAccessSystem {
    /// Long enough for a LAN round trip, short enough that a person at the
    /// door is not left waiting.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// An access system at `url`, reached only where `policy` allows; an
    /// `https://` server's certificate must chain to a root the operating
    /// system trusts (where an operator adds a private CA).
    pub fn new(
        url: &str,
        secret: SharedSecret,
        timeout: Duration,
        policy: ConnectorPolicy,
    ) -> Result<Self, HttpConfigError> {
        let mut roots = RootCertStore::empty();
        // Unreadable entries are skipped; with none left, https is refused below.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        Self::with_roots(url, secret, timeout, policy, roots)
    }

    /// As [`HttpAccessSystem::new`], trusting exactly `roots` for `https://`.
    pub fn with_roots(
        url: &str,
        secret: SharedSecret,
        timeout: Duration,
        policy: ConnectorPolicy,
        roots: RootCertStore,
    ) -> Result<Self, HttpConfigError> {
        let url: Uri = url.parse().map_err(|e: hyper::http::uri::InvalidUri| {
            HttpConfigError::InvalidUrl(e.to_string())
        })?;
        match url.scheme_str() {
            Some("http") => {}
            Some("https") if roots.is_empty() => return Err(HttpConfigError::NoTrustedRoots),
            Some("https") => {}
            other => {
                return Err(HttpConfigError::UnsupportedScheme(
                    other.unwrap_or("").to_owned(),
                ));
            }
        }
        if url.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(HttpConfigError::CredentialsInUrl);
        }
        let Some(host) = url.host() else {
            return Err(HttpConfigError::InvalidUrl("no host".to_owned()));
        };
        // Address literals never reach the resolver: they are checked here
        // once (they cannot change); names at every connection.
        if !policy.may_name(host) {
            return Err(HttpConfigError::HostNotAllowed(host.to_owned()));
        }
        let mut tcp = HttpConnector::new_with_resolver(GuardedResolver { policy });
        tcp.set_connect_timeout(Some(timeout));
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(HttpConfigError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        Ok(Self {
            url,
            secret,
            timeout,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Tells the access system that the person with `acs_id` stands at
    /// `entrance`, and returns its decision. Must run inside a Tokio runtime.
    pub async fn request_access(
        &self,
        entrance: &str,
        acs_id: &str,
    ) -> Result<Decision, HttpAccessError> {
        let body = AccessRequest {
            entrance: entrance.to_owned(),
            acs_id: acs_id.to_owned(),
        }
        .to_body();
        let (_, answer) = self.post(body).await?;
        let answer: AccessResponse =
            serde_json::from_slice(&answer).map_err(HttpAccessError::MalformedAnswer)?;
        Ok(if answer.granted {
            Decision::Granted
        } else {
            Decision::Denied
        })
    }

    /// Sends a signed `connection.test` event for `entrance` (nobody is at
    /// the door, no one is named) and returns the access system's success
    /// status; any other status is an error. Must run inside a Tokio
    /// runtime.
    pub async fn send_test(&self, entrance: &str) -> Result<StatusCode, HttpAccessError> {
        let body = serde_json::to_vec(&super::WebhookEvent::ConnectionTest {
            entrance: entrance.to_owned(),
        })
        .expect("a struct of strings serialises");
        let (status, _) = self.post(body).await?;
        Ok(status)
    }

    /// POSTs `body`, signed, and returns the success status with the
    /// answer's body, all within the timeout.
    async fn post(&self, body: Vec<u8>) -> Result<(StatusCode, Bytes), HttpAccessError> {
        let id = MessageId::random().map_err(HttpAccessError::MessageId)?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let signature = sign(&self.secret, &id, timestamp, &body);
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, id.as_str())
            .header(TIMESTAMP_HEADER, timestamp)
            .header(SIGNATURE_HEADER, signature)
            .body(Full::new(Bytes::from(body)))
            .expect("method, URI and header values were all validated");

        tokio::time::timeout(self.timeout, self.exchange(request))
            .await
            .map_err(|_| HttpAccessError::Timeout(self.timeout))?
    }

    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes), HttpAccessError> {
        let response = self
            .client
            .request(request)
            .await
            .map_err(HttpAccessError::Transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(HttpAccessError::Status(status));
        }
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| HttpAccessError::Body(e.to_string()))?
            .to_bytes();
        Ok((status, body))
    }
}
