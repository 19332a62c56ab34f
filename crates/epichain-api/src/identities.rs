//! Enrolled identities and whom a reporter seals details to.

use epichain_core::transaction::RevocationReason;
use epichain_core::{Hash, Institution, PublicKey, RegionCode, Role};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most identities in one answer.
pub const IDENTITIES_PAGE_MAX: usize = 1_000;

/// A revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevocationView {
    /// Height of the revoking block.
    pub height: u64,
    /// Who revoked.
    #[schema(value_type = String)]
    pub by: PublicKey,
    /// Why (`key-compromise`, `left-service`, …).
    #[schema(value_type = String)]
    pub reason: RevocationReason,
}

/// An enrolled identity with its published encryption key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdentityView {
    /// The key.
    #[schema(value_type = String)]
    pub key: PublicKey,
    /// Role from the certificate.
    #[schema(value_type = String)]
    pub role: Role,
    /// Home region from the certificate.
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// The organisation the key acts for, from the certificate.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9.-]{1,64}$")]
    pub institution: Institution,
    /// Subject common name.
    pub name: String,
    /// Hash of the leaf certificate.
    #[schema(value_type = String)]
    pub certificate: Hash,
    /// Keys of the issuing CAs, leaf's issuer first, root last.
    #[schema(value_type = Vec<String>)]
    pub issuer_keys: Vec<PublicKey>,
    /// Chain validity window, Unix seconds.
    pub valid_from_seconds: i64,
    /// Chain validity window, Unix seconds.
    pub valid_until_seconds: i64,
    /// Height of (re-)enrolment.
    pub enrolled_height: u64,
    /// Height since which the role, region and institution are what they are (a grant admits
    /// only identities whose claims predate it).
    pub claims_since_height: u64,
    /// Last nonce used.
    pub nonce: u64,
    /// Set once revoked.
    pub revoked: Option<RevocationView>,
    /// Published X25519 encryption key (hex), if any.
    pub encryption_key: Option<String>,
}

impl IdentityView {
    /// The published encryption key's bytes, if any.
    pub fn encryption_key_bytes(&self) -> Option<[u8; 32]> {
        let bytes = hex::decode(self.encryption_key.as_deref()?).ok()?;
        bytes.try_into().ok()
    }
}

/// Which identities to list.
#[derive(Clone, Debug, Serialize, Deserialize, IntoParams)]
pub struct IdentityQuery {
    /// Role, e.g. `authority`.
    #[param(
        pattern = "^(patient|doctor|hospital|lab|pharmacy|device|data-provider|authority|validator|certificate-authority)$"
    )]
    pub role: String,
    /// Home region (exactly), e.g. 440304.
    #[param(pattern = "^[0-9]{6}$")]
    pub region: String,
    /// Continue after this key (from the previous page's `Link` header).
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub after: Option<String>,
}
