//! The mempool: transactions that passed the stateless checks and wait for a block. Bounded in
//! count and bytes; duplicates are dropped; old entries expire.

use epichain_core::{Hash, PublicKey, SignedTransaction};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Limits of the mempool.
#[derive(Clone, Copy, Debug)]
pub struct MempoolLimits {
    /// Most transactions held.
    pub transactions_max: usize,
    /// Most encoded bytes held.
    pub bytes_max: usize,
    /// Entries older than this are dropped, milliseconds.
    pub age_max_ms: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            transactions_max: 200_000,
            bytes_max: 256 * 1024 * 1024,
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
    /// No room: try later.
    Full,
}

#[derive(Clone, Debug)]
struct Entry {
    transaction: Arc<SignedTransaction>,
    bytes: usize,
    arrival_ms: u64,
    sequence: u64,
}

/// Pending transactions in arrival order.
#[derive(Debug, Default)]
pub struct Mempool {
    limits: MempoolLimits,
    entries: BTreeMap<Hash, Entry>,
    arrivals: BTreeMap<u64, Hash>,
    next_sequence: u64,
    bytes: usize,
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

    /// Adds a transaction that passed the stateless checks.
    pub fn insert(
        &mut self,
        id: Hash,
        transaction: Arc<SignedTransaction>,
        bytes: usize,
        now_ms: u64,
    ) -> Admission {
        if self.entries.contains_key(&id) {
            return Admission::Duplicate;
        }
        if self.entries.len() >= self.limits.transactions_max
            || self.bytes + bytes > self.limits.bytes_max
        {
            return Admission::Full;
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.arrivals.insert(sequence, id);
        self.entries.insert(
            id,
            Entry {
                transaction,
                bytes,
                arrival_ms: now_ms,
                sequence,
            },
        );
        self.bytes += bytes;
        Admission::Added
    }

    /// Up to `count_max` transactions and `bytes_max` bytes, oldest first, skipping `exclude`,
    /// ordered by (signer, nonce) so that each signer's transactions apply in nonce order.
    pub fn select(
        &self,
        count_max: usize,
        bytes_max: usize,
        exclude: &BTreeSet<Hash>,
    ) -> Vec<Arc<SignedTransaction>> {
        let mut chosen: Vec<Arc<SignedTransaction>> = Vec::new();
        let mut bytes = 0;
        for id in self.arrivals.values() {
            if chosen.len() >= count_max {
                break;
            }
            if exclude.contains(id) {
                continue;
            }
            let Some(entry) = self.entries.get(id) else {
                continue;
            };
            if bytes + entry.bytes > bytes_max {
                continue;
            }
            bytes += entry.bytes;
            chosen.push(entry.transaction.clone());
        }
        chosen.sort_by_key(|transaction| {
            let inner = &transaction.transaction;
            (signer_order(&inner.signer), inner.nonce)
        });
        chosen
    }

    /// Drops transactions (included in a committed block).
    pub fn remove(&mut self, ids: impl IntoIterator<Item = Hash>) {
        for id in ids {
            if let Some(entry) = self.entries.remove(&id) {
                self.arrivals.remove(&entry.sequence);
                self.bytes -= entry.bytes;
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
