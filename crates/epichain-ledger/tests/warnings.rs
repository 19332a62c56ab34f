//! Counts at four levels, warning contracts and the signal workflow.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

mod common;

use common::*;
use epichain_core::warning::{HistoricalSeries, SignalAction, SignalOutcome, Step};
use epichain_core::{CaseChange, CaseStatus, Day, Hash, Payload, Role, TransactionOutcome};
use epichain_ledger::state::{CountBasis, SignalStatus};
use epichain_ledger::{Event, Ledger};

fn applied(outcome: &TransactionOutcome) {
    assert_eq!(outcome, &TransactionOutcome::Applied);
}

fn opened(events: &[Event]) -> Vec<(Hash, String, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::SignalOpened {
                signal,
                disease,
                region,
                method,
            } => Some((*signal, format!("{disease} {region}"), method.clone())),
            _ => None,
        })
        .collect()
}

/// Three years and a month of flat dengue history in Futian: 2 cases a day.
fn dengue_history() -> Vec<HistoricalSeries> {
    let genesis_day = Day::from_unix_ms(GENESIS_MS);
    let days = 3 * 365 + 40;
    vec![HistoricalSeries {
        disease: disease("DENGUE"),
        region: code("440304"),
        first_day: Day(genesis_day.0 - days),
        counts: vec![2; days as usize],
    }]
}

#[test]
fn counts_follow_reports_and_status_changes_at_four_levels() {
    let mut world = World::new();
    let (transaction, id) = world
        .futian_hospital
        .report(world.report("INFLUENZA", "440304"));
    applied(&world.submit(transaction));
    let today = world.today();
    let reader = world.ledger.reader().expect("reader");
    for region in ["440304", "440300", "440000", "000000"] {
        let counts = reader
            .count(
                &disease("INFLUENZA"),
                code(region),
                CountBasis::Report,
                today,
            )
            .expect("count");
        assert_eq!((counts.suspected, counts.total()), (1, 1), "{region}");
        let onset = reader
            .count(
                &disease("INFLUENZA"),
                code(region),
                CountBasis::Onset,
                today,
            )
            .expect("count");
        assert_eq!(onset.total(), 1);
    }
    assert_eq!(
        reader
            .count(
                &disease("INFLUENZA"),
                code("440100"),
                CountBasis::Report,
                today
            )
            .expect("count")
            .total(),
        0
    );
    let head = reader.case(&id).expect("read").expect("case").head;
    drop(reader);
    // Confirmation moves the case between buckets; exclusion removes it.
    let confirm = world.shenzhen_lab.update(
        id,
        head,
        CaseChange::Status(CaseStatus::LabConfirmed),
        vec![],
    );
    applied(&world.submit(confirm));
    let reader = world.ledger.reader().expect("reader");
    let counts = reader
        .count(
            &disease("INFLUENZA"),
            code("440000"),
            CountBasis::Report,
            today,
        )
        .expect("count");
    assert_eq!((counts.suspected, counts.confirmed), (0, 1));
    let head = reader.case(&id).expect("read").expect("case").head;
    drop(reader);
    let exclude =
        world
            .futian_cdc
            .update(id, head, CaseChange::Status(CaseStatus::Excluded), vec![]);
    applied(&world.submit(exclude));
    let reader = world.ledger.reader().expect("reader");
    for region in ["440304", "000000"] {
        let counts = reader
            .count(
                &disease("INFLUENZA"),
                code(region),
                CountBasis::Report,
                today,
            )
            .expect("count");
        assert_eq!(counts.total(), 0, "{region}");
    }
}

#[test]
fn a_plague_case_raises_a_signal_and_later_cases_join_it_until_the_day_ends() {
    let mut world = World::new();
    let (first, first_id) = world
        .futian_hospital
        .report(world.report("PLAGUE", "440304"));
    let outcome = world.block(vec![first]);
    applied(&outcome.receipts[0].outcome);
    let signals = opened(&outcome.events);
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(signals[0].1, "PLAGUE 440304");
    assert_eq!(signals[0].2, "fixed");
    let signal_id = signals[0].0;
    let (second, second_id) = world
        .futian_hospital
        .report(world.report("PLAGUE", "440304"));
    let outcome = world.block(vec![second]);
    assert!(
        opened(&outcome.events).is_empty(),
        "the open signal absorbs the case"
    );
    let signal = world
        .ledger
        .reader()
        .expect("reader")
        .get::<epichain_ledger::state::SignalRecord>(&signal_id)
        .expect("read")
        .expect("signal");
    assert_eq!(signal.cases, vec![first_id, second_id]);
    assert_eq!(signal.threshold(), 1.0);
    assert_eq!(
        signal.required_steps,
        vec![Step::Verify, Step::PathogenAnalysis]
    );
    // The next day is a new period.
    world.time_ms += DAY_MS;
    let (third, _) = world
        .futian_hospital
        .report(world.report("PLAGUE", "440304"));
    let outcome = world.block(vec![third]);
    applied(&outcome.receipts[0].outcome);
    assert_eq!(opened(&outcome.events).len(), 1);
    assert_ne!(opened(&outcome.events)[0].0, signal_id);
    // A non-notifiable-as-A disease does not raise a fixed-threshold signal.
    let (flu, _) = world
        .futian_hospital
        .report(world.report("INFLUENZA", "440304"));
    assert!(opened(&world.block(vec![flu]).events).is_empty());
}

#[test]
fn a_dengue_burst_above_the_seasonal_percentile_raises_one_mpm_signal() {
    let mut world = World::with_history(dengue_history());
    // Two cases today: within the baseline (window sum 6 × 2 + 2 = 14 = P80).
    let quiet: Vec<_> = (0..2)
        .map(|_| {
            world
                .futian_hospital
                .report(world.report("DENGUE", "440304"))
                .0
        })
        .collect();
    assert!(opened(&world.block(quiet).events).is_empty());
    // A burst.
    let burst: Vec<_> = (0..12)
        .map(|_| {
            world
                .futian_hospital
                .report(world.report("DENGUE", "440304"))
                .0
        })
        .collect();
    let outcome = world.block(burst);
    let signals = opened(&outcome.events);
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(
        (signals[0].1.as_str(), signals[0].2.as_str()),
        ("DENGUE 440304", "mpm")
    );
    let signal = world
        .ledger
        .reader()
        .expect("reader")
        .get::<epichain_ledger::state::SignalRecord>(&signals[0].0)
        .expect("read")
        .expect("signal");
    assert_eq!(signal.statistic(), 12.0 + 14.0);
    assert_eq!(signal.threshold(), 14.0);
    assert_eq!(signal.cases.len(), 12);
    assert_eq!(signal.status, SignalStatus::Open);
    // A replica re-executing the blocks reaches the same state root.
    let directory = tempfile::tempdir().expect("temp dir");
    let mut replica =
        Ledger::open(&directory.path().join("replica.redb"), &world.genesis).expect("open");
    for block in world.blocks() {
        replica.apply_block(block).expect("replays");
    }
    assert_eq!(replica.tip(), world.ledger.tip());
}

#[test]
fn a_week_boundary_runs_the_weekly_farrington_rules() {
    let mut world = World::with_history(dengue_history());
    // Move to a Wednesday, report a large burst, then cross into the next week.
    while world.today().weekday_monday_zero() != 2 {
        world.time_ms += DAY_MS;
    }
    let burst: Vec<_> = (0..120)
        .map(|_| {
            world
                .futian_hospital
                .report(world.report("DENGUE", "440304"))
                .0
        })
        .collect();
    let outcome = world.block(burst);
    let weekly: Vec<_> = opened(&outcome.events)
        .into_iter()
        .filter(|s| s.2 == "farrington-flexible")
        .collect();
    assert!(weekly.is_empty(), "weekly rules wait for the week to close");
    while world.today().weekday_monday_zero() != 0 {
        world.time_ms += DAY_MS;
    }
    let outcome = world.block(vec![]);
    let weekly: Vec<String> = opened(&outcome.events)
        .into_iter()
        .filter(|s| s.2 == "farrington-flexible")
        .map(|s| s.1)
        .collect();
    assert!(weekly.contains(&"DENGUE 440000".to_string()), "{weekly:?}");
    assert!(weekly.contains(&"DENGUE 000000".to_string()), "{weekly:?}");
    // A second block in the same week does not evaluate again.
    let outcome = world.block(vec![]);
    assert!(opened(&outcome.events).is_empty());
}

fn step(
    world: &mut World,
    who: &str,
    signal: Hash,
    step: Step,
    outcome: Option<SignalOutcome>,
) -> TransactionOutcome {
    let action = Payload::SignalAction(SignalAction {
        signal,
        step,
        outcome,
        finding: epichain_core::warning::StepFinding::UnderInvestigation,
        sealed_note: Vec::new(),
    });
    let transaction = match who {
        "futian_cdc" => world.futian_cdc.sign(action),
        "shenzhen_cdc" => world.shenzhen_cdc.sign(action),
        "guangdong_cdc" => world.guangdong_cdc.sign(action),
        "shenzhen_lab" => world.shenzhen_lab.sign(action),
        "national_cdc_0" => world.national_cdc[0].sign(action),
        "national_cdc_1" => world.national_cdc[1].sign(action),
        "futian_hospital" => world.futian_hospital.sign(action),
        "yuexiu_hospital" => world.yuexiu_hospital.sign(action),
        _ => unreachable!(),
    };
    world.submit(transaction)
}

#[test]
fn workflow_steps_need_the_right_roles_and_final_confirmation_needs_the_required_steps() {
    let mut world = World::new();
    let (report, _) = world
        .futian_hospital
        .report(world.report("CHOLERA", "440304"));
    let signal = opened(&world.block(vec![report]).events)[0].0;

    assert_rejected(
        &step(&mut world, "futian_hospital", signal, Step::Verify, None),
        "workflow.wrong_role",
    );
    assert_rejected(
        &step(
            &mut world,
            "futian_cdc",
            signal,
            Step::PathogenAnalysis,
            None,
        ),
        "workflow.wrong_role",
    );
    assert_rejected(
        &step(
            &mut world,
            "futian_cdc",
            signal,
            Step::ExpertConsultation,
            None,
        ),
        "workflow.level_too_low",
    );
    assert_rejected(
        &step(
            &mut world,
            "guangdong_cdc",
            signal,
            Step::FinalConfirmation,
            Some(SignalOutcome::ConfirmedOutbreak),
        ),
        "workflow.missing_steps",
    );
    assert_rejected(
        &step(&mut world, "futian_cdc", Hash([3; 32]), Step::Verify, None),
        "unknown_signal",
    );
    // Steps in any order, each by its role.
    applied(&step(
        &mut world,
        "shenzhen_lab",
        signal,
        Step::PathogenAnalysis,
        None,
    ));
    applied(&step(
        &mut world,
        "shenzhen_cdc",
        signal,
        Step::RegionalConsultation,
        None,
    ));
    applied(&step(&mut world, "futian_cdc", signal, Step::Verify, None));
    assert_rejected(
        &step(&mut world, "futian_cdc", signal, Step::Verify, None),
        "workflow.step_taken",
    );
    assert_rejected(
        &step(
            &mut world,
            "guangdong_cdc",
            signal,
            Step::FinalConfirmation,
            None,
        ),
        "workflow.outcome_missing",
    );
    applied(&step(
        &mut world,
        "guangdong_cdc",
        signal,
        Step::FinalConfirmation,
        Some(SignalOutcome::ConfirmedOutbreak),
    ));
    let record = world
        .ledger
        .reader()
        .expect("reader")
        .get::<epichain_ledger::state::SignalRecord>(&signal)
        .expect("read")
        .expect("signal");
    assert_eq!(record.status, SignalStatus::ConfirmedOutbreak);
    let order: Vec<Step> = record.steps.iter().map(|taken| taken.step).collect();
    assert_eq!(
        order,
        vec![
            Step::PathogenAnalysis,
            Step::RegionalConsultation,
            Step::Verify,
            Step::FinalConfirmation
        ]
    );
    assert!(
        record
            .steps
            .windows(2)
            .all(|pair| pair[0].time_ms < pair[1].time_ms)
    );
    assert_rejected(
        &step(
            &mut world,
            "shenzhen_cdc",
            signal,
            Step::ExpertConsultation,
            None,
        ),
        "workflow.signal_closed",
    );
}

#[test]
fn authorities_outside_the_region_cannot_act() {
    let mut world = World::new();
    let (report, _) = world
        .yuexiu_hospital
        .report(world.report("CHOLERA", "440104"));
    let signal = opened(&world.block(vec![report]).events)[0].0;
    assert_rejected(
        &step(&mut world, "futian_cdc", signal, Step::Verify, None),
        "outside_jurisdiction",
    );
    assert_rejected(
        &step(
            &mut world,
            "shenzhen_lab",
            signal,
            Step::PathogenAnalysis,
            None,
        ),
        "outside_jurisdiction",
    );
    applied(&step(
        &mut world,
        "guangdong_cdc",
        signal,
        Step::Verify,
        None,
    ));
}

/// Review C2: no single institution can take a signal through its workflow and open a
/// disclosure grant. Each step is another institution's (two keys of the national CDC are one
/// institution), and the confirmer must rank above the verifier.
#[test]
fn one_institution_cannot_take_two_steps_or_confirm_an_outbreak_alone() {
    let mut world = World::new();
    let (report, _) = world
        .futian_hospital
        .report(world.report("CHOLERA", "440304"));
    let signal = opened(&world.block(vec![report]).events)[0].0;
    applied(&step(
        &mut world,
        "guangdong_cdc",
        signal,
        Step::Verify,
        None,
    ));
    applied(&step(
        &mut world,
        "shenzhen_lab",
        signal,
        Step::PathogenAnalysis,
        None,
    ));
    // The province verified: it cannot also consult or confirm.
    for (taker, action, outcome) in [
        ("guangdong_cdc", Step::ExpertConsultation, None),
        (
            "guangdong_cdc",
            Step::FinalConfirmation,
            Some(SignalOutcome::ConfirmedOutbreak),
        ),
    ] {
        assert_rejected(
            &step(&mut world, taker, signal, action, outcome),
            "workflow.same_institution",
        );
    }
    // Another institution above it can.
    applied(&step(
        &mut world,
        "national_cdc_0",
        signal,
        Step::FinalConfirmation,
        Some(SignalOutcome::ConfirmedOutbreak),
    ));

    // Another signal: the national CDC verifies; a second key of the national CDC (its
    // certificate names the same institution) is the same institution, and the province ranks below the verifier, so nobody left can confirm an outbreak.
    let (report, _) = world
        .futian_hospital
        .report(world.report("PLAGUE", "440304"));
    let signal = opened(&world.block(vec![report]).events)[0].0;
    applied(&step(
        &mut world,
        "national_cdc_0",
        signal,
        Step::Verify,
        None,
    ));
    let (mut second_key, enroll) = world.root.issue_member(
        world.chain_id(),
        45,
        Role::Authority,
        "000000",
        validity(),
        "org-20",
    );
    applied(&world.submit(enroll));
    let consult = second_key.sign(Payload::SignalAction(SignalAction {
        signal,
        step: Step::ExpertConsultation,
        outcome: None,
        finding: epichain_core::warning::StepFinding::NotRecorded,
        sealed_note: Vec::new(),
    }));
    assert_rejected(&world.submit(consult), "workflow.same_institution");
    applied(&step(
        &mut world,
        "shenzhen_lab",
        signal,
        Step::PathogenAnalysis,
        None,
    ));
    assert_rejected(
        &step(
            &mut world,
            "guangdong_cdc",
            signal,
            Step::FinalConfirmation,
            Some(SignalOutcome::ConfirmedOutbreak),
        ),
        "workflow.single_institution",
    );
    // Dismissing needs no second opinion.
    applied(&step(
        &mut world,
        "guangdong_cdc",
        signal,
        Step::FinalConfirmation,
        Some(SignalOutcome::Dismissed),
    ));
}
