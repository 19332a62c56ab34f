//! The authenticated state: its keys, its records, and how a key maps into the Merkle tree.
//! Defined here, below the ledger, so that a verifier of proofs (`epichain-verify`) can decode
//! records without the ledger's storage.

use crate::case::{CaseChange, CaseReport};
use crate::disclosure::{Audience, GrantPurpose, GrantScope, RecordVersion, SealedDealing};
use crate::encoding::{self, DecodeError, Hash, hash_tagged, hash_value, tag};
use crate::pseudonym::PseudonymScope;
use crate::sealed::EncryptionPublicKey;
use crate::transaction::RevocationReason;
use crate::warning::{Period, SignalOutcome, Step, StepFinding, WarningRule};
use crate::{
    CaseStatus, Catalogue, Day, DiseaseCode, Genesis, GovernanceAction, Institution, Level,
    Outcome, PatientRef, PublicKey, RegionCode, RegionSet, Role, Sex,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;

/// A key of the authenticated state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub enum StateKey {
    /// Chain configuration (catalogue, regions, roots, governance).
    Config,
    /// An enrolled identity.
    Identity(PublicKey),
    /// A revoked key (identity or CA).
    Revocation(PublicKey),
    /// A certificate authority seen in an enrolled chain.
    CertificateAuthority(PublicKey),
    /// A certificate by content hash.
    Certificate(Hash),
    /// The current head of a case record.
    Case(Hash),
    /// Case counts of one disease in one region (any level) on one day.
    Count(CountKey),
    /// An early-warning signal.
    Signal(Hash),
    /// An identity's X25519 encryption key.
    EncryptionKey(PublicKey),
    /// An escrow holder's dealing in the escrow key generation.
    EscrowDealing(PublicKey),
    /// The generated escrow key (public sharing).
    EscrowKey,
    /// A disclosure grant.
    Grant(Hash),
    /// How many postings one holder made for one grantee of one grant.
    Disclosure(DisclosureKey),
    /// One posting of decryption shares.
    DisclosurePosting(PostingKey),
    /// A record version a holder shared with a grantee (each is shared once).
    DisclosureShared(SharedKey),
    /// A pseudonym scope: its key, its evaluator and its unanswered requests.
    PseudonymScope(PseudonymScope),
    /// A pseudonym request and its answer.
    PseudonymRequest(Hash),
    /// Elements an institution had evaluated on one day.
    PseudonymQuota(PseudonymQuotaKey),
}

/// An institution's pseudonym evaluations on one (block) day.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct PseudonymQuotaKey {
    /// The requesting institution.
    pub institution: Institution,
    /// The day.
    pub day: Day,
}

/// Elements an institution had evaluated on one day.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize,
)]
pub struct PseudonymQuota(pub u32);

/// Most unanswered requests a scope holds.
pub const PSEUDONYM_PENDING_MAX: usize = 256;

/// Most elements one institution may have evaluated per day (review H4: a dictionary through the
/// CDC takes years for one county, and every request is on chain).
pub const PSEUDONYM_ELEMENTS_PER_INSTITUTION_DAY_MAX: u32 = 2_000;

/// A pseudonym scope as published.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct PseudonymScopeRecord {
    /// The scope.
    pub scope: PseudonymScope,
    /// Its public key.
    pub public_key: [u8; 32],
    /// Who published it and answers its requests.
    pub evaluator: PublicKey,
    /// When it was published (or last rotated).
    pub published_height: u64,
    /// Unanswered requests, oldest first (at most [`PSEUDONYM_PENDING_MAX`]).
    pub pending: Vec<Hash>,
}

/// A CDC's answer to a pseudonym request.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct PseudonymAnswer {
    /// Evaluated elements, in the request's order.
    pub evaluated: Vec<[u8; 32]>,
    /// The batch proof.
    pub proof: Vec<u8>,
    /// The key the proof is against (the scope's at the time).
    pub public_key: [u8; 32],
    /// Who answered.
    pub by: PublicKey,
    /// When.
    pub height: u64,
}

/// A reporting site's pseudonym request: on chain, so every evaluation is audited.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct PseudonymRequestRecord {
    /// The request's transaction id.
    pub id: Hash,
    /// The scope.
    pub scope: PseudonymScope,
    /// Who asked.
    pub requester: PublicKey,
    /// For which institution (the quota's).
    pub institution: Institution,
    /// Blinded elements.
    pub blinded: Vec<[u8; 32]>,
    /// When.
    pub height: u64,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// The CDC's answer, once posted.
    pub answer: Option<PseudonymAnswer>,
}

/// One posting of a holder for a grantee of a grant, numbered from 0.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct PostingKey {
    /// Whose postings.
    pub disclosure: DisclosureKey,
    /// Its number.
    pub sequence: u32,
}

/// A record version within a holder's postings for a grantee of a grant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct SharedKey {
    /// Whose postings.
    pub disclosure: DisclosureKey,
    /// The record version.
    pub record: RecordVersion,
}

/// Whose decryption shares for which grant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct DisclosureKey {
    /// Grant.
    pub grant: Hash,
    /// Grantee.
    pub grantee: PublicKey,
    /// Escrow holder.
    pub holder: PublicKey,
}

/// A holder's acknowledgement of a dealing.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct DealingAck {
    /// The acknowledging holder.
    pub player: PublicKey,
    /// Signed acknowledgement (scheme bytes).
    #[serde(with = "crate::encoding::hex_bytes")]
    pub ack: Vec<u8>,
}

/// One holder's dealing in the escrow key generation, as it progresses on chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct DealingRecord {
    /// Dealer.
    pub dealer: PublicKey,
    /// Public commitment (scheme bytes).
    #[serde(with = "crate::encoding::hex_bytes")]
    pub public: Vec<u8>,
    /// Shares sealed to each holder.
    pub shares: Vec<SealedDealing>,
    /// Height of the deal.
    pub height: u64,
    /// Acknowledgements, in order of arrival.
    pub acks: Vec<DealingAck>,
    /// The dealer's signed log, once posted.
    #[serde(with = "crate::encoding::hex_bytes")]
    pub log: Vec<u8>,
    /// Height of the log.
    pub log_height: Option<u64>,
}

/// The escrow key: its public sharing (group key and per-holder commitments).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct EscrowKeyRecord {
    /// Public sharing (scheme bytes).
    #[serde(with = "crate::encoding::hex_bytes")]
    pub sharing: Vec<u8>,
    /// Partial decryptions needed to release a data key.
    pub threshold: u32,
    /// The holders, in the scheme's order (share index = position).
    pub holders: Vec<PublicKey>,
    /// Dealers whose logs make up the key.
    pub dealers: Vec<PublicKey>,
    /// Height at which the key was generated.
    pub height: u64,
}

/// Why a grant exists.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GrantSource {
    /// A signal's final confirmation as an outbreak.
    Outbreak {
        /// The signal.
        signal: Hash,
    },
    /// A governance proposal.
    Governance {
        /// Its sequence number.
        sequence: u64,
    },
}

/// A disclosure grant: which records, to whom, until when.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct GrantRecord {
    /// Grant id.
    pub id: Hash,
    /// Why.
    pub source: GrantSource,
    /// The records.
    pub scope: GrantScope,
    /// The grantees.
    pub audience: Audience,
    /// Why (a code).
    pub purpose: GrantPurpose,
    /// A governance request's words, sealed to national authorities (empty: none).
    pub sealed_note: Vec<u8>,
    /// Height of creation.
    pub created_height: u64,
    /// Time of creation, Unix milliseconds.
    pub created_time_ms: u64,
    /// Shares are accepted until this time, Unix milliseconds.
    pub expires_time_ms: u64,
    /// Height of revocation, if revoked.
    pub revoked_height: Option<u64>,
}

impl GrantRecord {
    /// True if the identity is a grantee: in the audience, with claims held since before the
    /// grant opened (review M12: the audience is fixed when the grant opens).
    pub fn admits(&self, identity: &IdentityRecord) -> bool {
        self.audience.admits(
            self.created_height,
            identity.role,
            identity.region,
            identity.claims_since_height,
        )
    }

    /// True if decryption shares may still be posted at `time_ms`.
    pub fn is_open(&self, time_ms: u64) -> bool {
        self.revoked_height.is_none() && time_ms < self.expires_time_ms
    }
}

/// One posting of decryption shares.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct DisclosureBatch {
    /// The records whose partials are inside.
    pub records: Vec<RecordVersion>,
    /// Partials sealed to the grantee.
    #[serde(with = "crate::encoding::hex_bytes")]
    pub sealed: Vec<u8>,
    /// Height.
    pub height: u64,
}

/// How far one holder got with one grantee of one grant. Each posting and each record version
/// shared has its own key, so no value grows with an outbreak (review C1).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize,
)]
pub struct DisclosureTally {
    /// Postings made: [`PostingKey`] sequences `0..postings`.
    pub postings: u32,
    /// Record versions shared in them.
    pub records: u32,
}

/// Which posting shared a record version.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize,
)]
pub struct SharedRecord {
    /// The posting's sequence.
    pub posting: u32,
}

/// Which date a count is by.
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
)]
#[serde(rename_all = "snake_case")]
pub enum CountBasis {
    /// The day the case was reported (block day): what detection runs on.
    Report,
    /// The day of symptom onset (epidemic curves).
    Onset,
}

/// The key of a daily count.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct CountKey {
    /// Disease.
    pub disease: DiseaseCode,
    /// Region at any of the four levels.
    pub region: RegionCode,
    /// Report or onset date.
    pub basis: CountBasis,
    /// The day.
    pub day: Day,
}

/// Cases counted by current status (excluded cases are not counted).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize,
)]
pub struct StatusCounts {
    /// Suspected.
    pub suspected: u32,
    /// Clinically diagnosed.
    pub clinical: u32,
    /// Laboratory-confirmed (and counts imported from the legacy system).
    pub confirmed: u32,
}

impl StatusCounts {
    /// All counted cases.
    pub fn total(&self) -> u32 {
        self.suspected
            .saturating_add(self.clinical)
            .saturating_add(self.confirmed)
    }

    /// Adds `delta` (±1 or an imported count) to the bucket of `status`; excluded cases are not
    /// counted.
    pub fn adjust(&mut self, status: CaseStatus, delta: i64) {
        let bucket = match status {
            CaseStatus::Suspected => &mut self.suspected,
            CaseStatus::ClinicallyDiagnosed => &mut self.clinical,
            CaseStatus::LabConfirmed => &mut self.confirmed,
            CaseStatus::Excluded => return,
        };
        let adjusted = i64::from(*bucket) + delta;
        // A case leaves only the bucket it was counted in: a count below zero is a broken
        // invariant (a status change the counts missed).
        debug_assert!(adjusted >= 0, "count of {status} went below zero");
        *bucket = adjusted.clamp(0, i64::from(u32::MAX)) as u32;
    }
}

/// Where a signal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignalStatus {
    /// Open: steps under way.
    Open,
    /// Final confirmation: an outbreak.
    ConfirmedOutbreak,
    /// Final confirmation: dismissed.
    Dismissed,
}

/// A workflow step as recorded.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct StepRecord {
    /// Which step.
    pub step: Step,
    /// Who took it.
    pub by: PublicKey,
    /// Block height.
    pub height: u64,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// Decision, for a final confirmation.
    pub outcome: Option<SignalOutcome>,
    /// What the step found (a code).
    pub finding: StepFinding,
    /// The step's words, sealed to the authorities over the signal's region (empty: none).
    pub sealed_note: Vec<u8>,
}

/// Most cases listed on one signal.
pub const SIGNAL_CASES_MAX: usize = 1_000;

/// An early-warning signal: the series, method and numbers that raised it, the cases behind
/// it, and its workflow.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct SignalRecord {
    /// Signal id.
    pub id: Hash,
    /// Disease.
    pub disease: DiseaseCode,
    /// Region of the series.
    pub region: RegionCode,
    /// Its level.
    pub level: Level,
    /// Method that raised it.
    pub method: String,
    /// Daily or weekly.
    pub period: Period,
    /// Day (daily) or week number (weekly) the signal is about.
    pub period_index: u32,
    /// The method's statistic (the window or period count), as f64 bits.
    pub statistic_bits: u64,
    /// The threshold it exceeded (upper bound), as f64 bits.
    pub threshold_bits: u64,
    /// Cases reported in the series while the signal was open (at most [`SIGNAL_CASES_MAX`]).
    pub cases: Vec<Hash>,
    /// Block that opened it.
    pub opened_height: u64,
    /// Its time, Unix milliseconds.
    pub opened_time_ms: u64,
    /// Steps required before the final confirmation.
    pub required_steps: Vec<Step>,
    /// Steps taken, in order.
    pub steps: Vec<StepRecord>,
    /// Status.
    pub status: SignalStatus,
}

impl SignalRecord {
    /// The statistic.
    pub fn statistic(&self) -> f64 {
        f64::from_bits(self.statistic_bits)
    }

    /// The threshold.
    pub fn threshold(&self) -> f64 {
        f64::from_bits(self.threshold_bits)
    }
}

impl StateKey {
    /// Position of this key in the Merkle tree: a domain-tagged hash of its encoding.
    pub fn tree_key(&self) -> [u8; 32] {
        hash_tagged(tag::STATE_KEY, &encoding::encode(self)).0
    }

    /// Key of the value in the store's state table: the key's own encoding, so related keys
    /// sit together (a reporter's cases, a disease's counts) and a block's writes mostly
    /// append instead of landing on a random page each.
    pub fn table_key(&self) -> Vec<u8> {
        encoding::encode(self)
    }
}

/// Chain configuration: genesis settings as changed by governance.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainConfig {
    /// Chain id (genesis hash).
    pub chain_id: Hash,
    /// Chain name.
    pub chain_name: String,
    /// Trusted root CA certificates (DER).
    pub root_certificates: Vec<Vec<u8>>,
    /// Notifiable-disease catalogue.
    pub catalogue: Catalogue,
    /// Regions and adjacency.
    pub regions: RegionSet,
    /// Approver institutions a governance proposal needs.
    pub approval_threshold: u16,
    /// The institutions that approve governance proposals, with their approving keys.
    pub approvers: Vec<crate::governance::Approver>,
    /// Sequence number of the last approved governance proposal (applied or pending).
    pub governance_sequence: u64,
    /// Approved proposals waiting out their timelock, in sequence order.
    pub pending_governance: Vec<PendingProposal>,
    /// Early-warning rules.
    pub warning_rules: Vec<WarningRule>,
    /// First day with counts (imported history or genesis): earlier days are unknown, not zero.
    pub coverage_start_day: Day,
    /// Holders of the k-of-n escrow key: the genesis validators.
    pub escrow_holders: Vec<PublicKey>,
}

impl ChainConfig {
    /// The configuration at genesis.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        ChainConfig {
            chain_id: genesis.chain_id(),
            chain_name: genesis.chain_name.clone(),
            root_certificates: genesis.root_certificates.clone(),
            catalogue: genesis.catalogue.clone(),
            regions: genesis.regions.clone(),
            approval_threshold: genesis.approval_threshold,
            approvers: genesis.approvers.clone(),
            governance_sequence: 0,
            pending_governance: Vec::new(),
            warning_rules: genesis.warning_rules.clone(),
            coverage_start_day: genesis
                .history
                .iter()
                .map(|series| series.first_day)
                .min()
                .unwrap_or_else(|| Day::from_unix_ms(genesis.time_ms)),
            escrow_holders: genesis
                .validators
                .iter()
                .map(|validator| validator.holder)
                .collect(),
        }
    }
}

/// An approved governance proposal with a timelocked action, waiting to apply.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct PendingProposal {
    /// Its sequence number.
    pub sequence: u64,
    /// Its actions, applied all or none once due.
    pub actions: Vec<GovernanceAction>,
    /// The national authority that submitted it (recorded as the revoker of what it revokes).
    pub submitter: PublicKey,
    /// Height of approval.
    pub approved_height: u64,
    /// It applies in the first block at or after this time, Unix milliseconds.
    pub due_time_ms: u64,
}

/// An enrolled identity.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct IdentityRecord {
    /// The key.
    pub key: PublicKey,
    /// Role from the certificate.
    pub role: Role,
    /// Home region from the certificate.
    pub region: RegionCode,
    /// The organisation the key acts for, from the certificate.
    pub institution: Institution,
    /// Subject common name.
    pub name: String,
    /// Hash of the leaf certificate (stored under [`StateKey::Certificate`]).
    pub certificate: Hash,
    /// Keys of the issuing CAs, leaf's issuer first, root last.
    pub issuer_keys: Vec<PublicKey>,
    /// Chain validity window, Unix seconds.
    pub valid_from_seconds: i64,
    /// Chain validity window, Unix seconds.
    pub valid_until_seconds: i64,
    /// Height of (re-)enrolment.
    pub enrolled_height: u64,
    /// Height since which the key holds its current role, region and institution (a
    /// re-enrolment with the same claims keeps it): a disclosure grant admits only identities
    /// that held their claims before it opened.
    pub claims_since_height: u64,
    /// `not_before` of the leaf certificate, Unix seconds: a re-enrolment must bring a newer one.
    pub certificate_not_before_seconds: i64,
    /// Last nonce used.
    pub nonce: u64,
    /// Set once revoked.
    pub revoked: Option<RevocationRecord>,
}

/// A revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct RevocationRecord {
    /// Height of the revoking block.
    pub height: u64,
    /// Who revoked.
    pub by: PublicKey,
    /// Why.
    pub reason: RevocationReason,
}

/// A certificate authority seen in an enrolled chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct AuthorityCertificate {
    /// CA key.
    pub key: PublicKey,
    /// Region it issues in.
    pub region: RegionCode,
    /// CA name.
    pub name: String,
}

/// Diagnostic and clinical state of a case after a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct CaseState {
    /// Status.
    pub status: CaseStatus,
    /// Outcome, once known.
    pub outcome: Option<Outcome>,
    /// Closed records take no further updates.
    pub closed: bool,
}

/// Where a transaction is stored: its block's height and its position in the block.
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
)]
pub struct TransactionLocation {
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
}

/// Sealed details as the state commits them: the hash of the ciphertext, and where the
/// transaction that carries it is stored (ciphertext is stored once, in its transaction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct DetailsRef {
    /// Hash of the sealed bytes ([`details_hash`]).
    pub hash: Hash,
    /// The transaction that carries them.
    pub location: TransactionLocation,
}

/// The hash that commits to sealed details.
pub fn details_hash(sealed: &[u8]) -> Hash {
    hash_tagged(tag::SEALED_DETAILS, sealed)
}

/// The head of a case record: public metadata, current state, where its latest sealed details
/// are, and the hash and place of the latest version.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct CaseRecord {
    /// Case id.
    pub case_id: Hash,
    /// Disease.
    pub disease: DiseaseCode,
    /// Region of report.
    pub region: RegionCode,
    /// Patient key or pseudonym.
    pub patient: PatientRef,
    /// Onset date.
    pub onset_day: Day,
    /// Diagnosis date.
    pub diagnosis_day: Day,
    /// Report date (CST day of the reporting block).
    pub report_day: Day,
    /// Age band.
    pub age_band: u8,
    /// Sex.
    pub sex: Sex,
    /// Reporter's key.
    pub reporter: PublicKey,
    /// Current state.
    pub state: CaseState,
    /// Latest sealed details, if any version carried some.
    pub details: Option<DetailsRef>,
    /// Number of the latest version (the report is version 0).
    pub version: u32,
    /// Hash of the latest version.
    pub head: Hash,
    /// Where the latest version is stored.
    pub head_location: TransactionLocation,
}

/// One version of a case record, as stored. Versions form a hash chain: each names the hash of
/// the one it replaces, and the head record names the latest. The change itself is the
/// transaction's payload, which the transaction id commits to; versions point at it instead of
/// copying it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct CaseVersion {
    /// Case id.
    pub case_id: Hash,
    /// Version number (0 for the report).
    pub version: u32,
    /// Hash of the previous version ([`Hash::ZERO`] for the report).
    pub replaces: Hash,
    /// Where the previous version is stored (none for the report).
    pub previous: Option<TransactionLocation>,
    /// Transaction that made it.
    pub transaction_id: Hash,
    /// Where that transaction is stored.
    pub location: TransactionLocation,
    /// Its signer.
    pub signer: PublicKey,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// Hash of the sealed details it carried, if any.
    pub details: Option<Hash>,
    /// State after this version.
    pub state: CaseState,
}

impl CaseVersion {
    /// Hash of this version: what the next version and the head name.
    pub fn hash(&self) -> Hash {
        hash_value(tag::CASE_VERSION, self)
    }
}

/// What a version did: its transaction's payload, as a reader sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum VersionChange {
    /// The original report.
    Report(CaseReport),
    /// An update and the sealed details it carried.
    Update {
        /// The change.
        change: CaseChange,
        /// Sealed details (empty if unchanged).
        #[serde(with = "crate::encoding::hex_bytes")]
        sealed: Vec<u8>,
    },
}

impl VersionChange {
    /// The sealed details this change carried (empty if none).
    pub fn sealed(&self) -> &[u8] {
        match self {
            VersionChange::Report(report) => &report.sealed,
            VersionChange::Update { sealed, .. } => sealed,
        }
    }
}

/// A version with the change its transaction made, for readers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionView {
    /// The stored version.
    #[serde(flatten)]
    pub version: CaseVersion,
    /// Its change.
    pub change: VersionChange,
}

/// A case record with its latest sealed details, for readers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseView {
    /// The stored record.
    #[serde(flatten)]
    pub record: CaseRecord,
    /// Its latest sealed details (ciphertext; empty if none).
    #[serde(with = "crate::encoding::hex_bytes")]
    pub sealed: Vec<u8>,
}

/// Why a version history does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// A version's number is not its position.
    #[error("version {position} is numbered {number}")]
    Numbering {
        /// Position, oldest first.
        position: u32,
        /// Its number.
        number: u32,
    },
    /// A version does not name its predecessor's hash.
    #[error("version {0} does not name its predecessor")]
    Predecessor(u32),
    /// The latest version is not the record's head.
    #[error("the latest version is not the record's head")]
    Head,
}

/// Checks that versions, oldest first, form an unbroken hash chain ending at `head`.
pub fn verify_version_chain<'a>(
    versions: impl IntoIterator<Item = &'a CaseVersion>,
    head: &Hash,
) -> Result<(), ChainBreak> {
    let mut previous = Hash::ZERO;
    for (index, version) in versions.into_iter().enumerate() {
        if version.version as usize != index {
            return Err(ChainBreak::Numbering {
                position: index as u32,
                number: version.version,
            });
        }
        if version.replaces != previous {
            return Err(ChainBreak::Predecessor(index as u32));
        }
        previous = version.hash();
    }
    if previous != *head {
        return Err(ChainBreak::Head);
    }
    Ok(())
}

/// Largest encoded state value the ledger writes: well under the decoding limit
/// ([`encoding::DECODE_BYTES_MAX`]), so every stored value can be read back (review C1).
pub const STATE_VALUE_BYTES_MAX: usize = 1024 * 1024;
const _: () = assert!(STATE_VALUE_BYTES_MAX < encoding::DECODE_BYTES_MAX);

/// A value of the authenticated state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateValue {
    /// Chain configuration.
    Config(Box<ChainConfig>),
    /// Identity.
    Identity(IdentityRecord),
    /// Revocation.
    Revocation(RevocationRecord),
    /// Certificate authority.
    CertificateAuthority(AuthorityCertificate),
    /// Certificate DER.
    Certificate(CertificateDer),
    /// Case head.
    Case(Box<CaseRecord>),
    /// Daily counts.
    Count(StatusCounts),
    /// Signal.
    Signal(Box<SignalRecord>),
    /// Encryption key.
    EncryptionKey(EncryptionPublicKey),
    /// Escrow dealing.
    EscrowDealing(Box<DealingRecord>),
    /// Escrow key.
    EscrowKey(Box<EscrowKeyRecord>),
    /// Grant.
    Grant(Box<GrantRecord>),
    /// Postings made.
    Disclosure(DisclosureTally),
    /// One posting.
    DisclosurePosting(Box<DisclosureBatch>),
    /// A shared record version.
    DisclosureShared(SharedRecord),
    /// A pseudonym scope.
    PseudonymScope(Box<PseudonymScopeRecord>),
    /// A pseudonym request.
    PseudonymRequest(Box<PseudonymRequestRecord>),
    /// Elements evaluated for an institution on a day.
    PseudonymQuota(PseudonymQuota),
}

impl StateValue {
    /// Canonical bytes of the value alone (the key says its type).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            StateValue::Config(value) => encoding::encode(value.as_ref()),
            StateValue::Identity(value) => encoding::encode(value),
            StateValue::Revocation(value) => encoding::encode(value),
            StateValue::CertificateAuthority(value) => encoding::encode(value),
            StateValue::Certificate(value) => encoding::encode(&value.0),
            StateValue::Case(value) => encoding::encode(value.as_ref()),
            StateValue::Count(value) => encoding::encode(value),
            StateValue::Signal(value) => encoding::encode(value.as_ref()),
            StateValue::EncryptionKey(value) => encoding::encode(value),
            StateValue::EscrowDealing(value) => encoding::encode(value.as_ref()),
            StateValue::EscrowKey(value) => encoding::encode(value.as_ref()),
            StateValue::Grant(value) => encoding::encode(value.as_ref()),
            StateValue::Disclosure(value) => encoding::encode(value),
            StateValue::DisclosurePosting(value) => encoding::encode(value.as_ref()),
            StateValue::DisclosureShared(value) => encoding::encode(value),
            StateValue::PseudonymScope(value) => encoding::encode(value.as_ref()),
            StateValue::PseudonymRequest(value) => encoding::encode(value.as_ref()),
            StateValue::PseudonymQuota(value) => encoding::encode(value),
        }
    }

    /// Decodes the bytes stored under `key`.
    pub fn from_bytes(key: &StateKey, bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(match key {
            StateKey::Config => StateValue::Config(Box::new(encoding::decode(bytes)?)),
            StateKey::Identity(_) => StateValue::Identity(encoding::decode(bytes)?),
            StateKey::Revocation(_) => StateValue::Revocation(encoding::decode(bytes)?),
            StateKey::CertificateAuthority(_) => {
                StateValue::CertificateAuthority(encoding::decode(bytes)?)
            }
            StateKey::Certificate(_) => {
                StateValue::Certificate(CertificateDer(encoding::decode(bytes)?))
            }
            StateKey::Case(_) => StateValue::Case(Box::new(encoding::decode(bytes)?)),
            StateKey::Count(_) => StateValue::Count(encoding::decode(bytes)?),
            StateKey::Signal(_) => StateValue::Signal(Box::new(encoding::decode(bytes)?)),
            StateKey::EncryptionKey(_) => StateValue::EncryptionKey(encoding::decode(bytes)?),
            StateKey::EscrowDealing(_) => {
                StateValue::EscrowDealing(Box::new(encoding::decode(bytes)?))
            }
            StateKey::EscrowKey => StateValue::EscrowKey(Box::new(encoding::decode(bytes)?)),
            StateKey::Grant(_) => StateValue::Grant(Box::new(encoding::decode(bytes)?)),
            StateKey::Disclosure(_) => StateValue::Disclosure(encoding::decode(bytes)?),
            StateKey::DisclosurePosting(_) => {
                StateValue::DisclosurePosting(Box::new(encoding::decode(bytes)?))
            }
            StateKey::DisclosureShared(_) => StateValue::DisclosureShared(encoding::decode(bytes)?),
            StateKey::PseudonymScope(_) => {
                StateValue::PseudonymScope(Box::new(encoding::decode(bytes)?))
            }
            StateKey::PseudonymRequest(_) => {
                StateValue::PseudonymRequest(Box::new(encoding::decode(bytes)?))
            }
            StateKey::PseudonymQuota(_) => StateValue::PseudonymQuota(encoding::decode(bytes)?),
        })
    }
}

/// A typed state entry: a record type names its key type and its [`StateKey`] variant, so
/// reads are `get::<IdentityRecord>(&key)` and a value of the wrong variant under a key is
/// corruption, not absence.
pub trait Entry: Sized {
    /// What the entry is keyed by.
    type Key;
    /// The state key of `key`.
    fn state_key(key: &Self::Key) -> StateKey;
    /// The record, if `value` is of this entry's variant.
    fn from_value(value: StateValue) -> Option<Self>;
    /// The record as a state value.
    fn into_value(self) -> StateValue;
}

/// A certificate's DER bytes, stored under its content hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateDer(pub Vec<u8>);

/// The unit key of singleton entries (configuration, escrow key).
pub type Singleton = ();

macro_rules! entry {
    ($record:ty, $key:ty, |$k:ident| $state_key:expr, $variant:ident, boxed) => {
        impl Entry for $record {
            type Key = $key;
            fn state_key($k: &$key) -> StateKey {
                $state_key
            }
            fn from_value(value: StateValue) -> Option<Self> {
                match value {
                    StateValue::$variant(record) => Some(*record),
                    _ => None,
                }
            }
            fn into_value(self) -> StateValue {
                StateValue::$variant(Box::new(self))
            }
        }
    };
    ($record:ty, $key:ty, |$k:ident| $state_key:expr, $variant:ident) => {
        impl Entry for $record {
            type Key = $key;
            fn state_key($k: &$key) -> StateKey {
                $state_key
            }
            fn from_value(value: StateValue) -> Option<Self> {
                match value {
                    StateValue::$variant(record) => Some(record),
                    _ => None,
                }
            }
            fn into_value(self) -> StateValue {
                StateValue::$variant(self)
            }
        }
    };
}

entry!(
    ChainConfig,
    Singleton,
    |_key| StateKey::Config,
    Config,
    boxed
);
entry!(
    IdentityRecord,
    PublicKey,
    |key| StateKey::Identity(*key),
    Identity
);
entry!(
    RevocationRecord,
    PublicKey,
    |key| StateKey::Revocation(*key),
    Revocation
);
entry!(
    AuthorityCertificate,
    PublicKey,
    |key| StateKey::CertificateAuthority(*key),
    CertificateAuthority
);
entry!(
    CertificateDer,
    Hash,
    |key| StateKey::Certificate(*key),
    Certificate
);
entry!(CaseRecord, Hash, |key| StateKey::Case(*key), Case, boxed);
entry!(
    StatusCounts,
    CountKey,
    |key| StateKey::Count(key.clone()),
    Count
);
entry!(
    SignalRecord,
    Hash,
    |key| StateKey::Signal(*key),
    Signal,
    boxed
);
entry!(
    EncryptionPublicKey,
    PublicKey,
    |key| StateKey::EncryptionKey(*key),
    EncryptionKey
);
entry!(
    DealingRecord,
    PublicKey,
    |key| StateKey::EscrowDealing(*key),
    EscrowDealing,
    boxed
);
entry!(
    EscrowKeyRecord,
    Singleton,
    |_key| StateKey::EscrowKey,
    EscrowKey,
    boxed
);
entry!(GrantRecord, Hash, |key| StateKey::Grant(*key), Grant, boxed);
entry!(
    DisclosureTally,
    DisclosureKey,
    |key| StateKey::Disclosure(key.clone()),
    Disclosure
);
entry!(
    DisclosureBatch,
    PostingKey,
    |key| StateKey::DisclosurePosting(key.clone()),
    DisclosurePosting,
    boxed
);
entry!(
    SharedRecord,
    SharedKey,
    |key| StateKey::DisclosureShared(key.clone()),
    DisclosureShared
);
entry!(
    PseudonymScopeRecord,
    PseudonymScope,
    |key| StateKey::PseudonymScope(*key),
    PseudonymScope,
    boxed
);
entry!(
    PseudonymRequestRecord,
    Hash,
    |key| StateKey::PseudonymRequest(*key),
    PseudonymRequest,
    boxed
);
entry!(
    PseudonymQuota,
    PseudonymQuotaKey,
    |key| StateKey::PseudonymQuota(key.clone()),
    PseudonymQuota
);
