//! Which certificate authorities the agent trusts for `https://`, both for
//! the Limen server and for a camera: by default the public web's (Mozilla's
//! list, built in), or exactly the ones in a PEM file (`--ca-cert`) for a
//! deployment with its own CA.

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

#[derive(Debug, Error)]
pub enum CaCertError {
    #[error("cannot read the CA certificate file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the CA certificate file is not PEM: {0}")]
    Pem(String),
    #[error("the CA certificate file holds no certificate")]
    NoCertificate,
}

/// The roots `https://` certificates must chain to.
#[derive(Debug, Clone, Default)]
pub struct TrustedRoots {
    /// `None`: the public roots.
    private: Option<Arc<Vec<Certificate<'static>>>>,
}

impl TrustedRoots {
    /// The public web's roots.
    pub fn public() -> TrustedRoots {
        TrustedRoots::default()
    }

    /// Exactly the certificates of a PEM file (one or more); anything else
    /// in the file, such as a private key, is ignored.
    pub fn from_pem_file(path: &Path) -> Result<TrustedRoots, CaCertError> {
        TrustedRoots::from_pem(&std::fs::read(path)?)
    }

    pub fn from_pem(pem: &[u8]) -> Result<TrustedRoots, CaCertError> {
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            if let PemItem::Certificate(certificate) =
                item.map_err(|e| CaCertError::Pem(e.to_string()))?
            {
                certificates.push(certificate);
            }
        }
        if certificates.is_empty() {
            return Err(CaCertError::NoCertificate);
        }
        Ok(TrustedRoots {
            private: Some(Arc::new(certificates)),
        })
    }

    pub(crate) fn tls_config(&self) -> TlsConfig {
        let roots = match &self.private {
            Some(certificates) => RootCerts::Specific(Arc::clone(certificates)),
            None => RootCerts::WebPki,
        };
        TlsConfig::builder().root_certs(roots).build()
    }
}
