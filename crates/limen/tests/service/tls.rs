//! https from Limen itself: the operator's certificate and key files, HSTS
//! on every answer and nothing over plain http, a renewed certificate
//! served to new connections without a restart, a broken renewal logged
//! while the previous pair keeps serving, and no start with half a pair.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use ureq::tls::{PemItem, RootCerts, TlsConfig};

use crate::support::{BIN, random_suffix};

/// A private certificate authority with the certificate it issued for
/// 127.0.0.1, as an operator's renewal brings a new chain.
struct Issued {
    ca_pem: String,
    certificate_pem: String,
    key_pem: String,
}

fn issue(authority: &str) -> Issued {
    let mut params = CertificateParams::new(Vec::new()).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, authority);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("key");
    let certificate = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&key, &*ca)
        .expect("certificate");
    Issued {
        ca_pem: ca.pem(),
        certificate_pem: certificate.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A client that trusts only `ca_pem`, on a new connection each time.
fn trusting(ca_pem: &str) -> ureq::Agent {
    let roots = ureq::tls::parse_pem(ca_pem.as_bytes())
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(certificate)) => Some(certificate),
            _ => None,
        })
        .collect();
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(roots)))
                .build(),
        )
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Writes a file the way a renewal tool does: whole, then renamed over.
fn replace(path: &Path, text: &str) {
    let staged = path.with_extension("new");
    std::fs::write(&staged, text).expect("write");
    std::fs::rename(&staged, path).expect("rename");
}

struct HttpsServer {
    child: Child,
    port: u16,
    root: PathBuf,
    certificate_file: PathBuf,
    key_file: PathBuf,
}

impl HttpsServer {
    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn serve_command(root: &Path, port: u16) -> Command {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .env_remove("LIMEN_CONFIG")
        .env("LIMEN_BIND", format!("127.0.0.1:{port}"))
        .env("LIMEN_DATA_DIR", root.join("data"))
        .env(
            "LIMEN_MAIL_URL",
            format!("file:{}", root.join("outbox").display()),
        )
        .env("LIMEN_MODELS_DIR", models);
    command
}

fn start_https(issued: &Issued) -> HttpsServer {
    let root = std::env::temp_dir().join(format!("limen-tls-{}", random_suffix()));
    std::fs::create_dir_all(&root).expect("root");
    let certificate_file = root.join("fullchain.pem");
    let key_file = root.join("key.pem");
    replace(&certificate_file, &issued.certificate_pem);
    replace(&key_file, &issued.key_pem);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let log = std::fs::File::create(root.join("server.log")).expect("log");
    let child = serve_command(&root, port)
        .env("LIMEN_TLS_CERTIFICATE_FILE", &certificate_file)
        .env("LIMEN_TLS_KEY_FILE", &key_file)
        .env("LIMEN_PUBLIC_URL", format!("https://127.0.0.1:{port}"))
        .env("LIMEN_HEADER_TIMEOUT_SECS", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start limen serve");
    let server = HttpsServer {
        child,
        port,
        root,
        certificate_file,
        key_file,
    };
    let client = trusting(&issued.ca_pem);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !client
        .get(&server.url("/readyz"))
        .call()
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            Instant::now() < deadline,
            "not ready over https: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

#[test]
fn https_with_hsts_and_certificates_renewed_without_a_restart() {
    let first = issue("First CA");
    let server = start_https(&first);

    let client = trusting(&first.ca_pem);
    for (path, status) in [
        ("/healthz", 200),
        ("/api/v1/people", 401),
        ("/nowhere", 404),
    ] {
        let reply = client.get(&server.url(path)).call().expect("https");
        assert_eq!(reply.status(), status, "{path}");
        assert_eq!(
            reply
                .headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000"),
            "{path}: HSTS on every answer"
        );
    }
    let plain = ureq::get(&format!("http://127.0.0.1:{}/healthz", server.port)).call();
    assert!(plain.is_err(), "nothing is served over plain http");

    // A handshake that never starts is cut off at the header timeout (1 s
    // here, 10 s by default), as a stalled request head is.
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stalled
        .set_read_timeout(Some(Duration::from_secs(8)))
        .expect("timeout");
    let started = Instant::now();
    let cut = std::io::Read::read(&mut stalled, &mut [0u8; 64]);
    assert!(
        matches!(cut, Ok(0)) || cut.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the stalled handshake is closed, not left open"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));

    // The renewal: a new chain from another authority and its key.
    let renewed = issue("Renewed CA");
    replace(&server.certificate_file, &renewed.certificate_pem);
    replace(&server.key_file, &renewed.key_pem);
    let reply = trusting(&renewed.ca_pem)
        .get(&server.url("/healthz"))
        .call()
        .unwrap_or_else(|e| panic!("the renewed certificate is served: {e}\n{}", server.log()));
    assert_eq!(reply.status(), 200);
    assert!(
        trusting(&first.ca_pem)
            .get(&server.url("/healthz"))
            .call()
            .is_err(),
        "the first certificate is no longer served"
    );
    assert!(server.log().contains("TLS certificate reloaded"));

    // A broken renewal: a key that is not the certificate's, then a
    // certificate file that is not PEM. Each is logged; the renewed pair
    // keeps serving.
    let stranger = issue("Stranger CA");
    replace(&server.key_file, &stranger.key_pem);
    let still = trusting(&renewed.ca_pem)
        .get(&server.url("/healthz"))
        .call();
    assert!(still.is_ok_and(|r| r.status() == 200), "{}", server.log());
    replace(&server.key_file, &renewed.key_pem);
    replace(&server.certificate_file, "not a certificate\n");
    let still = trusting(&renewed.ca_pem)
        .get(&server.url("/healthz"))
        .call();
    assert!(still.is_ok_and(|r| r.status() == 200), "{}", server.log());
    let log = server.log();
    assert_eq!(
        log.matches("still serving the previous pair").count(),
        2,
        "{log}"
    );
    assert!(
        log.contains("are not a pair") && log.contains("holds no PEM certificate"),
        "{log}"
    );
    assert!(!log.contains("PRIVATE KEY"), "no key material in the log");
}

#[test]
fn half_a_certificate_pair_is_refused_at_start() {
    let root = std::env::temp_dir().join(format!("limen-tls-{}", random_suffix()));
    let issued = issue("Lone CA");
    std::fs::create_dir_all(&root).expect("root");
    let certificate_file = root.join("fullchain.pem");
    std::fs::write(&certificate_file, &issued.certificate_pem).expect("write");
    let output = serve_command(&root, 9)
        .env("LIMEN_TLS_CERTIFICATE_FILE", &certificate_file)
        .output()
        .expect("run limen serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("set both or neither"), "{stderr}");

    // Both named, but the key file is the certificate: refused before the
    // service starts.
    let output = serve_command(&root, 9)
        .env("LIMEN_TLS_CERTIFICATE_FILE", &certificate_file)
        .env("LIMEN_TLS_KEY_FILE", &certificate_file)
        .output()
        .expect("run limen serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no usable PEM private key"), "{stderr}");
    let _ = std::fs::remove_dir_all(&root);
}
