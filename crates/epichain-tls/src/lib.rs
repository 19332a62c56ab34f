//! HTTPS between clients and nodes under the chain's own CA hierarchy (issue 14 §4).
//!
//! A node serves TLS 1.3 with a *node TLS certificate*: an epichain identity of role `validator`
//! issued by a CA of the hierarchy ([`epichain_core::cert::issue_server`]) that names the
//! addresses the node answers on and carries the TLS server purpose. A client trusts only the
//! roots its genesis names, never the platform's: [`NodeTrust::client_config`] accepts a server
//! whose certificate chains to them for TLS server authentication, names the address dialled,
//! is a node's under the hierarchy's rules, and, when pinned, holds the pinned key.
//!
//! The crypto provider is rustls' ring provider (ring already verifies the hierarchy's paths).

use epichain_core::cert::{self, CertError, ServerName};
use epichain_core::{Genesis, KeyPair, PublicKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// Failures setting up TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The node's certificate or key cannot serve TLS.
    #[error("TLS certificate: {0}")]
    Certificate(#[from] CertError),
    /// The key is not the certificate's.
    #[error("the TLS key {key} is not the key of the TLS certificate ({certificate})")]
    KeyMismatch {
        /// The key file's public key.
        key: PublicKey,
        /// The certificate's.
        certificate: PublicKey,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Why a client refused a node's TLS certificate ([`refusal_of`] finds it in a transport error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a node's TLS certificate under the roots for the address dialled.
    #[error("{0}")]
    Certificate(CertError),
    /// A node's certificate, of another key than the pinned one.
    #[error("the node holds key {held}, not the pinned key {pinned}")]
    Pin {
        /// The certificate's key.
        held: PublicKey,
        /// The key the client pinned.
        pinned: PublicKey,
    },
    /// The client was given no roots.
    #[error("this client has no certificate roots: give it the chain's genesis")]
    NoRoots,
    /// The address dialled cannot be checked against a certificate.
    #[error("the address {0:?} is neither a DNS name nor an IP address")]
    Name(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn refused(refusal: Refusal) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
        refusal,
    ))))
}

/// What a client trusts nodes' TLS certificates with: the chain's roots, and optionally the one
/// key the node must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeTrust {
    roots: Vec<Vec<u8>>,
    pin: Option<PublicKey>,
}

impl NodeTrust {
    /// Trusts certificates under these roots (DER).
    pub fn new(roots: Vec<Vec<u8>>) -> Self {
        NodeTrust { roots, pin: None }
    }

    /// Trusts certificates under the roots `genesis` names.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        Self::new(genesis.root_certificates.clone())
    }

    /// Accepts only a node whose TLS certificate holds `key` (its identity key).
    #[must_use]
    pub fn pinned(self, key: PublicKey) -> Self {
        NodeTrust {
            pin: Some(key),
            ..self
        }
    }

    /// A rustls client configuration (TLS 1.3) that accepts only nodes this trust admits.
    pub fn client_config(&self) -> rustls::ClientConfig {
        client_config(Arc::new(NodeVerifier {
            trust: Some(self.clone()),
            provider: provider(),
        }))
    }
}

/// A rustls client configuration that refuses every server, saying that it has no roots: the
/// TLS of a client that was given no genesis.
pub fn untrusting_client_config() -> rustls::ClientConfig {
    client_config(Arc::new(NodeVerifier {
        trust: None,
        provider: provider(),
    }))
}

/// True for an `http://` URL to another machine (not a loopback address, not `localhost`): the
/// plain HTTP that clients and nodes refuse unless asked for. Anything else, a URL that does not
/// parse among them, is left to the HTTP client.
pub fn is_remote_plain_http(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    if url.scheme() != "http" {
        return false;
    }
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    !(host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback()))
}

/// Most idle connections an HTTP client keeps per node.
pub const IDLE_CONNECTIONS_PER_NODE_MAX: usize = 64;

/// An HTTP client for nodes: over HTTPS it accepts the nodes `trust` admits (none without it);
/// each request ends within `timeout`.
pub fn http_client(trust: Option<&NodeTrust>, timeout: std::time::Duration) -> reqwest::Client {
    let tls = trust.map_or_else(untrusting_client_config, NodeTrust::client_config);
    reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(IDLE_CONNECTIONS_PER_NODE_MAX)
        .tls_backend_preconfigured(tls)
        .build()
        // Only a TLS backend reqwest was not built with makes this fail: a build defect.
        .unwrap_or_else(|error| unreachable!("reqwest with rustls: {error}"))
}

fn client_config(verifier: Arc<NodeVerifier>) -> rustls::ClientConfig {
    let provider = verifier.provider.clone();
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
    {
        Ok(builder) => builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
        // ring's provider supports TLS 1.3: this would be a broken build, not bad input.
        Err(error) => unreachable!("ring provides TLS 1.3: {error}"),
    }
}

/// Checks nodes' certificates against the chain's roots and rules (not the platform's).
#[derive(Debug)]
struct NodeVerifier {
    trust: Option<NodeTrust>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NodeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let trust = self
            .trust
            .as_ref()
            .ok_or_else(|| refused(Refusal::NoRoots))?;
        let name = server_name.to_str();
        let name: ServerName = name
            .parse()
            .map_err(|_| refused(Refusal::Name(name.to_string())))?;
        let intermediates: Vec<Vec<u8>> = intermediates
            .iter()
            .map(|certificate| certificate.as_ref().to_vec())
            .collect();
        let node = cert::verify_node_certificate(
            end_entity.as_ref(),
            &intermediates,
            &trust.roots,
            &name,
            now.as_secs(),
        )
        .map_err(|error| refused(Refusal::Certificate(error)))?;
        if let Some(pinned) = &trust.pin
            && node.leaf.key != *pinned
        {
            return Err(refused(Refusal::Pin {
                held: node.leaf.key,
                pinned: *pinned,
            }));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // Node certificates are Ed25519.
        vec![SignatureScheme::ED25519]
    }
}

/// A node's TLS server configuration (TLS 1.3) from its certificate chain (leaf first, DER) and
/// key, after checking that the key is the leaf's and that the leaf is a node's TLS certificate
/// under `roots` at `time_seconds` for each name it serves.
pub fn server_config(
    chain: Vec<Vec<u8>>,
    key: &KeyPair,
    roots: &[Vec<u8>],
    time_seconds: u64,
) -> Result<rustls::ServerConfig, TlsError> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(
            CertError::Malformed("the certificate file holds no certificate".into()).into(),
        );
    };
    let parsed = cert::parse_certificate(leaf)?;
    if parsed.key != key.public_key() {
        return Err(TlsError::KeyMismatch {
            key: key.public_key(),
            certificate: parsed.key,
        });
    }
    cert::verify_identity_chain(leaf, intermediates, roots, time_seconds)?;
    let key_der = key
        .to_pkcs8_der()
        .map_err(|error| CertError::Malformed(format!("TLS key: {error}")))?;
    let chain: Vec<CertificateDer<'static>> = chain.into_iter().map(CertificateDer::from).collect();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(
            chain,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        )?;
    Ok(config)
}

/// `error` and its causes, outermost first. An I/O error's `source` skips the error it wraps
/// (rustls' among them): this goes through it.
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |cause| {
        match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        }
    })
}

/// A transport error's explanation for people: every cause in the chain, outermost first
/// (reqwest's own message names none of them).
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut texts: Vec<String> = Vec::new();
    for cause in causes(error) {
        let text = cause.to_string();
        if !texts.iter().any(|earlier| earlier.contains(&text)) {
            texts.push(text);
        }
    }
    texts.join(": ")
}

/// The reason a client of this crate refused a node's certificate, if that is what ended
/// `error` (a transport error, through its causes).
pub fn refusal_of<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refusal> {
    causes(error).find_map(|cause| match cause.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            other.0.downcast_ref::<Refusal>()
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_http_is_remote_unless_to_this_machine() {
        for (url, remote) in [
            ("http://127.0.0.1:8000", false),
            ("http://localhost:8000/v1", false),
            ("http://[::1]:8000", false),
            ("https://10.0.0.2:8443", false),
            ("http://10.0.0.2:8000", true),
            ("http://node1.cdc.example", true),
            ("http://[2001:db8::1]:80", true),
        ] {
            assert_eq!(super::is_remote_plain_http(url), remote, "{url}");
        }
    }
}
