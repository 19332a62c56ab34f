//! Review M5: with group commit (`sync_interval_blocks > 1`) a crash may lose the ledger's last
//! blocks. Consensus is acknowledged only for durable blocks, so what was lost was never
//! acknowledged: marshal delivers it again, from the ledger's tip, and it applies.

use crate::single::Single;
use epichain_core::TransactionOutcome;
use epichain_ledger::Ledger;
use epichain_node::block::ChainBlock;
use epichain_node::chain::{BlockLimits, Chain};
use epichain_node::mempool::MempoolLimits;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Applies `blocks` as finalized, recording the height of each as it becomes durable.
fn apply_all(chain: &Chain, blocks: &[ChainBlock], acknowledged: &Arc<AtomicU64>) {
    for block in blocks {
        let counter = acknowledged.clone();
        let height = block.block().expect("block").header.height;
        chain
            .apply_finalized(
                block,
                None,
                Box::new(move || counter.store(height, Ordering::SeqCst)),
            )
            .expect("a finalized block applies");
    }
}

#[test]
fn blocks_lost_with_group_commit_were_never_acknowledged_and_apply_again() {
    // Blocks as a proposer built them (from a chain that writes every block).
    let mut source = Single::new();
    let enrolments = source.world.enrolments();
    assert!(
        source
            .block(&enrolments)
            .iter()
            .all(|outcome| *outcome == TransactionOutcome::Applied)
    );
    for _ in 0..4 {
        source.block(&[]);
    }
    let reader = source.chain.reader().expect("reader");
    let blocks: Vec<ChainBlock> = (1..=5)
        .map(|height| ChainBlock::new(reader.store().block(height).expect("read").expect("block")))
        .collect();
    drop(reader);

    // A validator that syncs every 10 blocks applies them; none is acknowledged.
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("ledger.redb");
    let acknowledged = Arc::new(AtomicU64::new(0));
    {
        let mut ledger = Ledger::open(&path, &source.world.genesis).expect("open");
        ledger.set_sync_interval(10);
        let chain = Chain::new(ledger, MempoolLimits::default(), BlockLimits::default());
        apply_all(&chain, &blocks, &acknowledged);
        assert_eq!(
            acknowledged.load(Ordering::SeqCst),
            0,
            "nothing durable, nothing acknowledged"
        );
        // A crash: the files as they are now, the process gone without syncing.
        std::fs::copy(&path, directory.path().join("crashed.redb")).expect("copy");
        std::mem::forget(chain);
    }
    // Restarted, the ledger holds at most what was durable; marshal redelivers everything after
    // the last acknowledged height (0), and each block applies or is already there.
    let crashed = directory.path().join("crashed.redb");
    let ledger = Ledger::open(&crashed, &source.world.genesis).expect("reopen");
    let chain = Chain::new(ledger, MempoolLimits::default(), BlockLimits::default());
    apply_all(&chain, &blocks, &acknowledged);
    chain.sync().expect("sync");
    assert_eq!(chain.tip().expect("tip").height, 5);
    assert_eq!(acknowledged.load(Ordering::SeqCst), 5);
}
