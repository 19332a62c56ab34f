//! Deterministic simulation of the BFT network with commonware's simulated p2p and runtime:
//! 4 validators executing real ledger blocks under message delay and loss, a crashed and
//! restarted validator, a partition that heals, and a validator sending conflicting votes.
//! Honest validators must agree on every finalized block and state root, and make progress
//! after faults heal. A failing seed replays exactly.

use crate::common::{Sim, VALIDATOR_COUNT, link, runner, workload};
use commonware_consensus::simplex::mocks::conflicter;
use commonware_cryptography::Sha256;
use commonware_runtime::{Clock as _, Quota, Runner as _, Supervisor as _};
use commonware_utils::{NZU32, ordered::Set};
use epichain_core::{Hash, TransactionOutcome};
use epichain_node::Scheme;
use epichain_node::consensus::{self, channel};
use epichain_node::finality::consensus_private_key;
use epichain_world::validator_key;
use std::time::Duration;

/// Runs the basic workload with `seed`; returns validator 0's (height, tip hash) after every
/// transaction applied.
fn basic_run(seed: u64) -> (u64, Hash) {
    runner(seed).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(10, 8, 95)).await;
        for index in 0..VALIDATOR_COUNT {
            sim.start(index).await;
        }
        let (transactions, ids) = workload(&mut sim.world, 30);
        sim.submit(&transactions);
        sim.wait_applied(&[0], &ids).await;
        let tip = sim.nodes[0].chain().tip().expect("tip");
        (tip.height, tip.hash)
    })
}

#[test]
fn the_same_seed_replays_the_same_chain() {
    assert_eq!(basic_run(42), basic_run(42));
}

#[test]
fn four_validators_finalize_and_agree_on_ledger_blocks() {
    runner(1).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(10, 2, 100)).await;
        for index in 0..VALIDATOR_COUNT {
            sim.start(index).await;
        }
        let (transactions, ids) = workload(&mut sim.world, 60);
        sim.submit(&transactions);
        sim.wait_applied(&[0, 1, 2, 3], &ids).await;
        sim.assert_agreement(&[0, 1, 2, 3]);
        let reader = sim.nodes[0].chain().reader().expect("reader");
        for id in &ids {
            let (_, receipt) = reader.receipt(id).expect("read").expect("receipt");
            assert_eq!(receipt.outcome, TransactionOutcome::Applied, "{id}");
        }
    });
}

/// One seed of the fault schedule: lossy links with jitter, a validator crashed and restarted
/// on its storage, then a 2–2 partition that heals.
fn faults(seed: u64) {
    runner(seed).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(20, 15, 90)).await;
        for index in 0..VALIDATOR_COUNT {
            sim.start(index).await;
        }
        let (transactions, ids) = workload(&mut sim.world, 20);
        sim.submit(&transactions);
        sim.wait_height(&[0, 1, 2, 3], 3).await;

        // Crash validator 3; the other three keep finalizing.
        sim.crash(3);
        let before = sim.height(0);
        sim.wait_height(&[0, 1, 2], before + 3).await;
        sim.start(3).await;
        sim.wait_applied(&[0, 1, 2, 3], &ids).await;

        // Partition {0,1} | {2,3}: no quorum on either side; then heal.
        for a in [0, 1] {
            for b in [2, 3] {
                sim.disconnect(a, b).await;
                sim.disconnect(b, a).await;
            }
        }
        sim.context.sleep(Duration::from_secs(5)).await;
        sim.connect_all(&link(20, 15, 90)).await;
        let healed = (0..VALIDATOR_COUNT)
            .map(|index| sim.height(index))
            .max()
            .unwrap_or(0);
        sim.wait_height(&[0, 1, 2, 3], healed + 3).await;
        sim.assert_agreement(&[0, 1, 2, 3]);
    });
}

/// Seeds per test function; four functions run in parallel. `EPICHAIN_SIMULATION_SEEDS`
/// overrides the count per function (e.g. 2,000 for a soak run).
fn seeds_per_shard() -> u64 {
    std::env::var("EPICHAIN_SIMULATION_SEEDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(50)
}

fn shard(index: u64) {
    let count = seeds_per_shard();
    for seed in index * 1_000_000..index * 1_000_000 + count {
        faults(seed);
    }
}

#[test]
fn honest_validators_agree_under_faults_shard_0() {
    shard(0);
}

#[test]
fn honest_validators_agree_under_faults_shard_1() {
    shard(1);
}

#[test]
fn honest_validators_agree_under_faults_shard_2() {
    shard(2);
}

#[test]
fn honest_validators_agree_under_faults_shard_3() {
    shard(3);
}

#[test]
fn a_validator_sending_conflicting_votes_cannot_break_agreement() {
    runner(7).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(10, 5, 100)).await;
        for index in 0..3 {
            sim.start(index).await;
        }
        // Validator 3 signs a conflicting vote for every vote it sees.
        let namespace = consensus::namespace(&sim.world.genesis.chain_id());
        let scheme = Scheme::signer(
            &namespace,
            Set::from_iter_dedup(sim.keys.clone()),
            consensus_private_key(&validator_key(3)).expect("key"),
        )
        .expect("participant");
        let control = sim.oracle.control(sim.keys[3].clone());
        let votes = control
            .register(channel::VOTES, Quota::per_second(NZU32!(10_000)))
            .await
            .expect("register");
        conflicter::Conflicter::<_, _, Sha256>::new(
            sim.context.child("byzantine"),
            conflicter::Config { scheme },
        )
        .start(votes);
        let (transactions, ids) = workload(&mut sim.world, 20);
        sim.submit(&transactions);
        sim.wait_applied(&[0, 1, 2], &ids).await;
        sim.assert_agreement(&[0, 1, 2]);
    });
}

/// Review M13: a validator that gossips transactions with forged signatures is blocked by every
/// honest validator (disconnected and refused), instead of making them check forgeries forever;
/// honest transactions still finalize.
#[test]
fn a_validator_gossiping_forged_signatures_is_blocked() {
    use commonware_p2p::{Recipients, Sender as _};
    runner(11).start(|context| async move {
        let mut sim = Sim::new(context).await;
        sim.connect_all(&link(10, 5, 100)).await;
        for index in 0..3 {
            sim.start(index).await;
        }
        let (transactions, ids) = workload(&mut sim.world, 20);
        // Validator 3 gossips a well-formed transaction whose signature is not its signer's.
        let mut forged = transactions[0].clone();
        forged.signature.0[0] ^= 1;
        let control = sim.oracle.control(sim.keys[3].clone());
        let (mut sender, _receiver) = control
            .register(channel::TRANSACTIONS, Quota::per_second(NZU32!(10_000)))
            .await
            .expect("register");
        let batch = epichain_core::encoding::encode(&vec![forged.to_bytes()]);
        let _ = sender.send(Recipients::All, batch, false);
        sim.submit(&transactions);
        sim.wait_applied(&[0, 1, 2], &ids).await;
        let byzantine = sim.keys[3].clone();
        let mut blockers = 0;
        for _ in 0..100 {
            let blocked = sim.oracle.blocked().await.expect("oracle");
            blockers = (0..3)
                .filter(|index| blocked.contains(&(sim.keys[*index].clone(), byzantine.clone())))
                .count();
            if blockers == 3 {
                break;
            }
            sim.context.sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(blockers, 3, "honest validators that blocked the forger");
        sim.assert_agreement(&[0, 1, 2]);
    });
}
