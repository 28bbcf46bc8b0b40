//! Certificates for tests and examples (feature `test`): a throw-away
//! certificate authority that issues node certificates, made with rcgen.
//!
//! ```
//! use kiln_remote::test::TestCa;
//!
//! let ca = TestCa::new("test cluster CA").unwrap();
//! let identity = ca.identity("node-1").unwrap();
//! # drop(identity);
//! ```
//!
//! Never use these for a real cluster: the CA's key lives in memory and is
//! lost with it, and nothing protects it.

use std::fmt;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::tls::{TlsError, TlsIdentity};

/// A certificate authority for tests; see the [module docs](self).
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A node's certificate and key in PEM, with its CA's certificate, for
/// files a child process reads ([`TlsIdentity::from_pem_files`]).
#[derive(Clone)]
pub struct NodePem {
    /// The CA's certificate.
    pub ca: String,
    /// The node's certificate.
    pub cert: String,
    /// The node's private key (PKCS#8).
    pub key: String,
}

impl fmt::Debug for NodePem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodePem").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Result<TestCa, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().map_err(rcgen_error)?;
        let issuer = CertifiedIssuer::self_signed(params, key).map_err(rcgen_error)?;
        Ok(TestCa { issuer })
    }

    /// PEM for node `node`: a certificate valid for that name, for both
    /// server and client authentication, signed by this CA.
    pub fn node_pem(&self, node: &str) -> Result<NodePem, TlsError> {
        let mut params = CertificateParams::new(vec![node.to_owned()]).map_err(rcgen_error)?;
        params.distinguished_name.push(DnType::CommonName, node);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().map_err(rcgen_error)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(rcgen_error)?;
        Ok(NodePem {
            ca: self.issuer.pem(),
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// The TLS identity of node `node`: this CA trusted, a certificate for
    /// `node` signed by it.
    pub fn identity(&self, node: &str) -> Result<TlsIdentity, TlsError> {
        let pem = self.node_pem(node)?;
        TlsIdentity::from_pem(pem.ca.as_bytes(), pem.cert.as_bytes(), pem.key.as_bytes())
    }
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

fn rcgen_error(err: rcgen::Error) -> TlsError {
    TlsError::new(format!("can't make a test certificate: {err}"))
}
