//! One node's chain without consensus: blocks are proposed and applied directly, for tests of
//! what the ledger accepts and what readers can open.
#![allow(dead_code)]

use epichain_core::sealed::{self, Envelope};
use epichain_core::{Hash, SignedTransaction, TransactionOutcome};
use epichain_ledger::Ledger;
use epichain_node::block::ChainBlock;
use epichain_node::chain::{BlockLimits, Chain};
use epichain_node::mempool::MempoolLimits;
use epichain_world::DemoWorld;

/// 2026-11-01T00:00:00+08:00.
pub const GENESIS_MS: u64 = 1_793_462_400_000;

pub struct Single {
    pub chain: std::sync::Arc<Chain>,
    pub world: DemoWorld,
    pub time_ms: u64,
    pub _directory: tempfile::TempDir,
}

impl Single {
    pub fn new() -> Single {
        Single::with_validators(Vec::new())
    }

    /// A chain whose genesis names `validators` (they hold the escrow key).
    pub fn with_validators(validators: Vec<epichain_core::genesis::Validator>) -> Single {
        let world = DemoWorld::new(GENESIS_MS, validators).expect("world");
        let directory = tempfile::tempdir().expect("temp dir");
        let ledger =
            Ledger::open(&directory.path().join("ledger.redb"), &world.genesis).expect("ledger");
        Single {
            chain: std::sync::Arc::new(Chain::new(
                ledger,
                MempoolLimits::default(),
                BlockLimits::default(),
            )),
            world,
            time_ms: GENESIS_MS + 3_600_000,
            _directory: directory,
        }
    }

    /// Submits and commits one block with `transactions`; returns their outcomes.
    pub fn block(&mut self, transactions: &[SignedTransaction]) -> Vec<TransactionOutcome> {
        for transaction in transactions {
            self.chain
                .submit(&transaction.to_bytes(), self.time_ms)
                .expect("admitted");
        }
        self.time_ms += 60_000;
        let tip = self.chain.tip().expect("tip");
        let parent = if tip.height == 0 {
            ChainBlock::genesis(self.chain.chain_id())
        } else {
            let block = self
                .chain
                .reader()
                .expect("reader")
                .store()
                .block(tip.height)
                .expect("read")
                .expect("block");
            ChainBlock::new(block)
        };
        let block = self
            .chain
            .propose(&[parent], self.time_ms)
            .expect("propose");
        let outcome = self
            .chain
            .apply_finalized(&block, None, Box::new(|| ()))
            .expect("apply")
            .expect("outcome");
        transactions
            .iter()
            .map(|transaction| {
                outcome
                    .receipts
                    .iter()
                    .find(|receipt| receipt.transaction_id == transaction.id())
                    .expect("receipt")
                    .outcome
                    .clone()
            })
            .collect()
    }

    pub fn envelope(&self, case: &Hash) -> Envelope {
        let record = self
            .chain
            .reader()
            .expect("reader")
            .case_view(case)
            .expect("read")
            .expect("case");
        Envelope::from_bytes(&record.sealed).expect("envelope")
    }

    /// (identity key, encryption key) of a demo participant.
    pub fn keys(&mut self, handle: &str) -> (epichain_core::PublicKey, sealed::EncryptionKeyPair) {
        let identity = self.world.identity(handle).expect("identity");
        (identity.signer.public_key(), identity.encryption.clone())
    }
}
