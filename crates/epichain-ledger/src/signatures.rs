//! Signature verdicts, verified once per node: a transaction checked at admission (mempool,
//! gossip) is not checked again when a block carrying it executes, and a key is decompressed
//! once. Verdicts are the same as verifying each signature alone; only the cost differs.
//!
//! A replica that never admitted a transaction verifies it when the block arrives: nothing is
//! taken on trust.

use epichain_core::SignedTransaction;
use epichain_core::encoding::Hash;
use epichain_core::keys::{KeyCache, verify_many_resolved};
use epichain_core::transaction::with_signed_messages;
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// Most transaction ids remembered as verified before the memory starts over.
pub const KNOWN_VALID_MAX: usize = 262_144;

/// Verifies transaction signatures with a cache of decompressed keys and a memory of the
/// transactions already verified.
pub struct SignatureVerifier {
    keys: Mutex<KeyCache>,
    known_valid: Mutex<BTreeSet<Hash>>,
    threads: usize,
}

impl Default for SignatureVerifier {
    fn default() -> Self {
        SignatureVerifier::new(1)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves a cache, not an invariant: keep using it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SignatureVerifier {
    /// A verifier that splits large batches over `threads` threads.
    pub fn new(threads: usize) -> Self {
        SignatureVerifier {
            keys: Mutex::new(KeyCache::default()),
            known_valid: Mutex::new(BTreeSet::new()),
            threads: threads.max(1),
        }
    }

    /// One verdict per transaction (`ids` are their ids, in order); valid ones are remembered.
    pub fn verify(&self, transactions: &[SignedTransaction], ids: &[Hash]) -> Vec<bool> {
        assert_eq!(transactions.len(), ids.len(), "one id per transaction");
        let mut verdicts = vec![true; transactions.len()];
        let unknown: Vec<usize> = {
            let known = lock(&self.known_valid);
            (0..transactions.len())
                .filter(|index| !known.contains(&ids[*index]))
                .collect()
        };
        if unknown.is_empty() {
            return verdicts;
        }
        let checked =
            with_signed_messages(unknown.iter().map(|index| &transactions[*index]), |items| {
                let keys = lock(&self.keys).resolve(items);
                verify_many_resolved(items, keys.as_deref(), self.threads)
            });
        let mut known = lock(&self.known_valid);
        if known.len() + unknown.len() > KNOWN_VALID_MAX {
            known.clear();
        }
        for (index, valid) in unknown.into_iter().zip(checked) {
            verdicts[index] = valid;
            if valid {
                known.insert(ids[index]);
            }
        }
        verdicts
    }

    /// Forgets transactions that are final: they are never executed again.
    pub fn forget(&self, ids: &[Hash]) {
        let mut known = lock(&self.known_valid);
        for id in ids {
            known.remove(id);
        }
    }
}

/// Blocks verified ahead of the one being applied.
pub const VERIFY_AHEAD_BLOCKS_MAX: usize = 1;

/// Applies blocks in order while another thread verifies the signatures of the next ones (at
/// most [`VERIFY_AHEAD_BLOCKS_MAX`] ahead), so verification overlaps execution and commit on a
/// machine with a core to spare. `transactions` names a block's transactions; the verdicts are
/// remembered by `verifier`, which the ledger applying the blocks must share
/// ([`crate::Ledger::verifier`]). Stops at the first error of `apply`.
pub fn verify_ahead<B: Send, E>(
    verifier: &SignatureVerifier,
    blocks: impl IntoIterator<Item = B, IntoIter: Send>,
    transactions: fn(&B) -> &[SignedTransaction],
    mut apply: impl FnMut(B) -> Result<(), E>,
) -> Result<(), E> {
    let blocks = blocks.into_iter();
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(VERIFY_AHEAD_BLOCKS_MAX);
        scope.spawn(move || {
            for block in blocks {
                let signed = transactions(&block);
                let ids: Vec<Hash> = signed.iter().map(SignedTransaction::id).collect();
                verifier.verify(signed, &ids);
                if sender.send(block).is_err() {
                    break;
                }
            }
        });
        for block in receiver {
            apply(block)?;
        }
        Ok(())
    })
}
