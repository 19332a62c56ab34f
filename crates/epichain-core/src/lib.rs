//! Define epichain's domain: regions, diseases, roles, keys, certificates, case reports,
//! transactions, blocks and their one canonical encoding.
//!
//! This crate imports no other epichain crate and does no I/O beyond reading and writing key and
//! certificate files on request.

pub mod block;
pub mod calendar;
pub mod case;
pub mod cert;
mod coded;
pub mod disclosure;
pub mod disease;
pub mod encoding;
pub mod genesis;
pub mod governance;
pub mod institution;
pub mod keys;
pub mod merkle;
pub mod pseudonym;
pub mod region;
pub mod rejection;
pub mod request;
pub mod role;
pub mod sealed;
pub mod signer;
pub mod state;
pub mod transaction;
pub mod warning;
pub mod zip215;

pub use block::{Block, BlockHeader, Receipt, TransactionOutcome};
pub use calendar::Day;
pub use case::{CaseChange, CaseReport, CaseStatus, CaseUpdate, Outcome, PatientRef, Sex};
pub use disease::{Catalogue, Disease, DiseaseClass, DiseaseCode};
pub use encoding::Hash;
pub use genesis::Genesis;
pub use governance::{Approval, Governance, GovernanceAction, GovernanceProposal};
pub use institution::Institution;
pub use keys::{KeyPair, PublicKey, Signature};
pub use region::{Level, RegionCode, RegionInfo, RegionSet};
pub use rejection::Rejection;
pub use role::Role;
pub use signer::Signer;
pub use transaction::{
    EnrollIdentity, Payload, RevocationReason, RevokeIdentity, SignedTransaction, Transaction,
};
