//! The deterministic state machine: executes a block's transactions against a read-only view of
//! the state and returns the writes, receipts, events and case versions. It reads no clock, no
//! randomness and no hash-map order; the only time is the block's.
//!
//! One file per contract, each opening with its rules:
//! - [`identity`]: enrolment, revocation, standing, encryption keys;
//! - [`case`]: reports, updates, the sealing rule, access logs;
//! - [`warning`]: counts at four levels and the warning contracts run after each block;
//! - [`signal`]: the signal workflow;
//! - [`governance`]: k-of-n proposals;
//! - [`disclosure`]: grants and decryption shares;
//! - [`escrow`]: the escrow key generation among the holders.
//!
//! This file is the block loop: authentication, dispatch, and the split between rejections and
//! storage failures.
//!
//! Every transaction is atomic. A transaction from an authenticated signer (enrolled, not revoked,
//! valid signature, fresh nonce) consumes its nonce even if a business rule then rejects it, so a
//! rejected transaction can never be replayed into a later state where it would apply.
//!
//! A transaction that fails *authentication* (bad signature, wrong chain, unknown or revoked
//! signer, stale nonce, an enrolment whose certificate does not verify) consumes nothing and gets
//! no receipt: it is [`Unauthenticated`]. A block carrying one is invalid (the validator refuses
//! it, see `Ledger::verify_on`) and a proposer leaves it out (`Ledger::prepare_on`), so nothing an
//! outsider signs is ever stored. A duplicate or already-final transaction is a stale nonce.
//!
//! Failures: a contract returns [`Halt`]. [`Halt::Reject`] is the transaction's business (a
//! receipt with a typed [`Rejection`]); [`Halt::Abort`] is a storage failure, which aborts the
//! whole block. [`Executor::apply_transaction`] is the only place that tells them apart.

use crate::StorageError;
use crate::state::{
    CaseVersion, ChainConfig, Entry, IdentityRecord, StateKey, StateRead, StateValue,
    TransactionLocation,
};
use epichain_core::encoding::Hash;
use epichain_core::rejection::{
    AccessLogProblem, CertificateProblem, DisclosureProblem, EscrowProblem, GovernanceProblem,
    PseudonymProblem, ReportProblem, SealedProblem, WorkflowProblem,
};
use epichain_core::{
    Day, DiseaseCode, Payload, Receipt, RegionCode, Rejection, SignedTransaction,
    TransactionOutcome,
};
use std::collections::BTreeMap;
use std::sync::Arc;

mod case;
mod disclosure;
mod escrow;
mod event;
mod governance;
mod identity;
mod overlay;
mod pseudonym;
mod signal;
mod warning;

pub use disclosure::{ESCROW_COMBINE_WAIT_BLOCKS, GRANT_DAYS_MAX, grant_id, outbreak_scope};
pub use event::Event;
pub(crate) use governance::check_rule;
pub use signal::validate_step;

use overlay::Overlay;

/// What a block execution needs besides the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of the block.
    pub height: u64,
    /// Block time, Unix milliseconds.
    pub time_ms: u64,
    /// The previous block's time (genesis time for the first block): a week boundary between
    /// the two closes a week for the weekly warning rules.
    pub parent_time_ms: u64,
}

impl BlockContext {
    fn day(&self) -> Day {
        Day::from_unix_ms(self.time_ms)
    }

    fn time_seconds(&self) -> i64 {
        (self.time_ms / 1000) as i64
    }
}

/// The result of executing a block.
#[derive(Clone, Debug, Default)]
pub struct Execution {
    /// Transaction ids, in order.
    pub transaction_ids: Vec<Hash>,
    /// State writes, in key order.
    pub writes: BTreeMap<StateKey, StateValue>,
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Events of applied transactions, in order.
    pub events: Vec<Event>,
    /// New case versions, in order.
    pub versions: Vec<CaseVersion>,
    /// Transactions left out because they fail authentication, by their position in the input.
    pub unauthenticated: Vec<Unauthenticated>,
}

/// A transaction that failed authentication: it has no receipt and consumes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unauthenticated {
    /// Its position among the transactions given to [`execute_block`].
    pub position: usize,
    /// Its id.
    pub id: Hash,
    /// Why.
    pub rejection: Rejection,
}

/// Why a contract stopped: the transaction is rejected, or the block cannot be executed.
#[derive(Debug)]
pub(crate) enum Halt {
    /// A business rule refused the transaction: a receipt.
    Reject(Rejection),
    /// Authentication failed: no receipt, and the block must not carry the transaction.
    Refuse(Rejection),
    /// Storage failed: the block aborts.
    Abort(StorageError),
}

impl From<StorageError> for Halt {
    fn from(error: StorageError) -> Self {
        Halt::Abort(error)
    }
}

/// Rejections and the problems that make them, into a [`Halt`].
macro_rules! halt_from {
    ($($problem:ty),* $(,)?) => {
        $(impl From<$problem> for Halt {
            fn from(problem: $problem) -> Self {
                Halt::Reject(Rejection::from(problem))
            }
        })*
    };
}

halt_from!(
    Rejection,
    CertificateProblem,
    ReportProblem,
    GovernanceProblem,
    WorkflowProblem,
    EscrowProblem,
    SealedProblem,
    DisclosureProblem,
    AccessLogProblem,
    PseudonymProblem,
);

/// A contract's result.
pub(crate) type Exec<T> = Result<T, Halt>;

/// A block's transactions with their ids and signature verdicts, computed once by the caller
/// (see [`crate::signatures`]).
#[derive(Clone, Copy, Debug)]
pub struct CheckedTransactions<'a> {
    /// The transactions, in block order.
    pub transactions: &'a [SignedTransaction],
    /// Their ids.
    pub ids: &'a [Hash],
    /// True where the signature verifies.
    pub signatures_valid: &'a [bool],
}

/// Executes `block`'s transactions on top of `state` for the block described by `context`.
pub fn execute_block(
    state: &impl StateRead,
    context: BlockContext,
    block: CheckedTransactions<'_>,
) -> Result<Execution, StorageError> {
    assert!(
        block.ids.len() == block.transactions.len()
            && block.signatures_valid.len() == block.transactions.len(),
        "one id and one verdict per transaction"
    );
    let config = Arc::new(chain_config(state)?);
    let mut executor = Executor::new(state, config, context);
    executor.apply_due_governance()?;
    for (position, (transaction, signature_valid)) in block
        .transactions
        .iter()
        .zip(block.signatures_valid.iter().copied())
        .enumerate()
    {
        let id = block.ids[position];
        executor.transaction_id = id;
        executor.transaction_index = executor.output.receipts.len() as u32;
        let step = if signature_valid {
            executor.apply_transaction(transaction)?
        } else {
            Err(Rejection::BadSignature)
        };
        match step {
            Ok(outcome) => {
                executor.output.transaction_ids.push(id);
                executor.output.receipts.push(Receipt {
                    transaction_id: id,
                    outcome,
                });
            }
            Err(rejection) => executor.output.unauthenticated.push(Unauthenticated {
                position,
                id,
                rejection,
            }),
        }
    }
    executor.evaluate_warnings()?;
    executor.escrow_deadline()?;
    Ok(executor.finish())
}

fn chain_config(state: &impl StateRead) -> Result<ChainConfig, StorageError> {
    state
        .get::<ChainConfig>(&())?
        .ok_or_else(|| StorageError::Corrupt("state has no chain configuration".into()))
}

/// The authentication a block at a given height and time on top of a state would apply to
/// transactions, their signatures aside (checked by the caller): what a node checks at
/// admission, so that what it accepts a proposer can include. An enrolment's certificate chain
/// is verified here. Reads are shared across the transactions checked.
pub struct Authenticator<'a, S> {
    executor: Executor<'a, S>,
}

impl<'a, S: StateRead> Authenticator<'a, S> {
    /// Checks against `state`, whose configuration is `config` (`LedgerReader::config`; a
    /// caller checking many batches keeps it rather than decoding it each time), as a block at
    /// `context` would.
    pub fn new(state: &'a S, config: Arc<ChainConfig>, context: BlockContext) -> Self {
        Authenticator {
            executor: Executor::new(state, config, context),
        }
    }

    /// Why `signed` would be left out of a block, if it would.
    pub fn check(
        &mut self,
        signed: &SignedTransaction,
    ) -> Result<Result<(), Rejection>, StorageError> {
        let verdict = self.executor.authenticated(signed);
        // Nothing is applied: an enrolment's writes vanish.
        self.executor.overlay.discard_transaction();
        self.executor.pending_events.clear();
        match verdict {
            Ok(_) => Ok(Ok(())),
            Err(Halt::Reject(rejection) | Halt::Refuse(rejection)) => Ok(Err(rejection)),
            Err(Halt::Abort(error)) => Err(error),
        }
    }
}

/// The state of one block's execution.
struct Executor<'a, S> {
    overlay: Overlay<'a, S>,
    /// The chain configuration, as governance changes it within the block.
    config: Arc<ChainConfig>,
    config_changed: bool,
    context: BlockContext,
    output: Execution,
    /// Events, versions and touched series of the transaction being applied (kept if it
    /// applies).
    pending_events: Vec<Event>,
    pending_versions: Vec<CaseVersion>,
    pending_touched: Vec<(DiseaseCode, RegionCode, Hash)>,
    /// Id and position of the transaction being applied.
    transaction_id: Hash,
    transaction_index: u32,
    /// Report-basis series that gained cases in this block, with the new cases.
    touched: BTreeMap<(DiseaseCode, RegionCode), Vec<Hash>>,
}

impl<'a, S: StateRead> Executor<'a, S> {
    fn new(state: &'a S, config: Arc<ChainConfig>, context: BlockContext) -> Self {
        Executor {
            overlay: Overlay::new(state),
            config,
            config_changed: false,
            context,
            output: Execution::default(),
            pending_events: Vec::new(),
            pending_versions: Vec::new(),
            pending_touched: Vec::new(),
            transaction_id: Hash::ZERO,
            transaction_index: 0,
            touched: BTreeMap::new(),
        }
    }

    /// The block's execution, with the configuration written if governance changed it.
    fn finish(mut self) -> Execution {
        if self.config_changed {
            let config = ChainConfig::clone(&self.config);
            self.overlay.put(&(), config);
            self.commit_own_writes();
        }
        self.output.writes = self.overlay.into_writes();
        self.output
    }

    /// Applies one transaction atomically and returns its outcome, or the reason it fails
    /// authentication; only a storage failure is an error.
    fn apply_transaction(
        &mut self,
        signed: &SignedTransaction,
    ) -> Result<Result<TransactionOutcome, Rejection>, StorageError> {
        let result = self.try_transaction(signed).and_then(|()| {
            self.overlay
                .commit_transaction()
                .map_err(|bytes| Halt::Reject(Rejection::StateValueTooLarge { bytes }))
        });
        match result {
            Ok(()) => {
                self.output.events.append(&mut self.pending_events);
                self.output.versions.append(&mut self.pending_versions);
                for (disease, region, case) in self.pending_touched.drain(..) {
                    self.touched
                        .entry((disease, region))
                        .or_default()
                        .push(case);
                }
                Ok(Ok(TransactionOutcome::Applied))
            }
            Err(Halt::Reject(rejection)) => {
                self.discard_pending();
                Ok(Ok(TransactionOutcome::Rejected(rejection)))
            }
            Err(Halt::Refuse(rejection)) => {
                self.discard_pending();
                Ok(Err(rejection))
            }
            Err(Halt::Abort(error)) => Err(error),
        }
    }

    /// Commits writes the ledger makes itself (a nonce, warning signals, the escrow deadline,
    /// the configuration after governance checked its size): bounded by construction, so an
    /// oversized one is a broken invariant.
    fn commit_own_writes(&mut self) {
        if let Err(bytes) = self.overlay.commit_transaction() {
            panic!("the ledger wrote a state value of {bytes} bytes, over the limit");
        }
    }

    fn discard_pending(&mut self) {
        self.overlay.discard_transaction();
        self.pending_events.clear();
        self.pending_versions.clear();
        self.pending_touched.clear();
    }

    fn try_transaction(&mut self, signed: &SignedTransaction) -> Exec<()> {
        let signer = match self.authenticated(signed) {
            Ok(signer) => signer,
            Err(Halt::Reject(rejection)) => return Err(Halt::Refuse(rejection)),
            Err(other) => return Err(other),
        };
        // An enrolment is complete once authenticated.
        let Some(mut signer) = signer else {
            return Ok(());
        };
        // The nonce is consumed whatever the payload's fate.
        signer.nonce = signed.transaction.nonce;
        self.overlay.put(&signer.key, signer.clone());
        self.commit_own_writes();
        self.dispatch(signed, &signer)
    }

    /// Everything a transaction must pass before it consumes a nonce: the chain, and either an
    /// enrolment (applied here: `None`) or an enrolled signer in good standing with a fresh nonce.
    fn authenticated(&mut self, signed: &SignedTransaction) -> Exec<Option<IdentityRecord>> {
        let transaction = &signed.transaction;
        if transaction.chain_id != self.config.chain_id {
            return Err(Rejection::WrongChain {
                expected: self.config.chain_id,
                found: transaction.chain_id,
            }
            .into());
        }
        if let Payload::EnrollIdentity(enroll) = &transaction.payload {
            self.enroll(signed, enroll)?;
            return Ok(None);
        }
        self.authenticate(&transaction.signer, transaction.nonce)
            .map(Some)
    }

    fn dispatch(&mut self, signed: &SignedTransaction, signer: &IdentityRecord) -> Exec<()> {
        match &signed.transaction.payload {
            Payload::EnrollIdentity(_) => Ok(()),
            Payload::RevokeIdentity(revoke) => self.revoke(signer, revoke),
            Payload::ReportCase(report) => self.report(signed, signer, report),
            Payload::UpdateCase(update) => self.update(signer, update),
            Payload::Governance(governance) => self.govern(signer, governance),
            Payload::SignalAction(action) => self.signal_action(signer, action),
            Payload::PublishEncryptionKey(key) => {
                self.publish_encryption_key(signer, *key);
                Ok(())
            }
            Payload::AccessLog(access) => self.access_log(signer, access),
            Payload::Escrow(message) => self.escrow(signer, message),
            Payload::DecryptionShares(shares) => self.decryption_shares(signer, shares),
            Payload::Pseudonym(message) => self.pseudonym(signed.id(), signer, message),
        }
    }

    /// Where the transaction being applied is stored.
    fn location(&self) -> TransactionLocation {
        TransactionLocation {
            height: self.context.height,
            index: self.transaction_index,
        }
    }

    /// Reads a typed record through the overlay.
    fn get<E: Entry>(&self, key: &E::Key) -> Result<Option<E>, StorageError> {
        self.overlay.get::<E>(key)
    }

    /// True if a record exists under `key`.
    fn exists<E: Entry>(&self, key: &E::Key) -> Result<bool, StorageError> {
        self.overlay.contains(&E::state_key(key))
    }
}
