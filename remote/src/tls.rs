//! Security of links: mutual TLS 1.3 by default ([`TlsIdentity`]), or
//! plaintext through the explicitly named
//! [`Security::InsecurePlaintext`].
//!
//! # Who is trusted
//!
//! A node trusts the certificate authorities (CAs) of its [`TlsIdentity`]
//! and nothing else: the peer's certificate must chain to one of them, both
//! ways (each side presents its certificate and checks the other's). A
//! certificate proves a *node name*: after the handshake the peer's
//! `Hello` frame names its node, and the certificate must be
//! valid for that name (a DNS subject alternative name), so one node can't
//! speak for another. Node certificates need both the `serverAuth` and the
//! `clientAuth` extended key usages, since every node is a TLS server for
//! the links it accepts and a TLS client for those it makes.
//!
//! The client side checks the chain without a host name (the address of a
//! seed says nothing about which node answers), and the name once the
//! `Hello` arrives (`CaVerifier`). The server side uses rustls's
//! `WebPkiClientVerifier` as it is.
//!
//! rustls was chosen because it is memory-safe, audited, TLS 1.3-only here,
//! and sans-I/O: its connections take and give bytes, so they run over
//! kiln's own sockets with buffers passed by value, on io_uring or epoll
//! alike. Its crypto provider is aws-lc-rs, rustls's default: it offers the
//! post-quantum hybrid key exchange X25519MLKEM768 first, and builds with a
//! C compiler alone (no CMake, no Go). rustls 0.23.48 deprecated its `ring`
//! provider for lacking post-quantum key exchange.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

/// How a node's links are secured; see the [module documentation](self).
#[derive(Clone)]
pub enum Security {
    /// Mutual TLS 1.3: the default and the only choice for a network
    /// anyone else can reach.
    MutualTls(TlsIdentity),
    /// No encryption and no authentication: anyone who can reach the port
    /// can join the cluster, read every message and send any. Only for a
    /// loopback test or a network that is private by other means. The node
    /// logs a warning when it starts.
    InsecurePlaintext,
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Security::MutualTls(identity) => f.debug_tuple("MutualTls").field(identity).finish(),
            Security::InsecurePlaintext => f.write_str("InsecurePlaintext"),
        }
    }
}

/// What a node proves and trusts with TLS: the CAs it trusts, its
/// certificate chain and its private key.
#[derive(Clone)]
pub struct TlsIdentity {
    trusted: Vec<CertificateDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
}

impl TlsIdentity {
    /// From DER: the trusted CA certificates, the node's certificate chain
    /// (its own first) and its private key.
    pub fn from_der(
        trusted: Vec<CertificateDer<'static>>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsIdentity, TlsError> {
        if trusted.is_empty() {
            return Err(TlsError::new("no trusted CA certificate given"));
        }
        if chain.is_empty() {
            return Err(TlsError::new("no node certificate given"));
        }
        let identity = TlsIdentity {
            trusted,
            chain,
            key: Arc::new(key),
        };
        // Find bad certificates or keys now, not at the first connection.
        identity.configs()?;
        Ok(identity)
    }

    /// From PEM text: the trusted CA certificates, the node's certificate
    /// chain and its private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(ca: &[u8], chain: &[u8], key: &[u8]) -> Result<TlsIdentity, TlsError> {
        let trusted = certificates(ca, "trusted CA")?;
        let chain = certificates(chain, "node certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|err| TlsError::new(format!("can't read the private key: {err}")))?;
        TlsIdentity::from_der(trusted, chain, key)
    }

    /// From PEM files; the error names the file that can't be read.
    pub fn from_pem_files(
        ca: impl AsRef<Path>,
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsIdentity, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|err| TlsError::new(format!("can't read {}: {err}", path.display())))
        };
        TlsIdentity::from_pem(
            &read(ca.as_ref())?,
            &read(chain.as_ref())?,
            &read(key.as_ref())?,
        )
    }

    /// The client and server configurations of a node.
    pub(crate) fn configs(&self) -> Result<TlsConfigs, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in &self.trusted {
            roots
                .add(cert.clone())
                .map_err(|err| TlsError::new(format!("bad trusted CA certificate: {err}")))?;
        }
        let roots = Arc::new(roots);
        let key = || PrivateKeyDer::clone_key(&self.key);

        let verifier = Arc::new(CaVerifier {
            roots: roots.clone(),
            algorithms: provider.signature_verification_algorithms,
        });
        let mut client = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(TlsError::rustls)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(self.chain.clone(), key())
            .map_err(|err| TlsError::new(format!("bad node certificate or key: {err}")))?;
        client.enable_sni = false;

        let client_verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|err| TlsError::new(format!("bad trusted CA certificates: {err}")))?;
        let server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(TlsError::rustls)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(self.chain.clone(), key())
            .map_err(|err| TlsError::new(format!("bad node certificate or key: {err}")))?;
        Ok(TlsConfigs {
            client: Arc::new(client),
            server: Arc::new(server),
        })
    }

    /// Whether this node's own certificate is valid for `node`: a node
    /// must not start under a name its certificate does not prove.
    pub(crate) fn check_own_name(&self, node: &str) -> Result<(), TlsError> {
        check_name(&self.chain[0], node)
            .map_err(|err| TlsError::new(format!("this node's certificate {err}")))
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("TlsIdentity")
            .field("trusted", &self.trusted.len())
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Reads every certificate of a PEM text; at least one.
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TlsError::new(format!("can't read the {what} PEM: {err}")))?;
    if certs.is_empty() {
        return Err(TlsError::new(format!("no certificate in the {what} PEM")));
    }
    Ok(certs)
}

/// Whether `cert` is valid for the DNS name `node`.
pub(crate) fn check_name(cert: &CertificateDer<'_>, node: &str) -> Result<(), String> {
    let name = ServerName::try_from(node)
        .map_err(|_| format!("can't be checked: node name '{node}' is not a DNS name"))?;
    let parsed =
        ParsedCertificate::try_from(cert).map_err(|err| format!("is unreadable: {err}"))?;
    verify_server_name(&parsed, &name).map_err(|err| format!("is not valid for '{node}': {err}"))
}

/// The rustls configurations of a node.
#[derive(Clone)]
pub(crate) struct TlsConfigs {
    pub(crate) client: Arc<ClientConfig>,
    pub(crate) server: Arc<ServerConfig>,
}

impl fmt::Debug for TlsConfigs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsConfigs")
    }
}

/// Checks a server's certificate chain against the trusted CAs, without a
/// host name: the name is checked against the node's `Hello` instead.
#[derive(Debug)]
struct CaVerifier {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for CaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TLS identity that can't be used: unreadable or mismatched
/// certificates or key. The message says which and why.
#[derive(Debug, Clone)]
pub struct TlsError {
    message: String,
}

impl TlsError {
    pub(crate) fn new(message: impl Into<String>) -> TlsError {
        TlsError {
            message: message.into(),
        }
    }

    fn rustls(err: rustls::Error) -> TlsError {
        TlsError::new(format!("TLS set-up failed: {err}"))
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsError {}
