//! Block validation, replication by re-execution, and persistence.

mod common;

use common::*;
use epichain_core::{CaseChange, CaseStatus, Hash};
use epichain_ledger::{Ledger, LedgerError};

/// A world with a few dozen reports and updates spread over several blocks.
fn busy_world() -> World {
    let mut world = World::new();
    for round in 0..5 {
        let mut transactions = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..6 {
            let (transaction, id) = world
                .futian_hospital
                .report(world.report("DENGUE", "440304"));
            transactions.push(transaction);
            ids.push(id);
        }
        let (transaction, _) = world
            .yuexiu_hospital
            .report(world.report("INFLUENZA", "440104"));
        transactions.push(transaction);
        world.block(transactions);
        let reader = world.ledger.reader().expect("reader");
        let heads: Vec<Hash> = ids
            .iter()
            .map(|id| reader.case(id).expect("read").expect("case").head)
            .collect();
        drop(reader);
        let mut updates = Vec::new();
        for (index, (id, head)) in ids.iter().zip(heads).enumerate() {
            let status = if (index + round) % 3 == 0 {
                CaseStatus::Excluded
            } else {
                CaseStatus::LabConfirmed
            };
            let signer = if status == CaseStatus::Excluded {
                &mut world.futian_cdc
            } else {
                &mut world.shenzhen_lab
            };
            updates.push(signer.update(*id, head, CaseChange::Status(status), vec![]));
        }
        world.block(updates);
    }
    world
}

#[test]
fn a_replica_reexecuting_the_blocks_reaches_the_same_state_roots() {
    let world = busy_world();
    let directory = tempfile::tempdir().expect("temp dir");
    let mut replica =
        Ledger::open(&directory.path().join("replica.redb"), &world.genesis).expect("open");
    for block in world.blocks() {
        let expected = block.header.clone();
        let outcome = replica.apply_block(block).expect("valid block");
        assert_eq!(outcome.header, expected);
        let reader = replica.reader().expect("reader");
        assert_eq!(
            reader.state_root(expected.height).expect("root"),
            expected.state_root
        );
    }
    assert_eq!(replica.tip(), world.ledger.tip());
}

#[test]
fn a_block_with_a_wrong_state_root_is_refused_and_changes_nothing() {
    let world = busy_world();
    let directory = tempfile::tempdir().expect("temp dir");
    let mut replica =
        Ledger::open(&directory.path().join("replica.redb"), &world.genesis).expect("open");
    let blocks = world.blocks();
    replica.apply_block(blocks[0].clone()).expect("first block");
    let tip = replica.tip();

    let mut wrong_root = blocks[1].clone();
    wrong_root.header.state_root = Hash([1; 32]);
    assert!(matches!(
        replica.apply_block(wrong_root),
        Err(LedgerError::InvalidBlock(_))
    ));

    let mut wrong_receipts = blocks[1].clone();
    wrong_receipts.header.receipts_root = Hash([1; 32]);
    assert!(matches!(
        replica.apply_block(wrong_receipts),
        Err(LedgerError::InvalidBlock(_))
    ));

    let mut dropped_transaction = blocks[1].clone();
    dropped_transaction.transactions.pop();
    assert!(matches!(
        replica.apply_block(dropped_transaction),
        Err(LedgerError::InvalidBlock(_))
    ));

    let mut reordered = blocks[1].clone();
    reordered.transactions.swap(0, 1);
    assert!(matches!(
        replica.apply_block(reordered),
        Err(error) if error.is_invalid_block()
    ));

    let mut wrong_parent = blocks[1].clone();
    wrong_parent.header.parent = Hash([2; 32]);
    assert!(matches!(
        replica.apply_block(wrong_parent),
        Err(LedgerError::InvalidBlock(_))
    ));

    let mut earlier = blocks[1].clone();
    earlier.header.time_ms = blocks[0].header.time_ms;
    assert!(matches!(
        replica.apply_block(earlier),
        Err(LedgerError::InvalidBlock(_))
    ));

    assert!(matches!(
        replica.apply_block(blocks[2].clone()),
        Err(LedgerError::InvalidBlock(_))
    ));
    assert_eq!(replica.tip(), tip, "nothing was written");
    replica
        .apply_block(blocks[1].clone())
        .expect("the genuine block still applies");
}

#[test]
fn reopening_restores_the_tip_and_the_state_root() {
    let world = busy_world();
    let tip = world.ledger.tip();
    let path = world.directory.path().join("ledger.redb");
    let genesis = world.genesis.clone();
    let directory = world.directory;
    drop(world.ledger);
    let reopened = Ledger::open(&path, &genesis).expect("reopen");
    assert_eq!(reopened.tip(), tip);
    let reader = reopened.reader().expect("reader");
    assert_eq!(reader.state_root(tip.height).expect("root"), tip.state_root);
    drop(reader);
    drop(reopened);
    // Another genesis cannot open this store.
    let mut other = genesis.clone();
    other.chain_name = "another chain".to_string();
    assert!(matches!(
        Ledger::open(&path, &other),
        Err(LedgerError::Genesis(_))
    ));
    drop(directory);
}

#[test]
fn every_header_commits_to_its_parent() {
    let world = busy_world();
    let blocks = world.blocks();
    assert_eq!(blocks[0].header.parent, world.chain_id());
    for pair in blocks.windows(2) {
        assert_eq!(pair[1].header.parent, pair[0].header.hash());
        assert_eq!(pair[1].header.height, pair[0].header.height + 1);
    }
}

#[test]
fn indexes_find_cases_by_jurisdiction_disease_reporter_and_patient() {
    let world = busy_world();
    let reader = world.ledger.reader().expect("reader");
    let store = reader.store();
    let dengue = disease("DENGUE");
    let everything = (0, u32::MAX);
    let in_shenzhen = store
        .cases_by_disease(&dengue, code("440300"), everything.0, everything.1, 1000)
        .expect("query");
    let in_guangdong = store
        .cases_by_disease(&dengue, code("440000"), everything.0, everything.1, 1000)
        .expect("query");
    let in_guangzhou = store
        .cases_by_disease(&dengue, code("440100"), everything.0, everything.1, 1000)
        .expect("query");
    assert_eq!(in_shenzhen.len(), 30);
    assert_eq!(in_guangdong.len(), 30);
    assert!(in_guangzhou.is_empty());
    let influenza = store
        .cases_by_disease(
            &disease("INFLUENZA"),
            code("440104"),
            everything.0,
            everything.1,
            1000,
        )
        .expect("query");
    assert_eq!(influenza.len(), 5);
    let by_reporter = store
        .cases_by_reporter(&world.futian_hospital.public_key(), 1000)
        .expect("query");
    assert_eq!(by_reporter.len(), 30);
    let by_patient = store
        .cases_by_patient(&epichain_core::PatientRef::Pseudonym(Hash([7; 32])), 1000)
        .expect("query");
    assert_eq!(by_patient.len(), 35);
    let limited = store
        .cases_by_disease(&dengue, code("440300"), everything.0, everything.1, 7)
        .expect("query");
    assert_eq!(limited.len(), 7);
}

#[test]
fn blocks_verify_speculatively_on_uncommitted_parents_then_commit_in_order() {
    let world = busy_world();
    let blocks = world.blocks();
    let directory = tempfile::tempdir().expect("temp dir");
    let mut replica =
        Ledger::open(&directory.path().join("replica.redb"), &world.genesis).expect("open");
    // Verify every block on top of all the previous ones, committing nothing.
    let mut prepared = Vec::new();
    for block in blocks.iter().cloned() {
        let ancestors: Vec<_> = prepared.iter().collect();
        let next = replica
            .verify_on(&ancestors, block)
            .expect("verifies speculatively");
        prepared.push(next);
    }
    assert_eq!(replica.tip().height, 0, "nothing committed yet");
    // A sibling of block 3 built on the same ancestors cannot be committed once block 3 is.
    let ancestors: Vec<_> = prepared[..2].iter().collect();
    let sibling = replica
        .prepare_on(&ancestors, blocks[2].header.time_ms + 5, vec![])
        .expect("sibling");
    for (index, block) in prepared.into_iter().enumerate() {
        assert_eq!(block.hash(), blocks[index].header.hash());
        replica.commit(block).expect("commits in order");
    }
    assert_eq!(replica.tip(), world.ledger.tip());
    assert!(matches!(
        replica.commit(sibling),
        Err(LedgerError::InvalidBlock(_))
    ));
    // Ancestors that do not extend the tip are refused.
    let stale = replica
        .prepare(world.ledger.tip().time_ms + 1, vec![])
        .expect("next");
    let orphan = replica.prepare_on(&[&stale, &stale], world.ledger.tip().time_ms + 9, vec![]);
    assert!(matches!(orphan, Err(LedgerError::InvalidBlock(_))));
}

#[test]
fn certificates_are_stored_with_blocks() {
    let world = busy_world();
    let directory = tempfile::tempdir().expect("temp dir");
    let mut replica =
        Ledger::open(&directory.path().join("replica.redb"), &world.genesis).expect("open");
    let blocks = world.blocks();
    replica
        .apply_certified_block(blocks[0].clone(), Some(b"certificate-1"))
        .expect("apply");
    replica.apply_block(blocks[1].clone()).expect("apply");
    replica
        .store_certificate(2, b"late-certificate")
        .expect("store");
    let reader = replica.reader().expect("reader");
    assert_eq!(
        reader.certificate(1).expect("read"),
        Some(b"certificate-1".to_vec())
    );
    assert_eq!(
        reader.certificate(2).expect("read"),
        Some(b"late-certificate".to_vec())
    );
    assert_eq!(reader.certificate(3).expect("read"), None);
}

/// Review C3/M3: nothing that fails authentication is ever stored. A proposer leaves such
/// transactions out; a validator refuses a block that carries one (a Byzantine leader's), so a
/// stranger's junk cannot bloat the chain and a replay cannot overwrite an applied receipt.
#[test]
fn blocks_carrying_unauthenticated_transactions_are_invalid() {
    let mut world = World::new();
    let (report, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    let applied_at = world.block(vec![report.clone()]).header.height;
    let mut stranger = epichain_core::Signer::new(
        epichain_core::KeyPair::from_seed([77; 32]),
        world.chain_id(),
        0,
    );
    let (junk, _) = stranger.report(world.report("DENGUE", "440304"));
    let (mut forged, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    forged.signature.0[3] ^= 1;
    let (good, _) = world
        .yuexiu_hospital
        .report(world.report("INFLUENZA", "440104"));

    // The proposer keeps only the authenticated transaction.
    let time_ms = world.time_ms + 60_000;
    let prepared = world
        .ledger
        .prepare(
            time_ms,
            vec![junk.clone(), forged, report.clone(), good.clone()],
        )
        .expect("prepare");
    assert_eq!(prepared.block.transactions, vec![good.clone()]);
    let codes: Vec<(usize, &str)> = prepared
        .unauthenticated()
        .iter()
        .map(|refused| (refused.position, refused.rejection.code()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (0, "unknown_signer"),
            (1, "bad_signature"),
            (2, "stale_nonce")
        ]
    );

    // A Byzantine leader's block with the same junk, an already finalized transaction, or the
    // same transaction twice (review M3) is refused by every validator.
    for (smuggled, position) in [(junk, 0), (report.clone(), 0), (good.clone(), 1)] {
        let mut block = prepared.block.clone();
        block.transactions.insert(0, smuggled);
        block.header.transaction_count = 2;
        match world.ledger.verify_on(&[], block) {
            Err(LedgerError::Unauthenticated(refused)) => assert_eq!(refused.position, position),
            Err(other) => panic!("expected an unauthenticated refusal, got {other}"),
            Ok(_) => panic!("a block carrying an unauthenticated transaction verified"),
        }
    }
    world.ledger.commit(prepared).expect("commit");
    let reader = world.ledger.reader().expect("reader");
    let (height, receipt) = reader.receipt(&report.id()).expect("read").expect("kept");
    assert_eq!(
        height, applied_at,
        "the applied receipt is never overwritten"
    );
    assert_eq!(receipt.outcome, epichain_core::TransactionOutcome::Applied);
    let stored = reader
        .store()
        .block(applied_at + 1)
        .expect("read")
        .expect("block");
    assert_eq!(stored.transactions, vec![good]);
}
