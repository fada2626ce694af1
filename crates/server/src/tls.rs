//! Inbound TLS: `limen serve` terminating https itself, from a certificate
//! chain and its private key in PEM files. The files are looked at again
//! at each handshake (two `stat`s) and read again when either changed, so
//! a renewed certificate is served without a restart; a replacement that
//! cannot be used (unreadable, not PEM, key and certificate not a pair) is
//! logged and the pair in use kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Where the certificate chain (leaf first) and its private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub certificate_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("{path} holds no usable PEM private key: {message}")]
    Key { path: String, message: String },
    #[error("the certificate in {certificate} and the key in {key} are not a pair: {message}")]
    NotAPair {
        certificate: String,
        key: String,
        message: String,
    },
    #[error("cannot set up TLS: {0}")]
    Setup(rustls::Error),
}

/// A TLS acceptor whose certificate follows its files.
#[derive(Clone)]
pub struct TlsTermination {
    acceptor: TlsAcceptor,
}

impl TlsTermination {
    /// Reads the pair now: a service configured for TLS does not start
    /// without a usable one.
    pub fn load(files: &TlsFiles) -> Result<TlsTermination, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let resolver = ReloadingCertificate::load(files.clone(), provider.clone())?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsTermination {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

/// What the files looked like when last read: a change in either's
/// modification time, length or inode (a file renamed over it, even within
/// the file system's timestamp granularity) means they are read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FilesSeen {
    certificate: Option<(SystemTime, u64, u64)>,
    key: Option<(SystemTime, u64, u64)>,
}

impl FilesSeen {
    fn now(files: &TlsFiles) -> FilesSeen {
        let seen = |path: &Path| {
            let metadata = std::fs::metadata(path).ok()?;
            #[cfg(unix)]
            let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
            #[cfg(not(unix))]
            let inode = 0;
            Some((metadata.modified().ok()?, metadata.len(), inode))
        };
        FilesSeen {
            certificate: seen(&files.certificate_file),
            key: seen(&files.key_file),
        }
    }
}

#[derive(Debug)]
struct ReloadingCertificate {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
}

#[derive(Debug)]
struct Current {
    /// The files as last looked at, whether or not they could be used.
    seen: FilesSeen,
    serving: Arc<CertifiedKey>,
}

impl ReloadingCertificate {
    fn load(
        files: TlsFiles,
        provider: Arc<CryptoProvider>,
    ) -> Result<ReloadingCertificate, TlsError> {
        let seen = FilesSeen::now(&files);
        let serving = Arc::new(read_pair(&files, &provider)?);
        Ok(ReloadingCertificate {
            files,
            provider,
            current: Mutex::new(Current { seen, serving }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pair to serve, read again first if the files changed.
    fn serving(&self) -> Arc<CertifiedKey> {
        let seen = FilesSeen::now(&self.files);
        let mut current = self.lock();
        if seen != current.seen {
            current.seen = seen;
            match read_pair(&self.files, &self.provider) {
                Ok(pair) => {
                    current.serving = Arc::new(pair);
                    tracing::info!(
                        certificate = %self.files.certificate_file.display(),
                        "TLS certificate reloaded"
                    );
                }
                // Often the moment between writing the certificate and
                // its key: the next change brings the pair.
                Err(e) => tracing::warn!(
                    error = %e,
                    "the changed TLS certificate or key cannot be used: still serving the previous pair"
                ),
            }
        }
        current.serving.clone()
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.serving())
    }
}

fn read_pair(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    let certificate_path = files.certificate_file.display().to_string();
    let key_path = files.key_file.display().to_string();
    let chain = CertificateDer::pem_slice_iter(&read(&files.certificate_file)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::NoCertificate {
            path: certificate_path.clone(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: certificate_path,
        });
    }
    let key = zeroize::Zeroizing::new(read(&files.key_file)?);
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(|e| TlsError::Key {
        path: key_path.clone(),
        message: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::NotAPair {
        certificate: certificate_path,
        key: key_path,
        message: e.to_string(),
    })
}
