//! Rejection codes not covered by the rule walkthroughs in `rules.rs` and `warnings.rs`, each
//! asserted by its code; and the check that every code of `epichain_core::rejection` is asserted
//! by some test in the workspace.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

mod common;

use common::*;
use epichain_core::cert::{self, Claims, IssueRequest, Validity};
use epichain_core::disclosure::{GrantRequest, GrantScope};
use epichain_core::warning::{
    DiseaseScope, Period, STEP_NOTE_SEALED_BYTES_MAX, SignalAction, Step, WarningRule,
};
use epichain_core::{
    CaseChange, CaseStatus, Disease, DiseaseClass, GovernanceAction, GovernanceProposal, Hash,
    KeyPair, Level, Payload, RegionInfo, RevocationReason, Role, Signer, TransactionOutcome,
};
use epichain_ledger::Event;

fn code_of(outcome: &TransactionOutcome) -> Option<&'static str> {
    outcome.code()
}

fn applied(outcome: &TransactionOutcome) {
    assert_eq!(*outcome, TransactionOutcome::Applied);
}

/// Submits a proposal approved by the first two national authorities.
fn govern(world: &mut World, actions: Vec<GovernanceAction>) -> TransactionOutcome {
    let proposal = GovernanceProposal {
        sequence: 1,
        actions,
    };
    let approvals = world.national_cdc[..2]
        .iter()
        .map(|signer| proposal.approve(&world.chain_id(), signer.key()))
        .collect();
    let transaction = world.national_cdc[0].govern(proposal, approvals);
    world.submit(transaction)
}

#[test]
fn revocation_targets_must_exist_once() {
    let mut world = World::new();
    let stranger = KeyPair::from_seed([99; 32]).public_key();
    let revoke = world
        .shenzhen_cdc
        .revoke(stranger, RevocationReason::Unspecified);
    assert_eq!(code_of(&world.submit(revoke)), Some("unknown_key"));
    let doctor = world.futian_doctor.public_key();
    let revoke = world
        .shenzhen_cdc
        .revoke(doctor, RevocationReason::AffiliationChanged);
    applied(&world.submit(revoke));
    let again = world
        .shenzhen_cdc
        .revoke(doctor, RevocationReason::AffiliationChanged);
    assert_eq!(code_of(&world.submit(again)), Some("already_revoked"));
}

#[test]
fn enrolment_certificates_are_classified() {
    let mut world = World::new();
    let chain_id = world.chain_id();
    // Not a certificate at all.
    let mut garbage = Signer::new(KeyPair::from_seed([50; 32]), chain_id, 0);
    let enrol = garbage.enroll(vec![0x30, 0x03, 1, 2, 3], vec![]);
    assert_eq!(code_of(&world.submit(enrol)), Some("certificate.malformed"));
    // Valid only from next month.
    let next_month = (world.time_ms / 1000) as i64 + 30 * 86_400;
    let (_, enrol) = world.shenzhen.issue_leaf(
        chain_id,
        51,
        Role::Doctor,
        "440304",
        Validity::days_from(next_month, 365),
    );
    assert_eq!(
        code_of(&world.submit(enrol)),
        Some("certificate.not_yet_valid")
    );
    // More certificates than a chain may have.
    let (mut long, enrol) =
        world
            .shenzhen
            .issue_leaf(chain_id, 52, Role::Doctor, "440304", validity());
    let Payload::EnrollIdentity(enrol) = enrol.transaction.payload else {
        unreachable!("an enrolment")
    };
    let padded: Vec<Vec<u8>> = std::iter::repeat_n(world.shenzhen.certificate.clone(), 4).collect();
    let enrol = long.enroll(enrol.certificate, padded);
    assert_eq!(
        code_of(&world.submit(enrol)),
        Some("certificate.chain_too_long")
    );
    // A CA's own certificate is no identity.
    let mut as_ca = Signer::new(world.shenzhen.key.clone(), chain_id, 0);
    let enrol = as_ca.enroll(
        world.shenzhen.certificate.clone(),
        world.guangdong.chain.clone(),
    );
    assert_eq!(code_of(&world.submit(enrol)), Some("certificate.hierarchy"));
}

/// Under ZIP-215 anyone can make a "signature" that verifies for a key of small order (here the
/// identity: R = B, S = 1 satisfies [8](R + kA − SB) = 0 for every message). Such a key must
/// never become an identity, whatever certificate it carries.
#[test]
fn a_small_order_key_cannot_enrol_though_anyone_can_sign_for_it() {
    let mut world = World::new();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = epichain_core::PublicKey(identity);
    assert!(weak.is_weak());
    let certificate = cert::issue(
        &world.shenzhen.certificate,
        &world.shenzhen.key,
        &IssueRequest {
            subject_key: weak,
            claims: Claims {
                role: Role::Hospital,
                region: code("440304"),
                institution: "nobody".parse().expect("institution"),
            },
            common_name: "Nobody's hospital",
            validity: validity(),
        },
    )
    .expect("a CA may be tricked into certifying it");
    let transaction = epichain_core::Transaction {
        chain_id: world.chain_id(),
        signer: weak,
        nonce: 1,
        payload: Payload::EnrollIdentity(epichain_core::EnrollIdentity {
            certificate,
            intermediates: world
                .shenzhen
                .chain
                .iter()
                .cloned()
                .map(epichain_core::transaction::HexBytes)
                .collect(),
        }),
    };
    // The basepoint's encoding, then the scalar 1.
    let mut forged = [0x66u8; 64];
    forged[0] = 0x58;
    forged[32..].fill(0);
    forged[32] = 1;
    let signature = epichain_core::Signature(forged);
    assert!(
        weak.verify(&transaction.signing_bytes(), &signature)
            .is_ok()
    );
    let signed = epichain_core::SignedTransaction {
        transaction,
        signature,
    };
    assert_eq!(code_of(&world.submit(signed)), Some("certificate.weak_key"));
}

#[test]
fn report_and_update_fields_are_bounded() {
    let mut world = World::new();
    let mut old = world.report("DENGUE", "440304");
    old.age_band = epichain_core::case::AGE_BAND_MAX + 1;
    let (transaction, _) = world.futian_hospital.report(old);
    assert_eq!(code_of(&world.submit(transaction)), Some("report.age_band"));
    let mut bulky = world.report("DENGUE", "440304");
    bulky.sealed = vec![0; epichain_core::case::SEALED_BYTES_MAX + 1];
    let (transaction, _) = world.futian_hospital.report(bulky);
    assert_eq!(
        code_of(&world.submit(transaction)),
        Some("report.sealed_too_large")
    );
    let (transaction, id) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    applied(&world.submit(transaction));
    let head = world.case(&id).head;
    let empty = world
        .futian_doctor
        .update(id, head, CaseChange::Amend, Vec::new());
    assert_eq!(
        code_of(&world.submit(empty)),
        Some("report.amendment_without_details")
    );
    let unknown = world.futian_doctor.update(
        Hash([8; 32]),
        head,
        CaseChange::Status(CaseStatus::ClinicallyDiagnosed),
        Vec::new(),
    );
    assert_eq!(code_of(&world.submit(unknown)), Some("unknown_case"));
}

#[test]
fn workflow_notes_and_outcomes_are_checked() {
    let mut world = World::new();
    let (report, _) = world
        .futian_hospital
        .report(world.report("CHOLERA", "440304"));
    let outcome = world.block(vec![report]);
    let signal = outcome
        .events
        .iter()
        .find_map(|event| match event {
            Event::SignalOpened { signal, .. } => Some(*signal),
            _ => None,
        })
        .expect("a cholera case opens a signal");
    let act = |world: &mut World, sealed_note: Vec<u8>, outcome| {
        let action = world.futian_cdc.sign(Payload::SignalAction(SignalAction {
            signal,
            step: Step::Verify,
            outcome,
            finding: epichain_core::warning::StepFinding::NotRecorded,
            sealed_note,
        }));
        world.submit(action)
    };
    let long = vec![0u8; STEP_NOTE_SEALED_BYTES_MAX + 1];
    assert_eq!(
        code_of(&act(&mut world, long, None)),
        Some("workflow.note_too_long")
    );
    assert_eq!(
        code_of(&act(
            &mut world,
            Vec::new(),
            Some(epichain_core::warning::SignalOutcome::Dismissed)
        )),
        Some("workflow.outcome_not_allowed")
    );
    // Review M14: a step's words are sealed, never in clear. A note only the hospital could
    // read, or one that is not an envelope, is refused; one sealed to the district CDC is kept,
    // and the district CDC reads it.
    let seal_to = |world: &World, readers: &[&Signer]| {
        let readers: Vec<_> = readers
            .iter()
            .map(|signer| (signer.public_key(), encryption_key(signer).public()))
            .collect();
        let binding =
            epichain_core::sealed::note_binding(&world.chain_id(), &signal, Step::Verify as u32);
        epichain_core::sealed::seal(b"cluster at a school canteen", &readers, None, &binding)
            .expect("seal")
            .to_bytes()
    };
    let hospital_only = seal_to(&world, &[&world.futian_hospital]);
    assert_eq!(
        code_of(&act(&mut world, hospital_only, None)),
        Some("sealed.no_jurisdiction_reader")
    );
    assert_eq!(
        code_of(&act(&mut world, vec![1, 2, 3], None)),
        Some("sealed.malformed")
    );
    let note = seal_to(&world, &[&world.futian_cdc]);
    applied(&act(&mut world, note.clone(), None));
    let reader = world.ledger.reader().expect("reader");
    let record = reader
        .get::<epichain_ledger::state::SignalRecord>(&signal)
        .expect("read")
        .expect("signal");
    let kept = &record.steps[0].sealed_note;
    assert_eq!(kept, &note);
    let envelope = epichain_core::sealed::Envelope::from_bytes(kept).expect("envelope");
    let binding =
        epichain_core::sealed::note_binding(&world.chain_id(), &signal, Step::Verify as u32);
    let text = envelope
        .open(
            &world.futian_cdc.public_key(),
            &encryption_key(&world.futian_cdc),
            &binding,
        )
        .expect("the district CDC reads the note");
    assert_eq!(text, b"cluster at a school canteen");
}

fn rule(method: &str, parameters: &[(&str, &str)]) -> WarningRule {
    WarningRule {
        diseases: DiseaseScope::Others,
        level: Level::District,
        period: Period::Daily,
        method: method.to_string(),
        parameters: parameters
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        required_steps: vec![],
    }
}

fn grant(first_day: u32, last_day: u32, valid_days: u32, sealed_note: Vec<u8>) -> GovernanceAction {
    GovernanceAction::GrantDisclosure(GrantRequest {
        scope: GrantScope {
            disease: disease("DENGUE"),
            region: code("440304"),
            first_day: epichain_core::Day(first_day),
            last_day: epichain_core::Day(last_day),
        },
        valid_days,
        purpose: epichain_core::disclosure::GrantPurpose::ContactTracing,
        sealed_note,
    })
}

#[test]
fn every_governance_action_is_validated() {
    let mut world = World::new();
    let fever = |hours| {
        GovernanceAction::UpsertDisease(Disease {
            code: disease("NEW_FEVER"),
            name_en: "New fever".to_string(),
            name_zh: "新发热".to_string(),
            class: DiseaseClass::B,
            managed_as_a: false,
            report_deadline_hours: hours,
            icd10: vec![],
            retired: false,
        })
    };
    let root_key = world.root.key.public_key();
    let region = |code_text: &str| RegionInfo {
        code: code(code_text),
        name_en: "Nowhere".to_string(),
        name_zh: "无".to_string(),
    };
    let cases = [
        (vec![], "governance.action_count"),
        (vec![fever(2)], "governance.statutory_deadline"),
        (
            vec![GovernanceAction::RetireDisease(disease("NO_SUCH_DISEASE"))],
            "governance.unknown_disease",
        ),
        (
            vec![GovernanceAction::UpsertRegion(region("459901"))],
            "governance.unknown_parent_region",
        ),
        (
            vec![GovernanceAction::SetAdjacency {
                a: code("440300"),
                b: code("440304"),
                adjacent: true,
            }],
            "governance.adjacency_nested",
        ),
        (
            vec![GovernanceAction::AddRootCertificate(vec![1, 2, 3])],
            "governance.invalid_root",
        ),
        (
            vec![GovernanceAction::RemoveRootCertificate(
                KeyPair::from_seed([98; 32]).public_key(),
            )],
            "governance.unknown_root",
        ),
        (
            vec![GovernanceAction::RemoveRootCertificate(root_key)],
            "governance.last_root",
        ),
        (
            vec![GovernanceAction::SetWarningRules(vec![rule("magic", &[])])],
            "governance.unknown_method",
        ),
        (
            vec![GovernanceAction::SetWarningRules(vec![rule(
                "mpm",
                &[("prob", "often")],
            )])],
            "governance.rule_parameters",
        ),
        (
            vec![grant(20, 10, 30, Vec::new())],
            "disclosure.days_out_of_order",
        ),
        (vec![grant(10, 20, 0, Vec::new())], "disclosure.grant_days"),
        (
            vec![grant(
                10,
                20,
                30,
                vec![0; epichain_core::disclosure::GRANT_NOTE_SEALED_BYTES_MAX + 1],
            )],
            "disclosure.note_too_long",
        ),
        (
            vec![GovernanceAction::RevokeGrant(Hash([6; 32]))],
            "disclosure.unknown_grant",
        ),
        // Review H7: no threshold below a majority of the approvers, and none above all of
        // them (the brick).
        (
            vec![GovernanceAction::SetApprovalThreshold(1)],
            "governance.threshold_out_of_range",
        ),
        (
            vec![GovernanceAction::SetApprovalThreshold(u16::MAX)],
            "governance.threshold_out_of_range",
        ),
        (
            vec![GovernanceAction::SetApprovers {
                approvers: vec![],
                threshold: 1,
            }],
            "governance.approver_list",
        ),
        (
            vec![GovernanceAction::CancelPending(7)],
            "governance.unknown_pending",
        ),
    ];
    for (actions, expected) in cases {
        assert_eq!(
            code_of(&govern(&mut world, actions.clone())),
            Some(expected),
            "{actions:?}"
        );
    }
    let config = world
        .ledger
        .reader()
        .expect("reader")
        .config()
        .expect("config");
    assert_eq!(config.governance_sequence, 0, "nothing applied");
}

#[test]
fn approvals_are_checked_one_by_one() {
    let mut world = World::new();
    let proposal = GovernanceProposal {
        sequence: 1,
        actions: vec![GovernanceAction::SetApprovalThreshold(2)],
    };
    let chain_id = world.chain_id();
    let good = proposal.approve(&chain_id, world.national_cdc[1].key());
    // Signed over another proposal.
    let other = GovernanceProposal {
        sequence: 1,
        actions: vec![GovernanceAction::SetApprovalThreshold(3)],
    };
    let mut forged = other.approve(&chain_id, world.national_cdc[2].key());
    forged.approver = world.national_cdc[2].public_key();
    let transaction = world.national_cdc[0].govern(proposal.clone(), vec![good.clone(), forged]);
    assert_eq!(
        code_of(&world.submit(transaction)),
        Some("governance.approval_signature")
    );
    // By a key nobody enrolled.
    let stranger = KeyPair::from_seed([97; 32]);
    let unenrolled = proposal.approve(&chain_id, &stranger);
    let transaction =
        world.national_cdc[0].govern(proposal.clone(), vec![good.clone(), unenrolled]);
    assert_eq!(
        code_of(&world.submit(transaction)),
        Some("governance.approver_not_enrolled")
    );
    // More approvals than any proposal may carry.
    let many = (0..=epichain_core::governance::APPROVALS_MAX)
        .map(|index| proposal.approve(&chain_id, &KeyPair::from_seed([index as u8; 32])))
        .collect();
    let transaction = world.national_cdc[0].govern(proposal.clone(), many);
    assert_eq!(
        code_of(&world.submit(transaction)),
        Some("governance.too_many_approvals")
    );
    // A revoked national authority's approval does not count.
    let revoked = world.national_cdc[2].public_key();
    let revoke = world.national_cdc[2].revoke(revoked, RevocationReason::KeyCompromise);
    applied(&world.submit(revoke));
    let stale = proposal.approve(&chain_id, world.national_cdc[2].key());
    let transaction = world.national_cdc[0].govern(proposal, vec![good, stale]);
    assert_eq!(
        code_of(&world.submit(transaction)),
        Some("governance.approver_not_in_good_standing")
    );
}

/// Every code `Rejection::code` can return (read from its source, where each code is one
/// `=> "code"` arm of an exhaustive match; messages there have spaces, codes do not) is distinct
/// and asserted by at least one test in the workspace.
#[test]
fn every_rejection_code_is_asserted_by_a_test() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let source = std::fs::read_to_string(workspace.join("crates/epichain-core/src/rejection.rs"))
        .expect("rejection source");
    let codes: Vec<&str> = source
        .split("=> \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|text| {
            text.bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte == b'_' || byte == b'.')
        })
        .collect();
    assert!(codes.len() > 80, "found only {} codes", codes.len());
    let mut distinct = codes.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), codes.len(), "a code is used twice");
    let mut tests = String::new();
    for crate_directory in std::fs::read_dir(workspace.join("crates")).expect("crates") {
        let directory = crate_directory.expect("entry").path().join("tests");
        collect_sources(&directory, &mut tests);
    }
    let missing: Vec<&&str> = codes
        .iter()
        .filter(|code| !tests.contains(&format!("\"{code}\"")))
        .collect();
    assert!(missing.is_empty(), "codes no test asserts: {missing:?}");
}

fn collect_sources(directory: &std::path::Path, into: &mut String) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_sources(&path, into);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            into.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

/// Review C1, the class: no transaction can make the ledger store a value it could not read
/// back. Configuration grown by governance past the state value limit is refused, and the chain
/// goes on.
#[test]
fn no_state_value_grows_past_the_limit() {
    let mut world = World::new();
    let chain_id = world.chain_id();
    let mut refused_at = None;
    for sequence in 1..=40u64 {
        let proposal = GovernanceProposal {
            sequence,
            actions: vec![GovernanceAction::UpsertDisease(Disease {
                code: disease(&format!("BULK_{sequence}")),
                name_en: "x".repeat(60_000),
                name_zh: String::new(),
                class: DiseaseClass::B,
                managed_as_a: false,
                report_deadline_hours: 24,
                icd10: vec![],
                retired: false,
            })],
        };
        let approvals = world.national_cdc[..2]
            .iter()
            .map(|signer| proposal.approve(&chain_id, signer.key()))
            .collect();
        let transaction = world.national_cdc[0].govern(proposal, approvals);
        let outcome = world.submit(transaction);
        if code_of(&outcome) == Some("state_value_too_large") {
            refused_at = Some(sequence);
            break;
        }
        applied(&outcome);
    }
    let refused_at = refused_at.expect("the configuration hit the limit");
    assert!(refused_at > 10, "refused only at {refused_at}");
    let stored = world
        .ledger
        .reader()
        .expect("reader")
        .config()
        .expect("config");
    assert_eq!(stored.governance_sequence, refused_at - 1);
    // The chain goes on.
    let (report, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    applied(&world.submit(report));
}
