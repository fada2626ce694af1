//! A private certificate authority for loopback, as a deployment with its
//! own CA has one, and a TLS server configuration with a certificate it
//! issued for 127.0.0.1.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct PrivateCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate for 127.0.0.1 issued by a [`PrivateCa`].
pub struct ServerCertificate {
    pub cert_pem: String,
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl PrivateCa {
    pub fn new(name: &str) -> PrivateCa {
        let mut params = CertificateParams::new(Vec::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        PrivateCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The CA certificate, as an operator hands it to `--ca-cert`.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn issue_for_loopback(&self) -> ServerCertificate {
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
        let key = KeyPair::generate().expect("server key");
        let cert = params
            .signed_by(&key, &*self.issuer)
            .expect("server certificate");
        ServerCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }
}

impl ServerCertificate {
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![self.cert_der.clone()], key)
        .expect("certificate and key match");
        Arc::new(config)
    }
}
