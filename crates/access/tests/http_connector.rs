//! The HTTP connector against a real HTTP server on loopback that checks
//! requests with the public [`Verifier`], as an access system would.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use limen_access::Decision;
use limen_access::http::{
    ConnectorPolicy, HttpAccessError, HttpAccessSystem, HttpConfigError, ID_HEADER,
    ReceivedHeaders, SIGNATURE_HEADER, SharedSecret, TIMESTAMP_HEADER, Verifier, VerifyError,
    WebhookEvent,
};
use rcgen::{CertifiedKey, KeyPair, generate_simple_self_signed};
use rustls::RootCertStore;
use rustls::pki_types::PrivateKeyDer;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// 32 random bytes, as `openssl rand -base64 32` makes them.
const SECRET: &str = "whsec_HIi/XZ+gPT0yphCmqsPF6EqbpOsGC23f0/7wtX9SGQI=";

fn secret() -> SharedSecret {
    SECRET.parse().expect("a valid secret")
}

/// What the test access system saw: each request's headers and body, and
/// the verifier's verdict on it.
#[derive(Default)]
struct Seen {
    requests: Vec<(HeaderMap, Bytes, Result<String, VerifyError>)>,
}

/// A minimal access system: verifies each request, grants the ids in
/// `granted`, answers 401 to anything that fails verification.
async fn spawn_access_system(granted: &[&str]) -> (SocketAddr, Arc<Mutex<Seen>>) {
    spawn_access_system_with(granted, None).await
}

/// The same over TLS with `certificate`, when given.
async fn spawn_access_system_with(
    granted: &[&str],
    certificate: Option<&CertifiedKey<KeyPair>>,
) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let tls = certificate.map(|certified| {
        let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("certificate and key match");
        TlsAcceptor::from(Arc::new(config))
    });
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("bound");
    let verifier = Arc::new(Verifier::new(secret(), Verifier::DEFAULT_WINDOW));
    let granted: Arc<HashSet<String>> = Arc::new(granted.iter().map(|s| s.to_string()).collect());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let seen_by_server = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (verifier, granted, seen) = (
                Arc::clone(&verifier),
                Arc::clone(&granted),
                Arc::clone(&seen_by_server),
            );
            let service = service_fn(move |request: Request<Incoming>| {
                let (verifier, granted, seen) = (
                    Arc::clone(&verifier),
                    Arc::clone(&granted),
                    Arc::clone(&seen),
                );
                async move {
                    let headers = request.headers().clone();
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
                    let received = ReceivedHeaders {
                        id: header(ID_HEADER),
                        timestamp: header(TIMESTAMP_HEADER),
                        signature: header(SIGNATURE_HEADER),
                    };
                    let verdict = verifier.verify(received, &body, SystemTime::now());
                    let response = match &verdict {
                        Ok(WebhookEvent::AccessRequested(request)) => {
                            let answer =
                                format!("{{\"granted\":{}}}", granted.contains(&request.acs_id));
                            Response::new(Full::new(Bytes::from(answer)))
                        }
                        Ok(WebhookEvent::ConnectionTest { .. }) => {
                            Response::new(Full::new(Bytes::new()))
                        }
                        Err(_) => {
                            let mut refused = Response::new(Full::new(Bytes::new()));
                            *refused.status_mut() = StatusCode::UNAUTHORIZED;
                            refused
                        }
                    };
                    let verdict = verdict.map(|event| match event {
                        WebhookEvent::AccessRequested(request) => request.acs_id,
                        WebhookEvent::ConnectionTest { entrance } => format!("test at {entrance}"),
                    });
                    seen.lock()
                        .expect("not poisoned")
                        .requests
                        .push((headers, body, verdict));
                    Ok::<_, Infallible>(response)
                }
            });
            let tls = tls.clone();
            tokio::spawn(async move {
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                    Some(tls) => {
                        if let Ok(stream) = tls.accept(stream).await {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// The test access systems listen on loopback, which only an operator's
/// allowlist opens.
fn loopback_allowed() -> ConnectorPolicy {
    ConnectorPolicy::new(vec!["127.0.0.0/8".parse().expect("range")])
}

fn connector(addr: SocketAddr, secret: SharedSecret, timeout: Duration) -> HttpAccessSystem {
    HttpAccessSystem::new(
        &format!("http://{addr}/limen/access"),
        secret,
        timeout,
        loopback_allowed(),
    )
    .expect("valid URL")
}

#[tokio::test]
async fn a_granted_person_is_granted() {
    let (addr, seen) = spawn_access_system(&["4711"]).await;
    let acs = connector(addr, secret(), HttpAccessSystem::DEFAULT_TIMEOUT);
    let decision = acs
        .request_access("front door", "4711")
        .await
        .expect("answered");
    assert_eq!(decision, Decision::Granted);
    let seen = seen.lock().expect("not poisoned");
    let (headers, body, verdict) = &seen.requests[0];
    assert_eq!(verdict, &Ok("4711".to_string()));
    assert_eq!(headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(body).expect("json body");
    assert_eq!(
        body,
        serde_json::json!({"type": "access.requested", "entrance": "front door", "acs_id": "4711"})
    );
    let id = headers[ID_HEADER].to_str().expect("ascii");
    assert!(id.starts_with("msg_") && id.len() == 36, "{id}");
    let sent_at: u64 = headers[TIMESTAMP_HEADER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("unix seconds");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    assert!(now.abs_diff(sent_at) < 60, "{sent_at} vs {now}");
    assert!(
        headers[SIGNATURE_HEADER]
            .to_str()
            .expect("ascii")
            .starts_with("v1,")
    );
}

/// An admin's "send a test" reaches the access system signed like a
/// passage, and a receiver built on the verifier takes it as a test.
#[tokio::test]
async fn a_connection_test_is_verified_as_one() {
    let (addr, seen) = spawn_access_system(&[]).await;
    let acs = connector(addr, secret(), HttpAccessSystem::DEFAULT_TIMEOUT);
    let status = acs.send_test("front door").await.expect("answered");
    assert!(status.is_success(), "{status}");
    let seen = seen.lock().expect("not poisoned");
    assert_eq!(seen.requests[0].2, Ok("test at front door".to_string()));
}

/// The server shares one connector per entrance between request handlers,
/// whose futures must be Send.
#[tokio::test]
async fn the_connector_fits_a_multi_threaded_server() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_shareable<T: Send + Sync>(_: &T) {}
    let (addr, _) = spawn_access_system(&["4711"]).await;
    let acs = connector(addr, secret(), HttpAccessSystem::DEFAULT_TIMEOUT);
    assert_shareable(&acs);
    let call = acs.request_access("front door", "4711");
    assert_send(&call);
    assert_eq!(call.await.expect("answered"), Decision::Granted);
}

#[tokio::test]
async fn an_unknown_person_is_denied_and_every_request_has_a_fresh_id() {
    let (addr, seen) = spawn_access_system(&["4711"]).await;
    let acs = connector(addr, secret(), HttpAccessSystem::DEFAULT_TIMEOUT);
    for _ in 0..3 {
        let decision = acs
            .request_access("front door", "9999")
            .await
            .expect("answered");
        assert_eq!(decision, Decision::Denied);
    }
    // Three requests within one second all passed the replay check.
    let seen = seen.lock().expect("not poisoned");
    assert!(seen.requests.iter().all(|(_, _, verdict)| verdict.is_ok()));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_access_system() {
    let (addr, seen) = spawn_access_system(&["4711"]).await;
    let wrong: SharedSecret = "whsec_bm90IHRoZSBzaGFyZWQgc2VjcmV0IGF0IGFsbA=="
        .parse()
        .expect("a valid secret");
    let acs = connector(addr, wrong, HttpAccessSystem::DEFAULT_TIMEOUT);
    let outcome = acs.request_access("front door", "4711").await;
    assert!(
        matches!(
            outcome,
            Err(HttpAccessError::Status(StatusCode::UNAUTHORIZED))
        ),
        "{outcome:?}"
    );
    assert_eq!(
        seen.lock().expect("not poisoned").requests[0].2,
        Err(VerifyError::BadSignature)
    );
}

#[tokio::test]
async fn a_replayed_request_is_refused() {
    let (addr, seen) = spawn_access_system(&["4711"]).await;
    let acs = connector(addr, secret(), HttpAccessSystem::DEFAULT_TIMEOUT);
    assert_eq!(
        acs.request_access("front door", "4711")
            .await
            .expect("answered"),
        Decision::Granted
    );

    // An eavesdropper sends the captured request again, byte for byte.
    let (headers, body) = {
        let seen = seen.lock().expect("not poisoned");
        (seen.requests[0].0.clone(), seen.requests[0].1.clone())
    };
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut replay = Request::post(format!("http://{addr}/limen/access"));
    for name in [
        "content-type",
        ID_HEADER,
        TIMESTAMP_HEADER,
        SIGNATURE_HEADER,
        "host",
    ] {
        replay = replay.header(name, headers[name].clone());
    }
    let response = sender
        .send_request(replay.body(Full::new(body)).expect("request"))
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        seen.lock().expect("not poisoned").requests[1].2,
        Err(VerifyError::Replayed)
    );
}

#[tokio::test]
async fn an_access_system_that_does_not_answer_in_time_denies() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("bound");
    let (held_tx, mut held_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = held_tx.send(stream);
        }
    });
    let acs = connector(addr, secret(), Duration::from_millis(300));
    let outcome = acs.request_access("front door", "4711").await;
    assert!(
        matches!(outcome, Err(HttpAccessError::Timeout(_))),
        "{outcome:?}"
    );
    assert!(held_rx.try_recv().is_ok(), "the connection was made");
}

#[tokio::test]
async fn an_unreachable_access_system_is_an_error() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        listener.local_addr().expect("bound")
    };
    let acs = connector(closed, secret(), HttpAccessSystem::DEFAULT_TIMEOUT);
    let outcome = acs.request_access("front door", "4711").await;
    assert!(
        matches!(outcome, Err(HttpAccessError::Transport(_))),
        "{outcome:?}"
    );
}

fn self_signed_for_loopback() -> CertifiedKey<KeyPair> {
    generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate")
}

fn trusting(certified: &CertifiedKey<KeyPair>) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots
        .add(certified.cert.der().clone())
        .expect("a valid root");
    roots
}

#[tokio::test]
async fn https_to_a_trusted_access_system() {
    let certificate = self_signed_for_loopback();
    let (addr, seen) = spawn_access_system_with(&["4711"], Some(&certificate)).await;
    let acs = HttpAccessSystem::with_roots(
        &format!("https://{addr}/limen/access"),
        secret(),
        HttpAccessSystem::DEFAULT_TIMEOUT,
        loopback_allowed(),
        trusting(&certificate),
    )
    .expect("valid URL");
    assert_eq!(
        acs.request_access("front door", "4711")
            .await
            .expect("answered"),
        Decision::Granted
    );
    assert_eq!(
        seen.lock().expect("not poisoned").requests[0].2,
        Ok("4711".to_string())
    );
}

#[tokio::test]
async fn https_to_an_untrusted_certificate_sends_nothing() {
    let (addr, seen) = spawn_access_system_with(&["4711"], Some(&self_signed_for_loopback())).await;
    let someone_else = self_signed_for_loopback();
    let acs = HttpAccessSystem::with_roots(
        &format!("https://{addr}/limen/access"),
        secret(),
        HttpAccessSystem::DEFAULT_TIMEOUT,
        loopback_allowed(),
        trusting(&someone_else),
    )
    .expect("valid URL");
    let outcome = acs.request_access("front door", "4711").await;
    assert!(
        matches!(outcome, Err(HttpAccessError::Transport(_))),
        "{outcome:?}"
    );
    assert!(seen.lock().expect("not poisoned").requests.is_empty());
}

#[test]
fn refuses_urls_it_cannot_call() {
    let new = |url| {
        HttpAccessSystem::new(
            url,
            secret(),
            HttpAccessSystem::DEFAULT_TIMEOUT,
            ConnectorPolicy::default(),
        )
        .map(|_| ())
    };
    assert_eq!(
        new("ftp://acs.example/"),
        Err(HttpConfigError::UnsupportedScheme("ftp".into()))
    );
    assert!(matches!(
        new("not a url"),
        Err(HttpConfigError::InvalidUrl(_))
    ));
    assert!(matches!(
        new("/relative/path"),
        Err(HttpConfigError::UnsupportedScheme(_))
    ));
    let no_roots = HttpAccessSystem::with_roots(
        "https://acs.example/",
        secret(),
        HttpAccessSystem::DEFAULT_TIMEOUT,
        ConnectorPolicy::default(),
        RootCertStore::empty(),
    );
    assert!(matches!(no_roots, Err(HttpConfigError::NoTrustedRoots)));
    for with_credentials in [
        "https://admin:hunter2@acs.example/",
        "https://token@acs.example/",
    ] {
        assert_eq!(
            new(with_credentials),
            Err(HttpConfigError::CredentialsInUrl),
            "{with_credentials}"
        );
    }
    // Without the operator's allowlist, nothing inward.
    for inward in [
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
    ] {
        assert!(
            matches!(new(inward), Err(HttpConfigError::HostNotAllowed(_))),
            "{inward}"
        );
    }
}

#[tokio::test]
async fn a_name_that_resolves_inwards_is_refused_at_connect_time() {
    let (addr, seen) = spawn_access_system(&["4711"]).await;
    // "localhost" is a name: accepted when the entrance is made, refused
    // when it resolves to loopback at the connection.
    let acs = HttpAccessSystem::new(
        &format!("http://localhost:{}/limen/access", addr.port()),
        secret(),
        HttpAccessSystem::DEFAULT_TIMEOUT,
        ConnectorPolicy::default(),
    )
    .expect("a name is checked when connecting");
    let outcome = acs.request_access("front door", "4711").await;
    assert!(
        matches!(outcome, Err(HttpAccessError::Transport(_))),
        "{outcome:?}"
    );
    assert!(seen.lock().expect("not poisoned").requests.is_empty());
    // The operator can allow it by name.
    let allowed = HttpAccessSystem::new(
        &format!("http://localhost:{}/limen/access", addr.port()),
        secret(),
        HttpAccessSystem::DEFAULT_TIMEOUT,
        ConnectorPolicy::new(vec!["localhost".parse().expect("name")]),
    )
    .expect("valid");
    assert_eq!(
        allowed
            .request_access("front door", "4711")
            .await
            .expect("answered"),
        Decision::Granted
    );
}
