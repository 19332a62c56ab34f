//! Early warning end to end on a 4-validator network (deterministic simulation): reports cross a
//! threshold → the same signal appears on every validator → workflow steps by the right roles
//! (wrong role or region rejected with a clear reason) → a final confirmation; every validator
//! ends with the same state root.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

use crate::common::{GENESIS_MS, NAMES, Sim, VALIDATOR_COUNT, runner};
use commonware_runtime::{Clock as _, Runner as _};
use epichain_core::warning::{SignalAction, SignalOutcome, Step};
use epichain_core::{Day, Hash, Payload, SignedTransaction, TransactionOutcome};
use epichain_ledger::state::SignalStatus;
use epichain_world::{DemoWorld, seasonal_history, validators};
use std::time::Duration;

fn outcome(sim: &Sim, id: &Hash) -> TransactionOutcome {
    let reader = sim.nodes[0].chain().reader().expect("reader");
    reader
        .receipt(id)
        .expect("read")
        .expect("receipt")
        .1
        .outcome
}

fn action(
    sim: &mut Sim,
    who: &str,
    signal: Hash,
    step: Step,
    outcome: Option<SignalOutcome>,
) -> SignedTransaction {
    sim.world
        .identity(who)
        .expect("identity")
        .signer
        .sign(Payload::SignalAction(SignalAction {
            signal,
            step,
            outcome,
            finding: epichain_core::warning::StepFinding::UnderInvestigation,
            sealed_note: Vec::new(),
        }))
}

#[test]
fn a_dengue_outbreak_is_signalled_on_every_validator_and_confirmed_through_the_workflow() {
    runner(11).start(|context| async move {
        let world = DemoWorld::with_history(
            GENESIS_MS,
            validators(&NAMES),
            seasonal_history(GENESIS_MS, 3).expect("history"),
        )
        .expect("world");
        let mut sim = Sim::enrolled(context, world).await;

        // A burst of dengue in Futian.
        let day = Day::from_unix_ms(epichain_node::application::now_ms(&sim.context));
        let burst: Vec<SignedTransaction> = (0..40)
            .map(|_| {
                let report = sim
                    .world
                    .case_report(day, "DENGUE", "440304")
                    .expect("report");
                sim.world
                    .identity("futian-hospital")
                    .expect("hospital")
                    .signer
                    .report(report)
                    .0
            })
            .collect();
        sim.settle(&burst).await;

        // The same signal on every validator.
        let mut signal_id = None;
        for node in &sim.nodes {
            let reader = node.chain().reader().expect("reader");
            let ids = reader
                .store()
                .signal_ids(0, u64::MAX >> 1, 100)
                .expect("signals");
            let dengue: Vec<Hash> = ids
                .into_iter()
                .filter(|id| {
                    reader
                        .get::<epichain_ledger::state::SignalRecord>(id)
                        .expect("read")
                        .is_some_and(|signal| {
                            signal.disease.as_str() == "DENGUE"
                                && signal.region.to_string() == "440304"
                        })
                })
                .collect();
            assert_eq!(dengue.len(), 1, "one dengue signal per validator");
            match signal_id {
                None => signal_id = Some(dengue[0]),
                Some(id) => assert_eq!(id, dengue[0]),
            }
        }
        let signal = signal_id.expect("signal");
        let record = sim.nodes[0]
            .chain()
            .reader()
            .expect("reader")
            .get::<epichain_ledger::state::SignalRecord>(&signal)
            .expect("read")
            .expect("signal");
        assert_eq!(record.method, "mpm");
        assert_eq!(record.cases.len(), 40);
        assert!(record.statistic() > record.threshold());

        // Wrong role, wrong region, missing steps: rejected with reasons.
        let by_hospital = action(&mut sim, "futian-hospital", signal, Step::Verify, None);
        let by_guangzhou = action(&mut sim, "yuexiu-cdc", signal, Step::Verify, None);
        let too_early = action(
            &mut sim,
            "guangdong-cdc",
            signal,
            Step::FinalConfirmation,
            Some(SignalOutcome::ConfirmedOutbreak),
        );
        sim.settle(&[by_hospital.clone(), by_guangzhou.clone(), too_early.clone()])
            .await;
        for (transaction, code) in [
            (&by_hospital, "workflow.wrong_role"),
            (&by_guangzhou, "outside_jurisdiction"),
            (&too_early, "workflow.missing_steps"),
        ] {
            match outcome(&sim, &transaction.id()) {
                TransactionOutcome::Rejected(rejection) => {
                    assert_eq!(rejection.code(), code, "{rejection}");
                }
                TransactionOutcome::Applied => panic!("expected {code}"),
            }
        }

        // The required steps in parallel (one block), then the final confirmation.
        let verify = action(&mut sim, "futian-cdc", signal, Step::Verify, None);
        let consult = action(
            &mut sim,
            "shenzhen-cdc",
            signal,
            Step::RegionalConsultation,
            None,
        );
        let pathogen = action(
            &mut sim,
            "shenzhen-lab",
            signal,
            Step::PathogenAnalysis,
            None,
        );
        sim.settle(&[verify.clone(), consult.clone(), pathogen.clone()])
            .await;
        for transaction in [&verify, &consult, &pathogen] {
            assert_eq!(
                outcome(&sim, &transaction.id()),
                TransactionOutcome::Applied
            );
        }
        sim.context.sleep(Duration::from_millis(100)).await;
        let confirm = action(
            &mut sim,
            "guangdong-cdc",
            signal,
            Step::FinalConfirmation,
            Some(SignalOutcome::ConfirmedOutbreak),
        );
        sim.settle(std::slice::from_ref(&confirm)).await;
        assert_eq!(outcome(&sim, &confirm.id()), TransactionOutcome::Applied);

        // Every validator holds the confirmed signal and the same state.
        let height = (0..VALIDATOR_COUNT)
            .map(|index| sim.height(index))
            .min()
            .expect("nodes");
        sim.wait_height(&[0, 1, 2, 3], height).await;
        for node in &sim.nodes {
            let record = node
                .chain()
                .reader()
                .expect("reader")
                .get::<epichain_ledger::state::SignalRecord>(&signal)
                .expect("read")
                .expect("signal");
            assert_eq!(record.status, SignalStatus::ConfirmedOutbreak);
            assert_eq!(record.steps.len(), 4);
        }
        sim.assert_agreement(&[0, 1, 2, 3]);
    });
}
