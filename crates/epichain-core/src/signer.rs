//! Building and signing transactions: the core of the Rust SDK. A [`Signer`] holds a key, the
//! chain id and the next nonce, and turns payloads into signed transactions.

use crate::case::{CaseChange, CaseReport, CaseUpdate, case_id};
use crate::encoding::Hash;
use crate::governance::{Approval, Governance, GovernanceProposal};
use crate::keys::{KeyPair, PublicKey};
use crate::transaction::{
    EnrollIdentity, HexBytes, Payload, RevocationReason, RevokeIdentity, SignedTransaction,
    Transaction,
};

/// A key that signs transactions for one chain, numbering them with increasing nonces.
#[derive(Clone, Debug)]
pub struct Signer {
    key: KeyPair,
    chain_id: Hash,
    next_nonce: u64,
}

impl Signer {
    /// A signer whose last used nonce is `last_nonce` (0 for a new key).
    pub fn new(key: KeyPair, chain_id: Hash, last_nonce: u64) -> Self {
        Signer {
            key,
            chain_id,
            next_nonce: last_nonce + 1,
        }
    }

    /// The signing key's public half.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The key pair.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The chain id.
    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    /// The nonce the next transaction will use.
    pub fn next_nonce(&self) -> u64 {
        self.next_nonce
    }

    /// Signs any payload with the next nonce.
    pub fn sign(&mut self, payload: Payload) -> SignedTransaction {
        let transaction = Transaction {
            chain_id: self.chain_id,
            signer: self.key.public_key(),
            nonce: self.next_nonce,
            payload,
        };
        self.next_nonce += 1;
        transaction.sign(&self.key)
    }

    /// Enrols this key with its certificate and the intermediates above it.
    pub fn enroll(
        &mut self,
        certificate: Vec<u8>,
        intermediates: Vec<Vec<u8>>,
    ) -> SignedTransaction {
        self.sign(Payload::EnrollIdentity(EnrollIdentity {
            certificate,
            intermediates: intermediates.into_iter().map(HexBytes).collect(),
        }))
    }

    /// Reports a case; returns the transaction and the id the case will have.
    pub fn report(&mut self, report: CaseReport) -> (SignedTransaction, Hash) {
        let id = case_id(&self.key.public_key(), self.next_nonce);
        (self.sign(Payload::ReportCase(report)), id)
    }

    /// Updates a case whose current version is `replaces`.
    pub fn update(
        &mut self,
        case_id: Hash,
        replaces: Hash,
        change: CaseChange,
        sealed: Vec<u8>,
    ) -> SignedTransaction {
        self.sign(Payload::UpdateCase(CaseUpdate {
            case_id,
            replaces,
            change,
            sealed,
        }))
    }

    /// Revokes a key.
    pub fn revoke(&mut self, key: PublicKey, reason: RevocationReason) -> SignedTransaction {
        self.sign(Payload::RevokeIdentity(RevokeIdentity { key, reason }))
    }

    /// Submits a governance proposal with the approvals gathered for it.
    pub fn govern(
        &mut self,
        proposal: GovernanceProposal,
        approvals: Vec<Approval>,
    ) -> SignedTransaction {
        self.sign(Payload::Governance(Governance {
            proposal,
            approvals,
        }))
    }
}
