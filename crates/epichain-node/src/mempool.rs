//! The mempool: transactions that passed admission and wait for a block. Bounded in count and
//! bytes, overall and per signer (one signer cannot crowd out the others); duplicates are dropped;
//! old entries expire. Selection keeps each signer's transactions in nonce order and never takes
//! a later nonce without every earlier one pending from that signer (a skipped report would
//! otherwise become a stale nonce, lost).

use epichain_core::{Hash, Payload, PublicKey, SignedTransaction};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Limits of the mempool.
#[derive(Clone, Copy, Debug)]
pub struct MempoolLimits {
    /// Most transactions held.
    pub transactions_max: usize,
    /// Most encoded bytes held.
    pub bytes_max: usize,
    /// Most transactions held for one signer.
    pub signer_transactions_max: usize,
    /// Most encoded bytes held for one signer.
    pub signer_bytes_max: usize,
    /// Most enrolments held (they are the only transactions from keys not yet enrolled).
    pub enrolments_max: usize,
    /// Entries older than this are dropped, milliseconds.
    pub age_max_ms: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            transactions_max: 200_000,
            bytes_max: 256 * 1024 * 1024,
            signer_transactions_max: 16_384,
            signer_bytes_max: 32 * 1024 * 1024,
            enrolments_max: 1_024,
            age_max_ms: 10 * 60 * 1000,
        }
    }
}

/// What happened to a submitted transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Newly held.
    Added,
    /// Already held.
    Duplicate,
    /// Another transaction of the signer with the same nonce is held.
    NonceTaken,
    /// No room: try later.
    Full,
    /// The signer's share is used up: try later.
    SignerFull,
    /// Too many enrolments wait: try later.
    EnrolmentsFull,
}

#[derive(Clone, Debug)]
struct Entry {
    transaction: Arc<SignedTransaction>,
    bytes: usize,
    arrival_ms: u64,
    sequence: u64,
}

impl Entry {
    fn signer(&self) -> PublicKey {
        self.transaction.transaction.signer
    }

    fn nonce(&self) -> u64 {
        self.transaction.transaction.nonce
    }

    fn is_enrolment(&self) -> bool {
        matches!(
            self.transaction.transaction.payload,
            Payload::EnrollIdentity(_)
        )
    }
}

/// One signer's pending transactions by nonce.
#[derive(Debug, Default)]
struct SignerPending {
    nonces: BTreeMap<u64, Hash>,
    bytes: usize,
    enrolments: usize,
}

/// Pending transactions in arrival order.
#[derive(Debug, Default)]
pub struct Mempool {
    limits: MempoolLimits,
    entries: BTreeMap<Hash, Entry>,
    arrivals: BTreeMap<u64, Hash>,
    signers: BTreeMap<PublicKey, SignerPending>,
    next_sequence: u64,
    bytes: usize,
    enrolments: usize,
}

impl Mempool {
    /// An empty mempool.
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            limits,
            ..Mempool::default()
        }
    }

    /// Number of transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// True if the transaction is held.
    pub fn contains(&self, id: &Hash) -> bool {
        self.entries.contains_key(id)
    }

    /// True if an enrolment of `signer` is held (its next transactions may follow it).
    pub fn enrolment_pending(&self, signer: &PublicKey) -> bool {
        self.signers
            .get(signer)
            .is_some_and(|pending| pending.enrolments > 0)
    }

    /// Why `entry` cannot be held now, if it cannot.
    fn refusal(&self, id: &Hash, entry: &Entry) -> Option<Admission> {
        if self.entries.contains_key(id) {
            return Some(Admission::Duplicate);
        }
        if self.entries.len() >= self.limits.transactions_max
            || self.bytes + entry.bytes > self.limits.bytes_max
        {
            return Some(Admission::Full);
        }
        if let Some(pending) = self.signers.get(&entry.signer()) {
            if pending.nonces.contains_key(&entry.nonce()) {
                return Some(Admission::NonceTaken);
            }
            if pending.nonces.len() >= self.limits.signer_transactions_max
                || pending.bytes + entry.bytes > self.limits.signer_bytes_max
            {
                return Some(Admission::SignerFull);
            }
        }
        if entry.is_enrolment() && self.enrolments >= self.limits.enrolments_max {
            return Some(Admission::EnrolmentsFull);
        }
        None
    }

    /// Adds a transaction that passed admission.
    pub fn insert(
        &mut self,
        id: Hash,
        transaction: Arc<SignedTransaction>,
        bytes: usize,
        now_ms: u64,
    ) -> Admission {
        let entry = Entry {
            transaction,
            bytes,
            arrival_ms: now_ms,
            sequence: self.next_sequence,
        };
        if let Some(refusal) = self.refusal(&id, &entry) {
            return refusal;
        }
        self.next_sequence += 1;
        self.arrivals.insert(entry.sequence, id);
        let pending = self.signers.entry(entry.signer()).or_default();
        pending.nonces.insert(entry.nonce(), id);
        pending.bytes += bytes;
        if entry.is_enrolment() {
            pending.enrolments += 1;
            self.enrolments += 1;
        }
        self.bytes += bytes;
        self.entries.insert(id, entry);
        Admission::Added
    }

    /// Up to `count_max` transactions and `bytes_max` bytes, skipping `exclude` (already in the
    /// ancestry). Signers are served by their oldest pending transaction; each signer's
    /// transactions are taken in nonce order and stop at the first that does not fit, so a
    /// later nonce never goes without an earlier one. The result is ordered by (signer, nonce).
    pub fn select(
        &self,
        count_max: usize,
        bytes_max: usize,
        exclude: &BTreeSet<Hash>,
    ) -> Vec<Arc<SignedTransaction>> {
        let mut chosen: Vec<Arc<SignedTransaction>> = Vec::new();
        let mut bytes = 0;
        let mut served: BTreeSet<PublicKey> = BTreeSet::new();
        for id in self.arrivals.values() {
            if chosen.len() >= count_max {
                break;
            }
            let Some(entry) = self.entries.get(id) else {
                continue;
            };
            let signer = entry.signer();
            if !served.insert(signer) {
                continue;
            }
            let Some(pending) = self.signers.get(&signer) else {
                continue;
            };
            for id in pending.nonces.values() {
                if exclude.contains(id) {
                    continue;
                }
                let Some(next) = self.entries.get(id) else {
                    break;
                };
                if chosen.len() >= count_max || bytes + next.bytes > bytes_max {
                    break;
                }
                bytes += next.bytes;
                chosen.push(next.transaction.clone());
            }
        }
        chosen.sort_by_key(|transaction| {
            let inner = &transaction.transaction;
            (signer_order(&inner.signer), inner.nonce)
        });
        chosen
    }

    /// Drops transactions (included in a committed block, or refused by a proposer).
    pub fn remove(&mut self, ids: impl IntoIterator<Item = Hash>) {
        for id in ids {
            let Some(entry) = self.entries.remove(&id) else {
                continue;
            };
            self.arrivals.remove(&entry.sequence);
            self.bytes -= entry.bytes;
            let signer = entry.signer();
            if let Some(pending) = self.signers.get_mut(&signer) {
                pending.nonces.remove(&entry.nonce());
                pending.bytes -= entry.bytes;
                if entry.is_enrolment() {
                    pending.enrolments -= 1;
                    self.enrolments -= 1;
                }
                if pending.nonces.is_empty() {
                    self.signers.remove(&signer);
                }
            }
        }
    }

    /// Drops entries that arrived before `now_ms - age_max_ms`; returns how many.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        let cutoff = now_ms.saturating_sub(self.limits.age_max_ms);
        let expired: Vec<Hash> = self
            .arrivals
            .values()
            .take_while(|id| {
                self.entries
                    .get(*id)
                    .is_some_and(|entry| entry.arrival_ms < cutoff)
            })
            .copied()
            .collect();
        let count = expired.len();
        self.remove(expired);
        count
    }
}

fn signer_order(key: &PublicKey) -> [u8; 32] {
    key.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use epichain_core::{KeyPair, Payload, RevocationReason, RevokeIdentity, Transaction};

    fn transaction(seed: u8, nonce: u64) -> (Hash, Arc<SignedTransaction>) {
        let key = KeyPair::from_seed([seed; 32]);
        let signed = Transaction {
            chain_id: Hash([1; 32]),
            signer: key.public_key(),
            nonce,
            payload: Payload::RevokeIdentity(RevokeIdentity {
                key: key.public_key(),
                reason: RevocationReason::Unspecified,
            }),
        }
        .sign(&key);
        (signed.id(), Arc::new(signed))
    }

    fn limits(transactions_max: usize) -> MempoolLimits {
        MempoolLimits {
            transactions_max,
            bytes_max: 10_000,
            age_max_ms: 1_000,
            ..MempoolLimits::default()
        }
    }

    #[test]
    fn bounded_and_deduplicated() {
        let mut pool = Mempool::new(limits(2));
        let (a, ta) = transaction(1, 1);
        let (b, tb) = transaction(2, 1);
        let (c, tc) = transaction(3, 1);
        assert_eq!(pool.insert(a, ta.clone(), 100, 0), Admission::Added);
        assert_eq!(pool.insert(a, ta, 100, 0), Admission::Duplicate);
        assert_eq!(pool.insert(b, tb, 100, 0), Admission::Added);
        assert_eq!(pool.insert(c, tc.clone(), 100, 0), Admission::Full);
        pool.remove([a]);
        assert_eq!(pool.insert(c, tc, 100, 0), Admission::Added);
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.bytes(), 200);
        let mut bytes_pool = Mempool::new(limits(100));
        let (d, td) = transaction(4, 1);
        assert_eq!(bytes_pool.insert(d, td, 20_000, 0), Admission::Full);
    }

    #[test]
    fn selection_respects_limits_exclusions_and_nonce_order() {
        let mut pool = Mempool::new(limits(100));
        let (late, late_tx) = transaction(1, 2);
        let (early, early_tx) = transaction(1, 1);
        let (other, other_tx) = transaction(2, 1);
        pool.insert(late, late_tx, 10, 0);
        pool.insert(early, early_tx, 10, 0);
        pool.insert(other, other_tx, 10, 0);
        let all = pool.select(10, 1_000, &BTreeSet::new());
        let signer_one: Vec<u64> = all
            .iter()
            .filter(|t| t.transaction.signer == KeyPair::from_seed([1; 32]).public_key())
            .map(|t| t.transaction.nonce)
            .collect();
        assert_eq!(signer_one, vec![1, 2]);
        assert_eq!(pool.select(2, 1_000, &BTreeSet::new()).len(), 2);
        assert_eq!(pool.select(10, 15, &BTreeSet::new()).len(), 1);
        assert_eq!(pool.select(10, 1_000, &BTreeSet::from([other])).len(), 2);
    }

    /// Review M4: a large early nonce that does not fit must hold back the signer's later ones,
    /// or the later applies first and the early report is lost as a stale nonce.
    #[test]
    fn selection_never_takes_a_later_nonce_without_the_earlier() {
        let mut pool = Mempool::new(limits(100));
        let (big, big_tx) = transaction(1, 1);
        let (small, small_tx) = transaction(1, 2);
        let (other, other_tx) = transaction(2, 1);
        pool.insert(big, big_tx, 2_000, 0);
        pool.insert(small, small_tx, 100, 0);
        pool.insert(other, other_tx, 100, 0);
        let chosen: Vec<Hash> = pool
            .select(10, 1_500, &BTreeSet::new())
            .iter()
            .map(|transaction| transaction.id())
            .collect();
        assert_eq!(chosen, vec![other]);
        // Arrival out of nonce order: both taken, in nonce order.
        let mut pool = Mempool::new(limits(100));
        let (second, second_tx) = transaction(3, 2);
        let (first, first_tx) = transaction(3, 1);
        pool.insert(second, second_tx, 10, 0);
        pool.insert(first, first_tx, 10, 0);
        let chosen: Vec<Hash> = pool
            .select(10, 1_000, &BTreeSet::new())
            .iter()
            .map(|transaction| transaction.id())
            .collect();
        assert_eq!(chosen, vec![first, second]);
        // With the first already in the ancestry, the second follows it.
        let chosen = pool.select(10, 1_000, &BTreeSet::from([first]));
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].id(), second);
    }

    #[test]
    fn one_signer_cannot_take_the_whole_pool() {
        let mut pool = Mempool::new(MempoolLimits {
            signer_transactions_max: 2,
            signer_bytes_max: 150,
            ..limits(100)
        });
        let (a, ta) = transaction(1, 1);
        let (b, tb) = transaction(1, 2);
        let (c, tc) = transaction(1, 3);
        assert_eq!(pool.insert(a, ta, 10, 0), Admission::Added);
        assert_eq!(pool.insert(b, tb, 10, 0), Admission::Added);
        assert_eq!(pool.insert(c, tc.clone(), 10, 0), Admission::SignerFull);
        let (d, td) = transaction(2, 1);
        assert_eq!(pool.insert(d, td, 200, 0), Admission::Added);
        let (e, te) = transaction(2, 2);
        assert_eq!(pool.insert(e, te, 10, 0), Admission::SignerFull, "bytes");
        pool.remove([a]);
        assert_eq!(pool.insert(c, tc, 10, 0), Admission::Added);
        // Another transaction with a nonce already pending cannot both apply.
        let key = KeyPair::from_seed([1; 32]);
        let twin = Transaction {
            chain_id: Hash([1; 32]),
            signer: key.public_key(),
            nonce: 2,
            payload: Payload::AccessLog(epichain_core::transaction::AccessLog {
                case_id: Hash::ZERO,
                purpose: epichain_core::transaction::AccessPurpose::Audit,
            }),
        }
        .sign(&key);
        assert_eq!(
            pool.insert(twin.id(), Arc::new(twin), 10, 0),
            Admission::NonceTaken
        );
    }

    #[test]
    fn old_entries_expire() {
        let mut pool = Mempool::new(limits(100));
        let (a, ta) = transaction(1, 1);
        let (b, tb) = transaction(2, 1);
        pool.insert(a, ta, 10, 0);
        pool.insert(b, tb, 10, 900);
        assert_eq!(pool.expire(1_500), 1);
        assert!(!pool.contains(&a) && pool.contains(&b));
    }
}
