//! X.509 certificates of the CA hierarchy (national root → province → city → leaf).
//!
//! Issuance uses `rcgen`; verification of a chain (signatures, validity at a given time, CA basic
//! constraints, key purpose) uses `rustls-webpki`; our own claims are read with `x509-parser`.
//!
//! Every epichain certificate carries a non-critical extension with the holder's [`Role`], home
//! [`RegionCode`] and [`Institution`]. Every certificate carries the epichain extended key usage
//! (webpki requires one, on every certificate of a path); CAs and nodes' TLS server certificates
//! ([`issue_server`]: a node identity naming the addresses it serves) also carry TLS server
//! authentication, so that TLS clients accept the hierarchy's paths for nodes. On top of the X.509 path checks, a chain is accepted only if it follows the
//! hierarchy: every issuer is a certificate authority, every CA's region lies strictly below its
//! issuer's region, and every leaf's region lies within its issuing CA's region.

use crate::institution::Institution;
use crate::keys::{KeyPair, PublicKey};
use crate::region::{Level, RegionCode};
use crate::rejection::CertificateProblem;
use crate::role::Role;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer, UnixTime};
use std::time::Duration;

/// Placeholder private-enterprise arc for epichain's object identifiers. It is not registered with
/// IANA: register a Private Enterprise Number before production and change only this constant and
/// [`EXTENDED_KEY_USAGE_OID_DER`].
pub const EPICHAIN_OID_ARC: [u64; 7] = [1, 3, 6, 1, 4, 1, 64075];

/// OID of the claims extension: `EPICHAIN_OID_ARC.1.1`.
pub fn claims_oid() -> Vec<u64> {
    let mut oid = EPICHAIN_OID_ARC.to_vec();
    oid.extend([1, 1]);
    oid
}

/// OID of the extended key usage of leaf identities: `EPICHAIN_OID_ARC.1.2`.
pub fn extended_key_usage_oid() -> Vec<u64> {
    let mut oid = EPICHAIN_OID_ARC.to_vec();
    oid.extend([1, 2]);
    oid
}

/// DER content bytes of [`extended_key_usage_oid`], as webpki wants them.
pub const EXTENDED_KEY_USAGE_OID_DER: &[u8] =
    &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0xF4, 0x4B, 0x01, 0x02];

/// Longest certificate we accept.
pub const CERTIFICATE_BYTES_MAX: usize = 8 * 1024;

/// Longest chain (leaf plus intermediates) we accept.
pub const CHAIN_CERTIFICATES_MAX: usize = 4;

/// Errors issuing or verifying certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Generation failed inside rcgen.
    #[error("certificate generation failed: {0}")]
    Generate(String),
    /// Not parseable as X.509 DER or PEM.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// The X.509 path does not verify (signature, validity, constraints, key usage); the
    /// problem is the stable classification, the text the verifier's detail.
    #[error("certificate chain rejected: {1}")]
    Chain(CertificateProblem, String),
    /// The path verifies but breaks the epichain hierarchy.
    #[error("certificate hierarchy rejected: {0}")]
    Hierarchy(String),
    /// The requested issuance is not allowed.
    #[error("cannot issue: {0}")]
    Issue(String),
    /// A TLS server's certificate does not name the address the client asked for, or is not a
    /// node's.
    #[error("TLS server certificate rejected: {0}")]
    Server(String),
}

/// Most addresses one TLS server certificate names.
pub const SERVER_NAMES_MAX: usize = 16;

/// An address a node serves HTTPS on, as its TLS certificate names it: a DNS name or an IP
/// address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerName {
    /// A DNS name (`node1.cdc.example`).
    Dns(String),
    /// An IP address.
    Ip(std::net::IpAddr),
}

impl std::str::FromStr for ServerName {
    type Err = CertError;

    fn from_str(text: &str) -> Result<Self, CertError> {
        if let Ok(address) = text.parse::<std::net::IpAddr>() {
            return Ok(ServerName::Ip(address));
        }
        rustls_pki_types::DnsName::try_from(text)
            .map(|name| ServerName::Dns(name.as_ref().to_ascii_lowercase()))
            .map_err(|_| CertError::Issue(format!("{text:?} is neither a DNS name nor an IP")))
    }
}

impl std::fmt::Display for ServerName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerName::Dns(name) => formatter.write_str(name),
            ServerName::Ip(address) => write!(formatter, "{address}"),
        }
    }
}

impl ServerName {
    fn to_san(&self) -> Result<rcgen::SanType, CertError> {
        Ok(match self {
            ServerName::Dns(name) => rcgen::SanType::DnsName(
                name.clone()
                    .try_into()
                    .map_err(|_| CertError::Issue(format!("{name:?} is not a DNS name")))?,
            ),
            ServerName::Ip(address) => rcgen::SanType::IpAddress(*address),
        })
    }

    fn to_pki(&self) -> Result<rustls_pki_types::ServerName<'static>, CertError> {
        match self {
            ServerName::Dns(name) => rustls_pki_types::ServerName::try_from(name.clone())
                .map_err(|_| CertError::Server(format!("{name:?} is not a DNS name"))),
            ServerName::Ip(address) => {
                Ok(rustls_pki_types::ServerName::IpAddress((*address).into()))
            }
        }
    }
}

/// What an epichain certificate states about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// Role of the holder.
    pub role: Role,
    /// Home region of the holder (for a CA: the region it may issue in).
    pub region: RegionCode,
    /// The organisation the holder acts for (for a CA: the organisation running it).
    pub institution: Institution,
}

impl Claims {
    /// DER: `SEQUENCE { UTF8String role, PrintableString region, PrintableString institution }`
    /// (every string is shorter than 128 bytes, so each length is one byte).
    pub fn to_der(&self) -> Vec<u8> {
        let role = self.role.name().as_bytes();
        let region = self.region.to_string();
        let institution = self.institution.as_str().as_bytes();
        let mut body = Vec::with_capacity(6 + role.len() + region.len() + institution.len());
        body.extend([0x0C, role.len() as u8]);
        body.extend_from_slice(role);
        body.extend([0x13, region.len() as u8]);
        body.extend_from_slice(region.as_bytes());
        body.extend([0x13, institution.len() as u8]);
        body.extend_from_slice(institution);
        let mut der = vec![0x30, body.len() as u8];
        der.extend(body);
        der
    }

    /// Parses the DER written by [`Claims::to_der`], strictly.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let malformed = || CertError::Malformed("epichain claims extension".to_string());
        let body = match der {
            [0x30, length, body @ ..] if usize::from(*length) == body.len() => body,
            _ => return Err(malformed()),
        };
        let (role, rest) = der_string(body, 0x0C).ok_or_else(malformed)?;
        let (region, rest) = der_string(rest, 0x13).ok_or_else(malformed)?;
        let (institution, rest) = der_string(rest, 0x13).ok_or_else(malformed)?;
        if !rest.is_empty() {
            return Err(malformed());
        }
        let role = std::str::from_utf8(role)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(malformed)?;
        let region = std::str::from_utf8(region)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(malformed)?;
        let institution = std::str::from_utf8(institution)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(malformed)?;
        Ok(Claims {
            role,
            region,
            institution,
        })
    }
}

fn der_string(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match bytes {
        [found, length, rest @ ..] if *found == tag && usize::from(*length) <= rest.len() => {
            Some(rest.split_at(usize::from(*length)))
        }
        _ => None,
    }
}

/// A parsed certificate with its epichain claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedCertificate {
    /// Subject public key.
    pub key: PublicKey,
    /// Role and region.
    pub claims: Claims,
    /// Subject common name.
    pub common_name: String,
    /// Start of validity, Unix seconds.
    pub not_before_seconds: i64,
    /// End of validity, Unix seconds.
    pub not_after_seconds: i64,
    /// True if basic constraints mark it as a CA.
    pub is_ca: bool,
}

/// Parses a DER certificate and its epichain claims (no chain verification).
pub fn parse_certificate(der: &[u8]) -> Result<ParsedCertificate, CertError> {
    if der.len() > CERTIFICATE_BYTES_MAX {
        return Err(CertError::Malformed(format!(
            "certificate of {} bytes exceeds {CERTIFICATE_BYTES_MAX}",
            der.len()
        )));
    }
    let (rest, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|error| CertError::Malformed(error.to_string()))?;
    if !rest.is_empty() {
        return Err(CertError::Malformed(
            "trailing bytes after certificate".to_string(),
        ));
    }
    let key = PublicKey::from_spki_der(certificate.public_key().raw)
        .map_err(|_| CertError::Malformed("subject key is not Ed25519".to_string()))?;
    let oid = x509_parser::oid_registry::Oid::from(&claims_oid()[..])
        .map_err(|_| CertError::Malformed("claims OID".to_string()))?;
    let extension = certificate
        .get_extension_unique(&oid)
        .map_err(|error| CertError::Malformed(error.to_string()))?
        .ok_or_else(|| {
            CertError::Malformed("not an epichain certificate (no claims extension)".to_string())
        })?;
    let claims = Claims::from_der(extension.value)?;
    let common_name = certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|name| name.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let is_ca = certificate
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|constraints| constraints.value.ca);
    Ok(ParsedCertificate {
        key,
        claims,
        common_name,
        not_before_seconds: certificate.validity().not_before.timestamp(),
        not_after_seconds: certificate.validity().not_after.timestamp(),
        is_ca,
    })
}

/// Validity window of a certificate to issue, Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// First second of validity.
    pub not_before_seconds: i64,
    /// Last second of validity.
    pub not_after_seconds: i64,
}

impl Validity {
    /// From `start` for `days` days.
    pub fn days_from(start_seconds: i64, days: i64) -> Self {
        Validity {
            not_before_seconds: start_seconds,
            not_after_seconds: start_seconds.saturating_add(days.saturating_mul(86_400)),
        }
    }
}

struct SubjectKey(Vec<u8>);

impl rcgen::PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

fn rcgen_key(key: &KeyPair) -> Result<rcgen::KeyPair, CertError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|error| CertError::Generate(error.to_string()))?;
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(der),
        &rcgen::PKCS_ED25519,
    )
    .map_err(|error| CertError::Generate(error.to_string()))
}

fn params_for(
    subject_key: &PublicKey,
    common_name: &str,
    claims: &Claims,
    validity: Validity,
    server_names: &[ServerName],
) -> Result<rcgen::CertificateParams, CertError> {
    let time = |seconds: i64| {
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|error| CertError::Generate(error.to_string()))
    };
    let mut params = rcgen::CertificateParams::default();
    params.not_before = time(validity.not_before_seconds)?;
    params.not_after = time(validity.not_after_seconds)?;
    // Unique per issuer for each key, claim and validity window; deterministic, so the same
    // request gives the same certificate (RFC 5280: at most 20 octets, positive).
    let names = server_names
        .iter()
        .map(ServerName::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let claims_der = claims.to_der();
    let not_before = validity.not_before_seconds.to_le_bytes();
    let not_after = validity.not_after_seconds.to_le_bytes();
    let mut parts: Vec<&[u8]> = vec![&subject_key.0, &claims_der, &not_before, &not_after];
    if !server_names.is_empty() {
        parts.push(names.as_bytes());
    }
    let digest = crate::encoding::hash_tagged_parts(crate::encoding::tag::CERTIFICATE, &parts);
    let mut serial = digest.0[..20].to_vec();
    serial[0] &= 0x7F;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let mut name = rcgen::DistinguishedName::new();
    if !common_name.is_empty() {
        name.push(rcgen::DnType::CommonName, common_name);
    }
    name.push(rcgen::DnType::OrganizationName, claims.institution.as_str());
    name.push(
        rcgen::DnType::OrganizationalUnitName,
        format!("{} {}", claims.role, claims.region),
    );
    params.distinguished_name = name;
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &claims_oid(),
        claims.to_der(),
    )];
    // Verifiers apply the key-purpose check to every certificate of the path, so CAs carry the
    // epichain purpose ("may certify epichain identities") and TLS server authentication ("may
    // certify nodes' HTTPS endpoints"); a node's TLS certificate carries both too.
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::Other(
        extended_key_usage_oid(),
    )];
    if claims.role == Role::CertificateAuthority || !server_names.is_empty() {
        params
            .extended_key_usages
            .push(rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    }
    params.subject_alt_names = server_names
        .iter()
        .map(ServerName::to_san)
        .collect::<Result<_, _>>()?;
    if claims.role == Role::CertificateAuthority {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
    } else {
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    }
    Ok(params)
}

/// Creates the self-signed national root CA certificate (DER).
pub fn create_root(
    key: &KeyPair,
    common_name: &str,
    institution: Institution,
    validity: Validity,
) -> Result<Vec<u8>, CertError> {
    let claims = Claims {
        role: Role::CertificateAuthority,
        region: RegionCode::NATIONAL,
        institution,
    };
    let params = params_for(&key.public_key(), common_name, &claims, validity, &[])?;
    let certificate = params
        .self_signed(&rcgen_key(key)?)
        .map_err(|error| CertError::Generate(error.to_string()))?;
    Ok(certificate.der().to_vec())
}

/// What to put in a certificate issued by a CA.
#[derive(Clone, Debug)]
pub struct IssueRequest<'a> {
    /// Key of the holder.
    pub subject_key: PublicKey,
    /// Role and home region of the holder.
    pub claims: Claims,
    /// Holder's name (common name).
    pub common_name: &'a str,
    /// Validity window.
    pub validity: Validity,
}

/// Issues a certificate signed by a CA (DER). The CA may issue only within its region: a
/// subordinate CA strictly below it, a leaf anywhere within it.
pub fn issue(
    ca_certificate_der: &[u8],
    ca_key: &KeyPair,
    request: &IssueRequest<'_>,
) -> Result<Vec<u8>, CertError> {
    issue_with_names(ca_certificate_der, ca_key, request, &[])
}

/// Issues a node's TLS server certificate: a node identity (role `validator`) that also names
/// the addresses it serves HTTPS on and may authenticate a TLS server.
pub fn issue_server(
    ca_certificate_der: &[u8],
    ca_key: &KeyPair,
    request: &IssueRequest<'_>,
    server_names: &[ServerName],
) -> Result<Vec<u8>, CertError> {
    if request.claims.role != Role::Validator {
        return Err(CertError::Issue(format!(
            "a TLS server certificate is for a node (role validator), not a {}",
            request.claims.role
        )));
    }
    if server_names.is_empty() || server_names.len() > SERVER_NAMES_MAX {
        return Err(CertError::Issue(format!(
            "a TLS server certificate names 1 to {SERVER_NAMES_MAX} addresses"
        )));
    }
    issue_with_names(ca_certificate_der, ca_key, request, server_names)
}

fn issue_with_names(
    ca_certificate_der: &[u8],
    ca_key: &KeyPair,
    request: &IssueRequest<'_>,
    server_names: &[ServerName],
) -> Result<Vec<u8>, CertError> {
    let ca = parse_certificate(ca_certificate_der)?;
    if ca.claims.role != Role::CertificateAuthority || !ca.is_ca {
        return Err(CertError::Issue(
            "the issuing certificate is not a certificate authority".to_string(),
        ));
    }
    if ca.key != ca_key.public_key() {
        return Err(CertError::Issue(
            "the CA key does not match the CA certificate".to_string(),
        ));
    }
    check_issuance(&ca.claims, &request.claims)?;
    let params = params_for(
        &request.subject_key,
        request.common_name,
        &request.claims,
        request.validity,
        server_names,
    )?;
    let issuer = rcgen::Issuer::from_ca_cert_der(
        &CertificateDer::from(ca_certificate_der.to_vec()),
        rcgen_key(ca_key)?,
    )
    .map_err(|error| CertError::Generate(error.to_string()))?;
    let subject = SubjectKey(request.subject_key.0.to_vec());
    let certificate = params
        .signed_by(&subject, &issuer)
        .map_err(|error| CertError::Generate(error.to_string()))?;
    Ok(certificate.der().to_vec())
}

/// The hierarchy rule between an issuing CA and what it certifies.
pub fn check_issuance(issuer: &Claims, subject: &Claims) -> Result<(), CertError> {
    if issuer.role != Role::CertificateAuthority {
        return Err(CertError::Hierarchy(format!(
            "issuer is a {}, not a certificate authority",
            issuer.role
        )));
    }
    if !subject.region.is_within(issuer.region) {
        return Err(CertError::Hierarchy(format!(
            "a CA for region {} cannot certify region {}",
            issuer.region, subject.region
        )));
    }
    if subject.role == Role::CertificateAuthority {
        let expected = match issuer.region.level() {
            Level::National => Level::Province,
            Level::Province => Level::City,
            Level::City | Level::District => {
                return Err(CertError::Hierarchy(format!(
                    "a city CA ({}) cannot create subordinate CAs",
                    issuer.region
                )));
            }
        };
        if subject.region.level() != expected {
            return Err(CertError::Hierarchy(format!(
                "a CA below a {} CA must be a {expected} CA, not {}",
                issuer.region.level(),
                subject.region.level()
            )));
        }
    }
    Ok(())
}

/// A leaf identity whose chain verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The leaf.
    pub leaf: ParsedCertificate,
    /// The issuing CAs, from the leaf's issuer up to and including the root.
    pub issuers: Vec<ParsedCertificate>,
    /// Latest `not_before` over the chain, Unix seconds.
    pub valid_from_seconds: i64,
    /// Earliest `not_after` over the chain, Unix seconds.
    pub valid_until_seconds: i64,
}

/// Verifies a leaf certificate against the roots at `time_seconds`: the X.509 path (webpki) and
/// the epichain hierarchy.
#[allow(clippy::too_many_lines)] // One verification in order (path, anchor, hierarchy, validity): its steps share the parsed chain.
pub fn verify_identity_chain(
    leaf_der: &[u8],
    intermediates_der: &[Vec<u8>],
    roots_der: &[Vec<u8>],
    time_seconds: u64,
) -> Result<VerifiedIdentity, CertError> {
    if intermediates_der.len() + 1 > CHAIN_CERTIFICATES_MAX {
        return Err(CertError::Chain(
            CertificateProblem::ChainTooLong,
            format!("chain longer than {CHAIN_CERTIFICATES_MAX} certificates"),
        ));
    }
    let leaf = parse_certificate(leaf_der)?;
    if leaf.is_ca || leaf.claims.role == Role::CertificateAuthority {
        return Err(CertError::Hierarchy(
            "a CA certificate cannot be enrolled as an identity".to_string(),
        ));
    }
    let (intermediate_ders, anchor_spki) = with_verified_path(
        leaf_der,
        intermediates_der,
        roots_der,
        time_seconds,
        webpki::KeyUsage::required(EXTENDED_KEY_USAGE_OID_DER),
        |error| CertError::Chain(path_problem(error), error.to_string()),
        |path| {
            let intermediates: Vec<Vec<u8>> = path
                .intermediate_certificates()
                .map(|intermediate| intermediate.der().to_vec())
                .collect();
            (
                intermediates,
                path.anchor().subject_public_key_info.to_vec(),
            )
        },
    )?;

    // The verified path from the leaf's issuer upwards, then the root that anchored it.
    let mut issuers = Vec::new();
    for intermediate in &intermediate_ders {
        issuers.push(parse_certificate(intermediate)?);
    }
    let anchor_spki = anchor_spki.as_slice();
    let root = roots_der
        .iter()
        .map(|der| parse_certificate(der))
        .find(|parsed| {
            parsed.as_ref().is_ok_and(|root| {
                root.key
                    .to_spki_der()
                    .is_ok_and(|spki| spki_matches(&spki, anchor_spki))
            })
        })
        .ok_or_else(|| {
            CertError::Chain(
                CertificateProblem::PathInvalid,
                "anchor does not match a root".to_string(),
            )
        })??;
    issuers.push(root);

    let mut subject = &leaf.claims;
    for issuer in &issuers {
        check_issuance(&issuer.claims, subject)?;
        subject = &issuer.claims;
    }
    if subject.region != RegionCode::NATIONAL {
        return Err(CertError::Hierarchy(
            "the root CA must be national".to_string(),
        ));
    }
    let valid_from_seconds = issuers
        .iter()
        .map(|issuer| issuer.not_before_seconds)
        .fold(leaf.not_before_seconds, i64::max);
    let valid_until_seconds = issuers
        .iter()
        .map(|issuer| issuer.not_after_seconds)
        .fold(leaf.not_after_seconds, i64::min);
    Ok(VerifiedIdentity {
        issuers,
        leaf,
        valid_from_seconds,
        valid_until_seconds,
    })
}

/// Verifies a node's TLS server certificate at `time_seconds`: a path to a root for TLS server
/// authentication that names `server_name`, and a node identity (role `validator`) under the
/// epichain hierarchy. Returns the node's identity.
pub fn verify_node_certificate(
    leaf_der: &[u8],
    intermediates_der: &[Vec<u8>],
    roots_der: &[Vec<u8>],
    server_name: &ServerName,
    time_seconds: u64,
) -> Result<VerifiedIdentity, CertError> {
    let identity = verify_identity_chain(leaf_der, intermediates_der, roots_der, time_seconds)?;
    if identity.leaf.claims.role != Role::Validator {
        return Err(CertError::Server(format!(
            "the certificate is a {}'s, not a node's",
            identity.leaf.claims.role
        )));
    }
    let server_name_pki = server_name.to_pki()?;
    with_verified_path(
        leaf_der,
        intermediates_der,
        roots_der,
        time_seconds,
        webpki::KeyUsage::server_auth(),
        |error| CertError::Server(format!("not for TLS servers: {error}")),
        |_| (),
    )?;
    let leaf_certificate = CertificateDer::from(leaf_der);
    webpki::EndEntityCert::try_from(&leaf_certificate)
        .map_err(|error| CertError::Malformed(error.to_string()))?
        .verify_is_valid_for_subject_name(&server_name_pki)
        .map_err(|_| CertError::Server(format!("the certificate does not name {server_name}")))?;
    Ok(identity)
}

/// webpki's verification of the path from `leaf_der` to one of `roots_der` for `usage` at
/// `time_seconds` (signatures, validity, CA constraints, key purpose on every certificate);
/// `refused` classifies a failure, `then` reads what it needs from the verified path.
fn with_verified_path<T>(
    leaf_der: &[u8],
    intermediates_der: &[Vec<u8>],
    roots_der: &[Vec<u8>],
    time_seconds: u64,
    usage: webpki::KeyUsage,
    refused: impl Fn(&webpki::Error) -> CertError,
    then: impl FnOnce(&webpki::VerifiedPath<'_>) -> T,
) -> Result<T, CertError> {
    let roots: Vec<CertificateDer<'_>> = roots_der
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let anchors = roots
        .iter()
        .map(|root| webpki::anchor_from_trusted_cert(root))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| refused(&error))?;
    let intermediates: Vec<CertificateDer<'_>> = intermediates_der
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let leaf_certificate = CertificateDer::from(leaf_der);
    let end_entity = webpki::EndEntityCert::try_from(&leaf_certificate)
        .map_err(|error| CertError::Malformed(error.to_string()))?;
    let path = end_entity
        .verify_for_usage(
            &[webpki::ring::ED25519],
            &anchors,
            &intermediates,
            UnixTime::since_unix_epoch(Duration::from_secs(time_seconds)),
            usage,
            None,
            None,
        )
        .map_err(|error| refused(&error))?;
    Ok(then(&path))
}

/// The stable classification of a path-verification failure.
fn path_problem(error: &webpki::Error) -> CertificateProblem {
    match error {
        webpki::Error::CertExpired { .. } => CertificateProblem::Expired,
        webpki::Error::CertNotValidYet { .. } => CertificateProblem::NotYetValid,
        _ => CertificateProblem::PathInvalid,
    }
}

impl CertError {
    /// The stable classification of this error, as receipts commit it.
    pub fn problem(&self) -> CertificateProblem {
        match self {
            CertError::Chain(problem, _) => *problem,
            CertError::Hierarchy(_) | CertError::Issue(_) => CertificateProblem::Hierarchy,
            CertError::Malformed(_) | CertError::Generate(_) => CertificateProblem::Malformed,
            CertError::Server(_) => CertificateProblem::PathInvalid,
        }
    }
}

/// webpki's anchor SPKI omits the outer SEQUENCE header; compare the contents.
fn spki_matches(full_spki_der: &[u8], anchor_spki_contents: &[u8]) -> bool {
    full_spki_der.ends_with(anchor_spki_contents)
        && full_spki_der.len() <= anchor_spki_contents.len() + 4
}

/// PEM text of a DER certificate.
pub fn to_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

/// All DER certificates in PEM text (or the bytes themselves if they are DER).
pub fn certificates_from_pem_or_der(bytes: &[u8]) -> Result<Vec<Vec<u8>>, CertError> {
    if bytes.first() == Some(&0x30) {
        return Ok(vec![bytes.to_vec()]);
    }
    let blocks = pem::parse_many(bytes).map_err(|error| CertError::Malformed(error.to_string()))?;
    let certificates: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| block.into_contents())
        .collect();
    if certificates.is_empty() {
        return Err(CertError::Malformed("no PEM CERTIFICATE block".to_string()));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000;

    fn code(text: &str) -> RegionCode {
        text.parse().expect("valid region")
    }

    fn org(text: &str) -> Institution {
        text.parse().expect("valid institution")
    }

    struct Hierarchy {
        root_key: KeyPair,
        root: Vec<u8>,
        province_key: KeyPair,
        province: Vec<u8>,
        city_key: KeyPair,
        city: Vec<u8>,
    }

    fn validity() -> Validity {
        Validity::days_from(NOW - 86_400, 365)
    }

    fn hierarchy() -> Hierarchy {
        let root_key = KeyPair::from_seed([1; 32]);
        let root =
            create_root(&root_key, "National Root CA", org("root-ca"), validity()).expect("root");
        let province_key = KeyPair::from_seed([2; 32]);
        let province = issue(
            &root,
            &root_key,
            &IssueRequest {
                subject_key: province_key.public_key(),
                claims: Claims {
                    role: Role::CertificateAuthority,
                    region: code("440000"),
                    institution: org("test-org"),
                },
                common_name: "Guangdong CA",
                validity: validity(),
            },
        )
        .expect("province CA");
        let city_key = KeyPair::from_seed([3; 32]);
        let city = issue(
            &province,
            &province_key,
            &IssueRequest {
                subject_key: city_key.public_key(),
                claims: Claims {
                    role: Role::CertificateAuthority,
                    region: code("440300"),
                    institution: org("test-org"),
                },
                common_name: "Shenzhen CA",
                validity: validity(),
            },
        )
        .expect("city CA");
        Hierarchy {
            root_key,
            root,
            province_key,
            province,
            city_key,
            city,
        }
    }

    fn leaf(h: &Hierarchy, role: Role, region: &str, seed: u8) -> Vec<u8> {
        issue(
            &h.city,
            &h.city_key,
            &IssueRequest {
                subject_key: KeyPair::from_seed([seed; 32]).public_key(),
                claims: Claims {
                    role,
                    region: code(region),
                    institution: org("futian-hospital"),
                },
                common_name: "Futian Hospital",
                validity: validity(),
            },
        )
        .expect("leaf")
    }

    #[test]
    fn claims_der_round_trip() {
        let claims = Claims {
            role: Role::DataProvider,
            region: code("440304"),
            institution: org("91440300MA5DC7XX2Q"),
        };
        assert_eq!(Claims::from_der(&claims.to_der()), Ok(claims.clone()));
        let mut bad = claims.to_der();
        bad.push(0);
        assert!(Claims::from_der(&bad).is_err());
    }

    #[test]
    fn eku_der_constant_matches_oid() {
        let oid = x509_parser::oid_registry::Oid::from(&extended_key_usage_oid()[..]).expect("oid");
        assert_eq!(oid.as_bytes(), EXTENDED_KEY_USAGE_OID_DER);
    }

    #[test]
    fn four_level_chain_verifies() {
        let h = hierarchy();
        let leaf_der = leaf(&h, Role::Hospital, "440304", 9);
        let verified = verify_identity_chain(
            &leaf_der,
            &[h.city.clone(), h.province.clone()],
            std::slice::from_ref(&h.root),
            NOW as u64,
        )
        .expect("chain verifies");
        assert_eq!(verified.leaf.claims.role, Role::Hospital);
        assert_eq!(verified.leaf.claims.region, code("440304"));
        assert_eq!(verified.leaf.key, KeyPair::from_seed([9; 32]).public_key());
        assert_eq!(
            verified
                .issuers
                .iter()
                .map(|issuer| issuer.key)
                .collect::<Vec<_>>(),
            vec![
                h.city_key.public_key(),
                h.province_key.public_key(),
                h.root_key.public_key()
            ]
        );
        let parsed = parse_certificate(&leaf_der).expect("parse");
        assert_eq!(parsed.common_name, "Futian Hospital");
    }

    #[test]
    fn expired_or_not_yet_valid_is_rejected() {
        let h = hierarchy();
        let leaf_der = leaf(&h, Role::Doctor, "440304", 9);
        let chain = [h.city.clone(), h.province.clone()];
        let roots = std::slice::from_ref(&h.root);
        let late = (NOW + 400 * 86_400) as u64;
        let early = (NOW - 2 * 86_400) as u64;
        assert!(matches!(
            verify_identity_chain(&leaf_der, &chain, roots, late),
            Err(CertError::Chain(CertificateProblem::Expired, _))
        ));
        assert!(matches!(
            verify_identity_chain(&leaf_der, &chain, roots, early),
            Err(CertError::Chain(CertificateProblem::NotYetValid, _))
        ));
    }

    #[test]
    fn unknown_root_is_rejected() {
        let h = hierarchy();
        let other = create_root(
            &KeyPair::from_seed([42; 32]),
            "Rogue Root",
            org("rogue"),
            validity(),
        )
        .expect("other root");
        let leaf_der = leaf(&h, Role::Doctor, "440304", 9);
        assert!(
            verify_identity_chain(
                &leaf_der,
                &[h.city.clone(), h.province.clone()],
                &[other],
                NOW as u64
            )
            .is_err()
        );
    }

    #[test]
    fn ca_cannot_issue_outside_its_region() {
        let h = hierarchy();
        let result = issue(
            &h.city,
            &h.city_key,
            &IssueRequest {
                subject_key: KeyPair::from_seed([9; 32]).public_key(),
                claims: Claims {
                    role: Role::Hospital,
                    region: code("440104"),
                    institution: org("test-org"),
                },
                common_name: "Guangzhou hospital",
                validity: validity(),
            },
        );
        assert!(matches!(result, Err(CertError::Hierarchy(_))));
    }

    #[test]
    fn verification_enforces_the_region_rule_even_if_a_ca_ignores_it() {
        // A rogue city CA that signs outside its region with a hand-built certificate.
        let h = hierarchy();
        let params = params_for(
            &KeyPair::from_seed([7; 32]).public_key(),
            "Out-of-region hospital",
            &Claims {
                role: Role::Hospital,
                region: code("440104"),
                institution: org("rogue-hospital"),
            },
            validity(),
            &[],
        )
        .expect("params");
        let issuer = rcgen::Issuer::from_ca_cert_der(
            &CertificateDer::from(h.city.clone()),
            rcgen_key(&h.city_key).expect("key"),
        )
        .expect("issuer");
        let rogue = params
            .signed_by(&SubjectKey(vec![7; 32]), &issuer)
            .map(|certificate| certificate.der().to_vec());
        // A 32-byte string of 7s may not be a valid point; use a real key instead if so.
        let rogue = match rogue {
            Ok(der) if parse_certificate(&der).is_ok() => der,
            _ => params
                .signed_by(
                    &SubjectKey(KeyPair::from_seed([7; 32]).public_key().0.to_vec()),
                    &issuer,
                )
                .expect("signed")
                .der()
                .to_vec(),
        };
        let result = verify_identity_chain(
            &rogue,
            &[h.city.clone(), h.province.clone()],
            std::slice::from_ref(&h.root),
            NOW as u64,
        );
        assert!(matches!(result, Err(CertError::Hierarchy(_))), "{result:?}");
    }

    #[test]
    fn ca_certificate_cannot_enrol_as_identity() {
        let h = hierarchy();
        let result = verify_identity_chain(
            &h.city,
            std::slice::from_ref(&h.province),
            std::slice::from_ref(&h.root),
            NOW as u64,
        );
        assert!(result.is_err());
    }

    #[test]
    fn city_ca_cannot_create_subordinate_ca() {
        let h = hierarchy();
        let result = issue(
            &h.city,
            &h.city_key,
            &IssueRequest {
                subject_key: KeyPair::from_seed([9; 32]).public_key(),
                claims: Claims {
                    role: Role::CertificateAuthority,
                    region: code("440304"),
                    institution: org("test-org"),
                },
                common_name: "District CA",
                validity: validity(),
            },
        );
        assert!(result.is_err());
        let _ = &h.province_key;
    }

    #[test]
    fn pem_round_trip() {
        let h = hierarchy();
        let text = format!("{}{}", to_pem(&h.city), to_pem(&h.root));
        let parsed = certificates_from_pem_or_der(text.as_bytes()).expect("pem");
        assert_eq!(parsed, vec![h.city.clone(), h.root.clone()]);
        assert_eq!(
            certificates_from_pem_or_der(&h.root).expect("der"),
            vec![h.root.clone()]
        );
        assert!(certificates_from_pem_or_der(b"junk").is_err());
    }

    fn server_certificate(h: &Hierarchy, role: Role, names: &[&str]) -> Result<Vec<u8>, CertError> {
        let names: Vec<ServerName> = names
            .iter()
            .map(|name| name.parse().expect("name"))
            .collect();
        issue_server(
            &h.city,
            &h.city_key,
            &IssueRequest {
                subject_key: KeyPair::from_seed([7; 32]).public_key(),
                claims: Claims {
                    role,
                    region: code("440300"),
                    institution: org("shenzhen-cdc"),
                },
                common_name: "Shenzhen replica",
                validity: validity(),
            },
            &names,
        )
    }

    fn verify_server(
        h: &Hierarchy,
        leaf: &[u8],
        name: &str,
    ) -> Result<VerifiedIdentity, CertError> {
        verify_node_certificate(
            leaf,
            &[h.city.clone(), h.province.clone()],
            std::slice::from_ref(&h.root),
            &name.parse().expect("name"),
            NOW as u64,
        )
    }

    #[test]
    fn a_node_tls_certificate_verifies_for_the_names_it_carries_only() {
        let h = hierarchy();
        let leaf = server_certificate(&h, Role::Validator, &["127.0.0.1", "Node1.CDC.example"])
            .expect("issued");
        for name in ["127.0.0.1", "node1.cdc.example"] {
            let node = verify_server(&h, &leaf, name).expect("verifies");
            assert_eq!(node.leaf.key, KeyPair::from_seed([7; 32]).public_key());
        }
        for name in ["127.0.0.2", "node2.cdc.example", "::1"] {
            assert!(matches!(
                verify_server(&h, &leaf, name),
                Err(CertError::Server(_))
            ));
        }
        // It is also an identity under the hierarchy, and only within its validity.
        assert!(
            verify_identity_chain(
                &leaf,
                &[h.city.clone(), h.province.clone()],
                std::slice::from_ref(&h.root),
                NOW as u64
            )
            .is_ok()
        );
        let late = verify_node_certificate(
            &leaf,
            &[h.city.clone(), h.province.clone()],
            std::slice::from_ref(&h.root),
            &"127.0.0.1".parse().expect("name"),
            (NOW + 400 * 86_400) as u64,
        );
        assert_eq!(
            late.map_err(|error| error.problem()).err(),
            Some(CertificateProblem::Expired)
        );
    }

    #[test]
    fn only_nodes_get_and_pass_as_tls_servers() {
        let h = hierarchy();
        assert!(matches!(
            server_certificate(&h, Role::Hospital, &["127.0.0.1"]),
            Err(CertError::Issue(_))
        ));
        assert!(matches!(
            server_certificate(&h, Role::Validator, &[]),
            Err(CertError::Issue(_))
        ));
        assert!("not a name!".parse::<ServerName>().is_err());
        // An identity certificate (no names, no server purpose) is not a TLS server's.
        let identity = leaf(&h, Role::Validator, "440304", 8);
        assert!(matches!(
            verify_server(&h, &identity, "127.0.0.1"),
            Err(CertError::Server(_))
        ));
        let hospital = leaf(&h, Role::Hospital, "440304", 9);
        assert!(matches!(
            verify_server(&h, &hospital, "127.0.0.1"),
            Err(CertError::Server(_))
        ));
        // A chain to another root is not trusted.
        let other_key = KeyPair::from_seed([42; 32]);
        let other =
            create_root(&other_key, "Other Root", org("root-ca"), validity()).expect("root");
        let leaf = server_certificate(&h, Role::Validator, &["127.0.0.1"]).expect("issued");
        assert!(
            verify_node_certificate(
                &leaf,
                &[h.city.clone(), h.province.clone()],
                &[other],
                &"127.0.0.1".parse().expect("name"),
                NOW as u64,
            )
            .is_err()
        );
    }
}
