//! Transactions: an envelope `{chain_id, signer, nonce, payload}` signed with Ed25519 over its
//! canonical bytes and a domain tag.
//!
//! [`Payload`] is a Borsh enum: its variant index is the first payload byte, so later features add
//! variants at the end without changing the encoding of existing transactions.

use crate::case::{CaseReport, CaseUpdate};
use crate::encoding::{self, DecodeError, Hash, hash_tagged, hex_bytes, signing_bytes, tag};
use crate::governance::Governance;
use crate::keys::{KeyError, KeyPair, PublicKey, Signature, SignedMessage};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Largest encoded signed transaction.
pub const TRANSACTION_BYTES_MAX: usize = 64 * 1024;

/// Enrol a key with a certificate chain. Signed by the key being enrolled (proof of possession).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct EnrollIdentity {
    /// Leaf certificate (DER) for the signer's key.
    #[serde(with = "hex_bytes")]
    pub certificate: Vec<u8>,
    /// Intermediate CA certificates (DER), from the leaf's issuer upwards; the root comes from
    /// genesis.
    pub intermediates: Vec<HexBytes>,
}

/// Bytes shown as hex in JSON.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct HexBytes(#[serde(with = "hex_bytes")] pub Vec<u8>);

/// Why a key is revoked.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    /// The private key leaked or may have.
    KeyCompromise,
    /// A CA key leaked.
    CaCompromise,
    /// The holder left the role or institution.
    AffiliationChanged,
    /// Replaced by a new key.
    Superseded,
    /// The institution closed.
    CessationOfOperation,
    /// No reason given.
    Unspecified,
}

impl std::str::FromStr for RevocationReason {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "key-compromise" => Ok(Self::KeyCompromise),
            "ca-compromise" => Ok(Self::CaCompromise),
            "affiliation-changed" => Ok(Self::AffiliationChanged),
            "superseded" => Ok(Self::Superseded),
            "cessation-of-operation" => Ok(Self::CessationOfOperation),
            "unspecified" => Ok(Self::Unspecified),
            _ => Err(format!("unknown revocation reason {text:?}")),
        }
    }
}

/// Revoke a key (an enrolled identity or a CA). Its past transactions stay valid history; it can
/// sign nothing new, and nothing below a revoked CA can enrol or sign.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RevokeIdentity {
    /// The revoked key.
    pub key: PublicKey,
    /// Why.
    pub reason: RevocationReason,
}

/// What a transaction does. New variants go at the end.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "body")]
pub enum Payload {
    /// Enrol the signer's key.
    EnrollIdentity(EnrollIdentity),
    /// Revoke a key.
    RevokeIdentity(RevokeIdentity),
    /// Report a new case.
    ReportCase(CaseReport),
    /// Update a case.
    UpdateCase(CaseUpdate),
    /// Change configuration with k-of-n national approvals.
    Governance(Governance),
    /// Take a workflow step on an early-warning signal.
    SignalAction(crate::warning::SignalAction),
    /// Publish the signer's X25519 encryption key (readers of sealed details).
    PublishEncryptionKey(crate::sealed::EncryptionPublicKey),
    /// Record, before reading, that the signer decrypts a case record and why.
    AccessLog(AccessLog),
    /// A message of the escrow key generation (escrow holders only).
    Escrow(crate::disclosure::EscrowMessage),
    /// An escrow holder's partial decryptions of granted records, sealed to one grantee.
    DecryptionShares(crate::disclosure::DecryptionShares),
    /// A pseudonym scope's key, a reporting site's blinded request, or the CDC's evaluation.
    Pseudonym(crate::pseudonym::PseudonymMessage),
}

crate::coded::coded_enum! {
    /// Why a reader decrypts a case record: a code, never free text (review M14: text on the
    /// public, immutable chain invites names and ID numbers).
    pub enum AccessPurpose("purpose") {
        /// Investigating the case itself (epidemiological investigation, classification).
        CaseInvestigation = 0 => "case-investigation",
        /// Finding and following the case's contacts.
        ContactTracing = 1 => "contact-tracing",
        /// Responding to an outbreak the case belongs to (a disclosure grant).
        OutbreakResponse = 2 => "outbreak-response",
        /// Treating the patient.
        ClinicalCare = 3 => "clinical-care",
        /// Following up a laboratory test.
        LaboratoryFollowUp = 4 => "laboratory-follow-up",
        /// Reviewing the record for quality or audit.
        Audit = 5 => "audit",
    }
}

/// An audited access to a case's sealed details.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct AccessLog {
    /// The case.
    pub case_id: Hash,
    /// Why.
    pub purpose: AccessPurpose,
}

impl Payload {
    /// Stable name of the payload kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::EnrollIdentity(_) => "enroll_identity",
            Payload::RevokeIdentity(_) => "revoke_identity",
            Payload::ReportCase(_) => "report_case",
            Payload::UpdateCase(_) => "update_case",
            Payload::Governance(_) => "governance",
            Payload::SignalAction(_) => "signal_action",
            Payload::PublishEncryptionKey(_) => "publish_encryption_key",
            Payload::AccessLog(_) => "access_log",
            Payload::Escrow(_) => "escrow",
            Payload::DecryptionShares(_) => "decryption_shares",
            Payload::Pseudonym(_) => "pseudonym",
        }
    }
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Transaction {
    /// Chain id (hash of genesis): a transaction is valid on one chain only.
    pub chain_id: Hash,
    /// Signer's key.
    pub signer: PublicKey,
    /// Strictly increasing per signer; prevents replay.
    pub nonce: u64,
    /// What it does.
    pub payload: Payload,
}

impl Transaction {
    /// Bytes covered by the signature.
    pub fn signing_bytes(&self) -> Vec<u8> {
        signing_bytes(tag::TRANSACTION_SIGNATURE, self)
    }

    /// Signs with `key`; the transaction's `signer` must be `key`'s public key.
    pub fn sign(self, key: &KeyPair) -> SignedTransaction {
        let signature = key.sign(&self.signing_bytes());
        SignedTransaction {
            transaction: self,
            signature,
        }
    }
}

/// A transaction with its signature.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SignedTransaction {
    /// The signed content.
    pub transaction: Transaction,
    /// Ed25519 signature of `transaction.signer`.
    pub signature: Signature,
}

impl SignedTransaction {
    /// Canonical bytes (what is gossiped and stored).
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// Decodes untrusted bytes, bounded by [`TRANSACTION_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        encoding::decode_bounded(bytes, TRANSACTION_BYTES_MAX)
    }

    /// Transaction id: hash of the canonical signed bytes.
    pub fn id(&self) -> Hash {
        Self::id_of_bytes(&self.to_bytes())
    }

    /// The id of a transaction from its canonical bytes ([`SignedTransaction::to_bytes`]).
    pub fn id_of_bytes(bytes: &[u8]) -> Hash {
        hash_tagged(tag::TRANSACTION_ID, bytes)
    }

    /// Verifies the signature alone.
    pub fn verify_signature(&self) -> Result<(), KeyError> {
        self.transaction
            .signer
            .verify(&self.transaction.signing_bytes(), &self.signature)
    }
}

/// Verifies the signatures of many transactions (batch first), one verdict each.
pub fn verify_signatures(transactions: &[SignedTransaction]) -> Vec<bool> {
    with_signed_messages(transactions.iter(), crate::keys::verify_many)
}

/// Calls `f` with each transaction's (signer, signing bytes, signature), in order: the items of
/// a batch verification.
pub fn with_signed_messages<'a, R>(
    transactions: impl Iterator<Item = &'a SignedTransaction> + Clone,
    f: impl FnOnce(&[SignedMessage<'_>]) -> R,
) -> R {
    let messages: Vec<Vec<u8>> = transactions
        .clone()
        .map(|signed| signed.transaction.signing_bytes())
        .collect();
    let items: Vec<SignedMessage<'_>> = transactions
        .zip(&messages)
        .map(|(signed, message)| SignedMessage {
            key: &signed.transaction.signer,
            message,
            signature: &signed.signature,
        })
        .collect();
    f(&items)
}
