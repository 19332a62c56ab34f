//! The k-of-n escrow and outbreak disclosure: the messages escrow holders exchange on chain to
//! generate the escrow key, the grants that open sealed records to neighbouring regions, and the
//! decryption shares holders post (each sealed to one grantee).
//!
//! The cryptography lives with the threshold primitives (`epichain-ledger::escrow`); here are
//! the payloads, opaque where the scheme decides the bytes.

use crate::calendar::Day;
use crate::disease::DiseaseCode;
use crate::encoding::{Hash, hash_tagged_parts};
use crate::keys::PublicKey;
use crate::region::{RegionCode, RegionSet};
use crate::role::Role;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Most bytes of one opaque escrow message (commitments for up to 64 holders fit).
pub const ESCROW_MESSAGE_BYTES_MAX: usize = 32 * 1024;

/// Most records in one decryption-share transaction.
pub const SHARED_RECORDS_MAX: usize = 400;

/// Days a grant created by a confirmed outbreak stays open.
pub const OUTBREAK_GRANT_DAYS: u32 = 30;

/// Days before the signal's period a grant created by a confirmed outbreak reaches back
/// (covers the incubation period and the reports that raised the signal).
pub const OUTBREAK_LOOKBACK_DAYS: u32 = 21;

/// Roles that receive a disclosure in the neighbouring regions: the medical institutions and the
/// authorities.
pub const GRANTEE_ROLES: [Role; 3] = [Role::Hospital, Role::Lab, Role::Authority];

/// One share of a dealing, sealed (HPKE) to its player's encryption key.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SealedDealing {
    /// The receiving holder.
    pub player: PublicKey,
    /// HPKE-sealed private dealing.
    #[serde(with = "crate::encoding::hex_bytes")]
    pub sealed: Vec<u8>,
}

/// A message of the escrow key generation (Joint-Feldman DKG among the holders).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EscrowMessage {
    /// A holder deals: its public commitment and one sealed share per holder.
    Deal {
        /// The dealer's public commitment (scheme bytes).
        #[serde(with = "crate::encoding::hex_bytes")]
        public: Vec<u8>,
        /// The shares, one per holder.
        shares: Vec<SealedDealing>,
    },
    /// A holder acknowledges the valid share it received from `dealer`.
    Ack {
        /// The dealer.
        dealer: PublicKey,
        /// The signed acknowledgement (scheme bytes).
        #[serde(with = "crate::encoding::hex_bytes")]
        ack: Vec<u8>,
    },
    /// A dealer closes its dealing: its signed log (commitment, acknowledgements, and the shares
    /// of holders that did not acknowledge, revealed).
    Log {
        /// The signed log (scheme bytes).
        #[serde(with = "crate::encoding::hex_bytes")]
        log: Vec<u8>,
    },
}

/// What a grant discloses: the sealed records of one disease in one region reported in a window.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GrantScope {
    /// Disease.
    pub disease: DiseaseCode,
    /// The outbreak's region (any level): records within it are covered.
    pub region: RegionCode,
    /// First report day covered.
    pub first_day: Day,
    /// Last report day covered.
    pub last_day: Day,
}

impl GrantScope {
    /// True if a record with these public fields is covered.
    pub fn covers(&self, disease: &DiseaseCode, region: RegionCode, report_day: Day) -> bool {
        *disease == self.disease
            && region.is_within(self.region)
            && report_day >= self.first_day
            && report_day <= self.last_day
    }

    /// The regions whose institutions and authorities receive the records: the neighbours of the
    /// outbreak's region (anything within them), and the authorities of its parent levels.
    pub fn audience(&self, regions: &RegionSet) -> Audience {
        Audience {
            neighbours: regions.neighbours(self.region),
            parents: self.region.lineage().skip(1).collect(),
        }
    }
}

/// Who a grant discloses to.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Audience {
    /// Neighbouring regions: hospitals, labs and authorities within them.
    pub neighbours: Vec<RegionCode>,
    /// Parent regions: their authorities.
    pub parents: Vec<RegionCode>,
}

impl Audience {
    /// True if a grant with this audience, opened at `opened_height`, admits an identity with
    /// `role` in `region` whose claims hold since `claims_since_height` (review M12: the
    /// audience is fixed when the grant opens; the ledger, the escrow agents and the client all
    /// ask this).
    pub fn admits(
        &self,
        opened_height: u64,
        role: Role,
        region: RegionCode,
        claims_since_height: u64,
    ) -> bool {
        self.includes(role, region) && claims_since_height < opened_height
    }

    /// True if an identity with `role` in `region` is a grantee.
    pub fn includes(&self, role: Role, region: RegionCode) -> bool {
        (GRANTEE_ROLES.contains(&role)
            && self
                .neighbours
                .iter()
                .any(|neighbour| region.is_within(*neighbour)))
            || (role == Role::Authority && self.parents.contains(&region))
    }
}

crate::coded::coded_enum! {
    /// Why a grant opens: a code, never free text on the public chain (review M14).
    pub enum GrantPurpose("grant purpose") {
        /// A confirmed outbreak (the grants the warning workflow opens).
        OutbreakResponse = 0 => "outbreak-response",
        /// Tracing the contacts of the records' cases.
        ContactTracing = 1 => "contact-tracing",
        /// An investigation across regions.
        CrossRegionalInvestigation = 2 => "cross-regional-investigation",
        /// An audit of the records.
        Audit = 3 => "audit",
        /// A legal order.
        LegalOrder = 4 => "legal-order",
    }
}

/// Largest sealed note on a governance grant, bytes.
pub const GRANT_NOTE_SEALED_BYTES_MAX: usize = 4 * 1024;

/// A governance request for a disclosure grant.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GrantRequest {
    /// What is disclosed.
    pub scope: GrantScope,
    /// Days the grant stays open.
    pub valid_days: u32,
    /// Why.
    pub purpose: GrantPurpose,
    /// The request's words, sealed to national authorities (empty: none); see
    /// [`crate::sealed::note_binding`].
    #[serde(with = "crate::encoding::hex_bytes")]
    pub sealed_note: Vec<u8>,
}

/// One record's partial decryption, as sealed inside [`DecryptionShares`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PartialDecryption {
    /// Case.
    pub case_id: Hash,
    /// Version whose sealed details it opens.
    pub version: u32,
    /// The holder's partial decryption (scheme bytes).
    #[serde(with = "crate::encoding::hex_bytes")]
    pub partial: Vec<u8>,
}

/// A record named (in clear) by a decryption-share transaction.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct RecordVersion {
    /// Case.
    pub case_id: Hash,
    /// Version.
    pub version: u32,
}

/// An escrow holder's partial decryptions of granted records for one grantee, sealed to the
/// grantee's encryption key: nobody else learns them.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DecryptionShares {
    /// The grant.
    pub grant: Hash,
    /// The grantee.
    pub grantee: PublicKey,
    /// The records whose partials are inside (public: the ledger checks the grant covers them).
    pub records: Vec<RecordVersion>,
    /// HPKE-sealed `Vec<PartialDecryption>` (binding: [`shares_binding`]).
    #[serde(with = "crate::encoding::hex_bytes")]
    pub sealed: Vec<u8>,
}

/// The associated data of sealed decryption shares: the chain, the grant, the grantee and the
/// holder, so shares cannot be replayed to another grantee.
pub fn shares_binding(
    chain_id: &Hash,
    grant: &Hash,
    grantee: &PublicKey,
    holder: &PublicKey,
) -> Vec<u8> {
    hash_tagged_parts(
        "epichain/v1/decryption-shares",
        &[&chain_id.0, &grant.0, &grantee.0, &holder.0],
    )
    .0
    .to_vec()
}

/// The associated data of a sealed dealing.
pub fn dealing_binding(chain_id: &Hash, dealer: &PublicKey, player: &PublicKey) -> Vec<u8> {
    hash_tagged_parts(
        "epichain/v1/escrow-dealing",
        &[&chain_id.0, &dealer.0, &player.0],
    )
    .0
    .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_is_neighbouring_institutions_and_parent_authorities() {
        let regions = RegionSet::shipped_guangdong().expect("regions");
        let futian: RegionCode = "440304".parse().expect("code");
        let scope = GrantScope {
            disease: DiseaseCode::new("DENGUE").expect("code"),
            region: futian,
            first_day: Day(100),
            last_day: Day(120),
        };
        let audience = scope.audience(&regions);
        let nanshan: RegionCode = "440305".parse().expect("code");
        assert!(regions.are_adjacent(futian, nanshan));
        assert!(audience.includes(Role::Hospital, nanshan));
        assert!(audience.includes(Role::Authority, nanshan));
        assert!(!audience.includes(Role::Patient, nanshan));
        assert!(!audience.includes(Role::Doctor, nanshan));
        // Parent authorities, not parent hospitals.
        let shenzhen: RegionCode = "440300".parse().expect("code");
        assert!(audience.includes(Role::Authority, shenzhen));
        assert!(audience.includes(Role::Authority, RegionCode::NATIONAL));
        assert!(!audience.includes(Role::Hospital, shenzhen));
        // A district far away and the outbreak district's own hospitals are not in it.
        let yuexiu: RegionCode = "440104".parse().expect("code");
        assert!(!audience.includes(Role::Hospital, yuexiu));
        assert!(!audience.includes(Role::Authority, yuexiu));
        // Fixed when the grant opens: claims held since before its height, not from it on.
        assert!(audience.admits(10, Role::Hospital, nanshan, 9));
        assert!(!audience.admits(10, Role::Hospital, nanshan, 10));
        assert!(!audience.admits(10, Role::Hospital, yuexiu, 0));
        assert!(!audience.includes(Role::Hospital, futian));
        // Coverage.
        assert!(scope.covers(&scope.disease, futian, Day(110)));
        assert!(!scope.covers(&scope.disease, futian, Day(121)));
        assert!(!scope.covers(&scope.disease, nanshan, Day(110)));
        assert!(!scope.covers(&DiseaseCode::new("HFMD").expect("code"), futian, Day(110)));
    }
}
