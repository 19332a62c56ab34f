//! The escrow key, disclosure grants, and the sealed decryption shares posted for a grantee.

use epichain_core::disclosure::{Audience, GrantScope, RecordVersion};
use epichain_core::{Hash, PublicKey, RegionCode, Role};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most grants in one listing.
pub const GRANTS_LIST_MAX: usize = 1_000;

/// Most postings of one holder in one answer (each is at most 48 KiB of sealed shares).
pub const POSTINGS_PAGE_MAX: u32 = 16;

/// Where the escrow key stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscrowState {
    /// The chain has no escrow holders.
    None,
    /// The holders are generating the key.
    Generating,
    /// The key is generated: details can be sealed to it.
    Ready,
}

/// One holder's dealing in the key generation, in brief.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DealingSummary {
    /// Dealer.
    #[schema(value_type = String)]
    pub dealer: PublicKey,
    /// Height of the deal.
    pub height: u64,
    /// Acknowledgements received.
    pub acks: usize,
    /// True once the dealer posted its log.
    pub logged: bool,
}

/// The escrow key: holders, threshold and public sharing once generated, the dealings while the
/// holders generate it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EscrowView {
    /// None, generating or ready.
    pub status: EscrowState,
    /// The holders (the genesis validators).
    #[schema(value_type = Vec<String>)]
    pub holders: Vec<PublicKey>,
    /// Partial decryptions a release needs.
    pub threshold: u32,
    /// The public sharing (hex), once generated.
    pub sharing: Option<String>,
    /// Height at which the key was generated.
    pub generated_height: Option<u64>,
    /// Dealers whose logs make up the key.
    #[schema(value_type = Option<Vec<String>>)]
    pub dealers: Option<Vec<PublicKey>>,
    /// Dealings so far.
    pub dealings: Vec<DealingSummary>,
}

impl EscrowView {
    /// The public sharing's bytes, once generated.
    pub fn sharing_bytes(&self) -> Option<Vec<u8>> {
        hex::decode(self.sharing.as_deref()?).ok()
    }
}

/// Why a grant exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GrantSource {
    /// A signal's final confirmation as an outbreak.
    Outbreak {
        /// The signal.
        #[schema(value_type = String)]
        signal: Hash,
    },
    /// A governance proposal.
    Governance {
        /// Its sequence number.
        sequence: u64,
    },
}

/// A grant's status at the latest block's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Shares may still be posted.
    Open,
    /// Past its expiry.
    Expired,
    /// Revoked by governance.
    Revoked,
}

impl GrantStatus {
    /// The name the API uses (`open`, `expired`, `revoked`: its serde names).
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Open => "open",
            GrantStatus::Expired => "expired",
            GrantStatus::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for GrantStatus {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            GrantStatus::Open,
            GrantStatus::Expired,
            GrantStatus::Revoked,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| format!("{text:?} is not open, expired or revoked"))
    }
}

impl std::fmt::Display for GrantStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A disclosure grant: which records, to whom, until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GrantView {
    /// Grant id.
    #[schema(value_type = String)]
    pub id: Hash,
    /// Why.
    pub source: GrantSource,
    /// The records: disease, region, first and last report day.
    #[schema(value_type = Object)]
    pub scope: GrantScope,
    /// The grantees: neighbouring and parent regions.
    #[schema(value_type = Object)]
    pub audience: Audience,
    /// Why (a code, e.g. `outbreak-response`).
    #[schema(value_type = String)]
    pub purpose: epichain_core::disclosure::GrantPurpose,
    /// A governance request's words, sealed to national authorities (hex envelope; empty: none).
    #[serde(with = "epichain_core::encoding::hex_bytes")]
    #[schema(value_type = String)]
    pub sealed_note: Vec<u8>,
    /// Height of creation.
    pub created_height: u64,
    /// Time of creation, Unix milliseconds.
    pub created_time_ms: u64,
    /// Shares are accepted until this time, Unix milliseconds.
    pub expires_time_ms: u64,
    /// Height of revocation, if revoked.
    pub revoked_height: Option<u64>,
    /// Open, expired or revoked.
    pub status: GrantStatus,
}

/// Filters of the grant listing.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
pub struct GrantQuery {
    /// Status.
    #[param(inline)]
    pub status: Option<GrantStatus>,
    /// Only grants covering this case (hex id).
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub case: Option<String>,
    /// Most results (default 100, at most 1,000).
    pub limit: Option<usize>,
    /// Continue after this entry (from the previous page's `Link` header).
    #[param(pattern = "^[0-9]+-[0-9a-fA-F]{64}$")]
    pub cursor: Option<String>,
}

/// How far one holder got with one grantee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HolderTally {
    /// The holder.
    #[schema(value_type = String)]
    pub holder: PublicKey,
    /// Record versions shared.
    pub records: u32,
    /// Postings made.
    pub postings: u32,
}

/// One grantee of a grant and the holders that posted shares for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GranteeView {
    /// The grantee.
    #[schema(value_type = String)]
    pub grantee: PublicKey,
    /// Its name, if enrolled.
    pub name: Option<String>,
    /// Its role.
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Its region.
    #[schema(value_type = Option<String>)]
    pub region: Option<RegionCode>,
    /// Holders that posted shares for it.
    pub holders: Vec<HolderTally>,
}

/// One grant with its grantees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GrantDetail {
    /// The grant.
    pub grant: GrantView,
    /// Its grantees.
    pub grantees: Vec<GranteeView>,
}

/// One posting of decryption shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostingView {
    /// The records whose partials are inside.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<RecordVersion>,
    /// Partials sealed to the grantee (hex).
    pub sealed: String,
    /// Height.
    pub height: u64,
}

/// One holder's postings in an answer, with where to continue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HolderPostings {
    /// The holder.
    #[schema(value_type = String)]
    pub holder: PublicKey,
    /// Its postings from `from`.
    pub batches: Vec<PostingView>,
    /// The `from` of the next page, if there is one.
    pub next: Option<u32>,
}

/// Which postings to return.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
pub struct SharesQuery {
    /// Only this holder's postings (hex key).
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub holder: Option<String>,
    /// From this posting number (default 0).
    pub from: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::GrantStatus;

    #[test]
    fn grant_status_names_are_its_wire_names_and_parse_back() {
        for status in [
            GrantStatus::Open,
            GrantStatus::Expired,
            GrantStatus::Revoked,
        ] {
            let wire = serde_json::to_string(&status).expect("json");
            assert_eq!(wire, format!("\"{status}\""));
            assert_eq!(status.as_str().parse::<GrantStatus>(), Ok(status));
        }
        assert!("closed".parse::<GrantStatus>().is_err());
    }
}
