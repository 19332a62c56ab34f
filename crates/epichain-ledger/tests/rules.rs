//! One test per ledger rule: each fails if the rule is removed.

mod common;

use common::*;
use epichain_core::governance::{GovernanceAction, GovernanceProposal};
use epichain_core::sealed;
use epichain_core::{
    CaseChange, CaseStatus, Disease, DiseaseClass, Hash, KeyPair, Outcome, PatientRef, Payload,
    RevocationReason, Role, Signer, Transaction, TransactionOutcome,
};
use epichain_ledger::state::verify_version_chain;

fn applied(outcome: &TransactionOutcome) {
    assert_eq!(outcome, &TransactionOutcome::Applied);
}

/// Reports a suspected dengue case from the Futian hospital and returns its id and head.
fn reported_case(world: &mut World) -> (Hash, Hash) {
    let report = world.report("DENGUE", "440304");
    let (transaction, id) = world.futian_hospital.report(report);
    applied(&world.submit(transaction));
    (id, world.case(&id).head)
}

#[test]
fn enrolled_signer_reports_and_the_case_is_recorded() {
    let mut world = World::new();
    let (id, _) = reported_case(&mut world);
    let record = world
        .ledger
        .reader()
        .expect("reader")
        .case(&id)
        .expect("read")
        .expect("case");
    assert_eq!(record.state.status, CaseStatus::Suspected);
    assert_eq!(record.region, code("440304"));
    assert_eq!(record.reporter, world.futian_hospital.public_key());
}

#[test]
fn unenrolled_signer_is_rejected() {
    let mut world = World::new();
    let mut stranger = Signer::new(KeyPair::from_seed([99; 32]), world.chain_id(), 0);
    let (transaction, _) = stranger.report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "unknown_signer");
}

#[test]
fn bad_signature_is_rejected() {
    let mut world = World::new();
    let (mut transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    transaction.signature.0[10] ^= 1;
    assert_rejected(&world.submit(transaction), "bad_signature");
}

#[test]
fn transaction_for_another_chain_is_rejected() {
    let mut world = World::new();
    let mut other = Signer::new(
        world.futian_hospital.key().clone(),
        Hash([9; 32]),
        world.futian_hospital.next_nonce() - 1,
    );
    let (transaction, _) = other.report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "wrong_chain");
}

#[test]
fn replayed_or_stale_nonce_is_rejected() {
    let mut world = World::new();
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    applied(&world.submit(transaction.clone()));
    assert_rejected(&world.submit(transaction.clone()), "stale_nonce");
    // The same transaction twice in one block: the second is a replay, left out.
    let (fresh, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    let outcome = world.block(vec![fresh.clone(), fresh]);
    assert_eq!(outcome.receipts.len(), 1);
    applied(&outcome.receipts[0].outcome);
    assert_eq!(outcome.unauthenticated[0].position, 1);
    assert_eq!(outcome.unauthenticated[0].rejection.code(), "stale_nonce");
}

/// A transaction that overtook its predecessor (gossip, or a proposer's byte limit) waits: left
/// out with `nonce_gap`, it applies once the earlier one has.
#[test]
fn a_nonce_gap_waits_for_the_earlier_transaction() {
    let mut world = World::new();
    let (first, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    let (second, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(second.clone()), "nonce_gap");
    applied(&world.submit(first));
    applied(&world.submit(second));
}

#[test]
fn rejected_transaction_consumes_its_nonce_and_cannot_be_replayed_later() {
    let mut world = World::new();
    let mut report = world.report("DENGUE", "440304");
    report.disease = disease("NEW_FEVER");
    let (transaction, _) = world.futian_hospital.report(report);
    assert_rejected(&world.submit(transaction.clone()), "unknown_disease");
    // Governance adds the disease; the old transaction must still not apply.
    add_disease(&mut world, "NEW_FEVER", 1);
    assert_rejected(&world.submit(transaction), "stale_nonce");
}

#[test]
fn roles_are_enforced() {
    let mut world = World::new();
    let (transaction, _) = world.shenzhen_lab.report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "role_not_permitted");
    let (transaction, _) = world.patient.report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "role_not_permitted");

    let (id, head) = reported_case(&mut world);
    let confirm = CaseChange::Status(CaseStatus::LabConfirmed);
    let by_doctor = world
        .futian_doctor
        .update(id, head, confirm.clone(), vec![]);
    assert_rejected(&world.submit(by_doctor), "role_not_permitted");
    let exclude = CaseChange::Status(CaseStatus::Excluded);
    let by_hospital = world
        .futian_hospital
        .update(id, head, exclude.clone(), vec![]);
    assert_rejected(&world.submit(by_hospital), "role_not_permitted");
    let close_by_lab = world
        .shenzhen_lab
        .update(id, head, CaseChange::Close, vec![]);
    assert_rejected(&world.submit(close_by_lab), "role_not_permitted");

    let by_lab = world.shenzhen_lab.update(id, head, confirm, vec![]);
    applied(&world.submit(by_lab));
}

#[test]
fn jurisdiction_is_enforced() {
    let mut world = World::new();
    // A Futian (Shenzhen) hospital cannot report a case in Yuexiu (Guangzhou).
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440104"));
    assert_rejected(&world.submit(transaction), "outside_jurisdiction");
    // Nor can a Guangzhou hospital report in Futian.
    let (transaction, _) = world
        .yuexiu_hospital
        .report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "outside_jurisdiction");
    // The Shenzhen lab cannot confirm a Guangzhou case.
    let (transaction, id) = world
        .yuexiu_hospital
        .report(world.report("DENGUE", "440104"));
    applied(&world.submit(transaction));
    let head = world
        .ledger
        .reader()
        .expect("r")
        .case(&id)
        .expect("r")
        .expect("c")
        .head;
    let confirm = world.shenzhen_lab.update(
        id,
        head,
        CaseChange::Status(CaseStatus::LabConfirmed),
        vec![],
    );
    assert_rejected(&world.submit(confirm), "outside_jurisdiction");
    // The province authority can exclude it.
    let exclude =
        world
            .guangdong_cdc
            .update(id, head, CaseChange::Status(CaseStatus::Excluded), vec![]);
    applied(&world.submit(exclude));
}

#[test]
fn updates_form_a_hash_chain_and_stale_versions_are_rejected() {
    let mut world = World::new();
    let (id, head0) = reported_case(&mut world);
    let resealed = world.sealed_for(code("440304"));
    let diagnose = world.futian_doctor.update(
        id,
        head0,
        CaseChange::Status(CaseStatus::ClinicallyDiagnosed),
        resealed.clone(),
    );
    applied(&world.submit(diagnose));
    // A lab working from the original version is told it is stale.
    let stale = world.shenzhen_lab.update(
        id,
        head0,
        CaseChange::Status(CaseStatus::LabConfirmed),
        vec![],
    );
    assert_rejected(&world.submit(stale), "stale_version");
    let reader = world.ledger.reader().expect("reader");
    let view = reader.case_view(&id).expect("read").expect("case");
    let record = view.record.clone();
    let history = reader.case_history(&id).expect("history");
    drop(reader);
    assert_eq!(history.len(), 2);
    assert_eq!(record.version, 1);
    assert_eq!(view.sealed, resealed);
    assert_eq!(history[1].change.sealed(), resealed.as_slice());
    let versions: Vec<_> = history.iter().map(|view| view.version.clone()).collect();
    verify_version_chain(&versions, &record.head).expect("unbroken chain");
    // Any edit of an old version breaks the chain.
    let mut tampered = versions.clone();
    tampered[0].time_ms += 1;
    assert!(verify_version_chain(&tampered, &record.head).is_err());
    // Dropping the latest version is detected against the head.
    assert!(verify_version_chain(&versions[..1], &record.head).is_err());

    let confirm = world.shenzhen_lab.update(
        id,
        record.head,
        CaseChange::Status(CaseStatus::LabConfirmed),
        vec![],
    );
    applied(&world.submit(confirm));
}

#[test]
fn status_transitions_and_closing() {
    let mut world = World::new();
    let (id, head) = reported_case(&mut world);
    let back =
        world
            .futian_doctor
            .update(id, head, CaseChange::Status(CaseStatus::Suspected), vec![]);
    assert_rejected(&world.submit(back), "invalid_transition");
    let exclude =
        world
            .futian_cdc
            .update(id, head, CaseChange::Status(CaseStatus::Excluded), vec![]);
    applied(&world.submit(exclude));
    let head = world
        .ledger
        .reader()
        .expect("r")
        .case(&id)
        .expect("r")
        .expect("c")
        .head;
    let outcome =
        world
            .futian_doctor
            .update(id, head, CaseChange::Outcome(Outcome::Recovered), vec![]);
    assert_rejected(&world.submit(outcome), "case_excluded");
    let close = world.futian_cdc.update(id, head, CaseChange::Close, vec![]);
    applied(&world.submit(close));
    let head = world
        .ledger
        .reader()
        .expect("r")
        .case(&id)
        .expect("r")
        .expect("c")
        .head;
    let amend = world
        .futian_doctor
        .update(id, head, CaseChange::Amend, vec![1]);
    assert_rejected(&world.submit(amend), "case_closed");
}

#[test]
fn report_contents_are_validated() {
    let mut world = World::new();
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("NOT_A_DISEASE", "440304"));
    assert_rejected(&world.submit(transaction), "unknown_disease");
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440399"));
    assert_rejected(&world.submit(transaction), "unknown_region");
    let mut confirmed = world.report("DENGUE", "440304");
    confirmed.status = CaseStatus::LabConfirmed;
    let (transaction, _) = world.futian_hospital.report(confirmed);
    assert_rejected(&world.submit(transaction), "report.initial_status");
    let mut future = world.report("DENGUE", "440304");
    future.diagnosis_day = epichain_core::Day(future.diagnosis_day.0 + 2);
    let (transaction, _) = world.futian_hospital.report(future);
    assert_rejected(&world.submit(transaction), "report.dates_out_of_order");
    // A city with districts is not a reporting unit.
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440300"));
    assert_rejected(&world.submit(transaction), "report.region_has_districts");
    // Patient keys must belong to enrolled patients.
    let mut by_key = world.report("DENGUE", "440304");
    by_key.patient = PatientRef::Key(world.futian_doctor.public_key());
    let (transaction, _) = world.futian_hospital.report(by_key.clone());
    assert_rejected(&world.submit(transaction), "unknown_patient");
    by_key.patient = PatientRef::Key(world.patient.public_key());
    let (transaction, _) = world.futian_hospital.report(by_key);
    applied(&world.submit(transaction));
}

/// An envelope sealed to `readers` (signer, encryption key derived as the world does).
fn sealed_to(readers: &[&Signer]) -> Vec<u8> {
    let readers: Vec<_> = readers
        .iter()
        .map(|reader| (reader.public_key(), encryption_key(reader).public()))
        .collect();
    sealed::seal(b"{}", &readers, None, b"binding")
        .expect("seal")
        .to_bytes()
}

#[test]
fn sealed_details_must_be_readable_by_an_authority_over_the_region() {
    let mut world = World::new();
    let report_sealed = |world: &mut World, region: &str, sealed: Vec<u8>| {
        let mut report = world.report("DENGUE", region);
        report.sealed = sealed;
        let reporter = if region == "440104" {
            &mut world.yuexiu_hospital
        } else {
            &mut world.futian_hospital
        };
        let (transaction, _) = reporter.report(report);
        world.submit(transaction)
    };
    // Not an envelope, or an envelope of an unknown format.
    let outcome = report_sealed(&mut world, "440304", vec![1, 2, 3]);
    assert_rejected(&outcome, "sealed.malformed");
    let mut future = sealed::Envelope::from_bytes(&sealed_to(&[&world.futian_cdc])).expect("env");
    future.format = sealed::ENVELOPE_FORMAT_VERSION + 1;
    let outcome = report_sealed(&mut world, "440304", future.to_bytes());
    assert_rejected(&outcome, "sealed.malformed");
    // Sealed only to the reporter: no authority could read it.
    let only_reporter = sealed_to(&[&world.futian_hospital]);
    let outcome = report_sealed(&mut world, "440304", only_reporter);
    assert_rejected(&outcome, "sealed.no_jurisdiction_reader");
    // Sealed to an authority of another district.
    let elsewhere = sealed_to(&[&world.futian_cdc]);
    let outcome = report_sealed(&mut world, "440104", elsewhere);
    assert_rejected(&outcome, "sealed.no_jurisdiction_reader");
    // Sealed to an authority over the region that never published an encryption key …
    let unpublished = sealed_to(&[&world.national_cdc[0]]);
    let outcome = report_sealed(&mut world, "440304", unpublished.clone());
    assert_rejected(&outcome, "sealed.reader_key_mismatch");
    // … accepted once it has.
    let key = encryption_key(&world.national_cdc[0]).public();
    let publish = world.national_cdc[0].sign(Payload::PublishEncryptionKey(key));
    applied(&world.submit(publish));
    applied(&report_sealed(&mut world, "440304", unpublished));
    // A revoked authority no longer counts; empty details are still allowed.
    let district_only = sealed_to(&[&world.futian_cdc]);
    applied(&report_sealed(&mut world, "440304", district_only.clone()));
    let futian_cdc = world.futian_cdc.public_key();
    let revoke = world
        .shenzhen_cdc
        .revoke(futian_cdc, RevocationReason::KeyCompromise);
    applied(&world.submit(revoke));
    let outcome = report_sealed(&mut world, "440304", district_only);
    assert_rejected(&outcome, "sealed.no_jurisdiction_reader");
    applied(&report_sealed(&mut world, "440304", Vec::new()));
    // Updates follow the same rule.
    let (id, head) = reported_case(&mut world);
    let garbage = world.futian_doctor.update(
        id,
        head,
        CaseChange::Status(CaseStatus::ClinicallyDiagnosed),
        vec![9; 40],
    );
    assert_rejected(&world.submit(garbage), "sealed.malformed");
}

#[test]
fn revoked_identity_cannot_sign_but_its_history_stays() {
    let mut world = World::new();
    let (id, _) = reported_case(&mut world);
    let hospital = world.futian_hospital.public_key();
    // A hospital cannot revoke others; the district CDC can.
    let by_doctor = world
        .futian_doctor
        .revoke(hospital, RevocationReason::KeyCompromise);
    assert_rejected(&world.submit(by_doctor), "role_not_permitted");
    let revoke = world
        .futian_cdc
        .revoke(hospital, RevocationReason::KeyCompromise);
    applied(&world.submit(revoke));
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "revoked_signer");
    let reader = world.ledger.reader().expect("reader");
    assert!(
        reader.case(&id).expect("read").is_some(),
        "earlier case stays"
    );
    assert!(
        reader
            .identity(&hospital)
            .expect("read")
            .expect("identity")
            .revoked
            .is_some()
    );
}

#[test]
fn peers_cannot_revoke_each_other_and_self_revocation_works() {
    let mut world = World::new();
    let shenzhen_cdc = world.shenzhen_cdc.public_key();
    let by_district = world
        .futian_cdc
        .revoke(shenzhen_cdc, RevocationReason::Unspecified);
    assert_rejected(&world.submit(by_district), "outside_jurisdiction");
    let doctor = world.futian_doctor.public_key();
    let itself = world
        .futian_doctor
        .revoke(doctor, RevocationReason::Superseded);
    applied(&world.submit(itself));
}

#[test]
fn revoking_a_ca_revokes_everything_below_it() {
    let mut world = World::new();
    let shenzhen_ca = world.shenzhen.key.public_key();
    // The Shenzhen CDC is at the CA's level: not allowed. The province CDC is above it.
    let too_low = world
        .shenzhen_cdc
        .revoke(shenzhen_ca, RevocationReason::CaCompromise);
    assert_rejected(&world.submit(too_low), "outside_jurisdiction");
    let revoke = world
        .guangdong_cdc
        .revoke(shenzhen_ca, RevocationReason::CaCompromise);
    applied(&world.submit(revoke));
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "revoked_issuer");
    // New enrolments under the revoked CA fail too.
    let (_, enroll) =
        world
            .shenzhen
            .issue_leaf(world.chain_id(), 40, Role::Doctor, "440304", validity());
    assert_rejected(&world.submit(enroll), "revoked_issuer");
    // Guangzhou is unaffected.
    let (transaction, _) = world
        .yuexiu_hospital
        .report(world.report("DENGUE", "440104"));
    applied(&world.submit(transaction));
}

#[test]
fn certificate_validity_is_enforced_against_block_time() {
    let mut world = World::new();
    let short = epichain_core::cert::Validity::days_from((GENESIS_MS / 1000) as i64, 2);
    let (mut doctor, enroll) =
        world
            .shenzhen
            .issue_leaf(world.chain_id(), 41, Role::Doctor, "440304", short);
    applied(&world.submit(enroll));
    let (transaction, _) = doctor.report(world.report("DENGUE", "440304"));
    applied(&world.submit(transaction));
    // Three days later the certificate has expired.
    world.time_ms += 3 * DAY_MS;
    let (transaction, _) = doctor.report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "certificate_not_valid");
    // Enrolling an expired certificate fails as well.
    let (_, enroll) =
        world
            .shenzhen
            .issue_leaf(world.chain_id(), 42, Role::Doctor, "440304", short);
    assert_rejected(&world.submit(enroll), "certificate.expired");
}

#[test]
fn enrolment_needs_a_chain_to_a_genesis_root_and_proof_of_possession() {
    let mut world = World::new();
    // A rogue root not in genesis.
    let rogue_key = KeyPair::from_seed([77; 32]);
    let rogue_root = Authority {
        certificate: epichain_core::cert::create_root(
            &rogue_key,
            "Rogue",
            "rogue".parse().expect("institution"),
            validity(),
        )
        .expect("root"),
        key: rogue_key,
        chain: vec![],
    };
    let (_, enroll) =
        rogue_root.issue_leaf(world.chain_id(), 43, Role::Hospital, "440304", validity());
    assert_rejected(&world.submit(enroll), "certificate.path_invalid");
    // Missing intermediates.
    let (mut signer, _) =
        world
            .shenzhen
            .issue_leaf(world.chain_id(), 44, Role::Hospital, "440304", validity());
    let Payload::EnrollIdentity(enroll) = world
        .shenzhen
        .issue_leaf(world.chain_id(), 44, Role::Hospital, "440304", validity())
        .1
        .transaction
        .payload
    else {
        unreachable!()
    };
    let bare = signer.enroll(enroll.certificate.clone(), vec![]);
    assert_rejected(&world.submit(bare), "certificate.path_invalid");
    // Someone else's certificate: the signer is not the certificate's key.
    let mut thief = Signer::new(KeyPair::from_seed([45; 32]), world.chain_id(), 0);
    let chain: Vec<Vec<u8>> = enroll
        .intermediates
        .iter()
        .map(|bytes| bytes.0.clone())
        .collect();
    let stolen = thief.enroll(enroll.certificate.clone(), chain.clone());
    assert_rejected(&world.submit(stolen), "certificate.wrong_key");
    // The refused enrolment consumed nothing: the genuine one takes nonce 1 again.
    let mut signer = Signer::new(signer.key().clone(), world.chain_id(), 0);
    let genuine = signer.enroll(enroll.certificate, chain);
    applied(&world.submit(genuine));
}

fn national_approvals(
    world: &World,
    proposal: &GovernanceProposal,
    count: usize,
) -> Vec<epichain_core::Approval> {
    world.national_cdc[..count]
        .iter()
        .map(|signer| proposal.approve(&world.chain_id(), signer.key()))
        .collect()
}

fn add_disease(world: &mut World, code_text: &str, sequence: u64) {
    let proposal = GovernanceProposal {
        sequence,
        actions: vec![GovernanceAction::UpsertDisease(Disease {
            code: disease(code_text),
            name_en: "New fever".to_string(),
            name_zh: "新发热".to_string(),
            class: DiseaseClass::B,
            managed_as_a: false,
            report_deadline_hours: 24,
            icd10: vec![],
            retired: false,
        })],
    };
    let approvals = national_approvals(world, &proposal, 2);
    let transaction = world.national_cdc[0].govern(proposal, approvals);
    applied(&world.submit(transaction));
}

#[test]
fn governance_needs_k_of_n_national_approvals_and_cannot_be_replayed() {
    let mut world = World::new();
    let proposal = GovernanceProposal {
        sequence: 1,
        actions: vec![GovernanceAction::RetireDisease(disease("DENGUE"))],
    };
    // One approval of the two required.
    let approvals = national_approvals(&world, &proposal, 1);
    let transaction = world.national_cdc[0].govern(proposal.clone(), approvals);
    assert_rejected(&world.submit(transaction), "governance.too_few_approvals");
    // The same approver twice does not count twice.
    let mut doubled = national_approvals(&world, &proposal, 1);
    doubled.push(doubled[0].clone());
    let transaction = world.national_cdc[0].govern(proposal.clone(), doubled);
    assert_rejected(&world.submit(transaction), "governance.duplicate_approver");
    // A provincial authority's approval does not count.
    let mut with_province = national_approvals(&world, &proposal, 1);
    with_province.push(proposal.approve(&world.chain_id(), world.guangdong_cdc.key()));
    let transaction = world.national_cdc[0].govern(proposal.clone(), with_province);
    assert_rejected(
        &world.submit(transaction),
        "governance.approver_not_national_authority",
    );
    // A provincial authority cannot submit.
    let approvals = national_approvals(&world, &proposal, 2);
    let transaction = world
        .guangdong_cdc
        .govern(proposal.clone(), approvals.clone());
    assert_rejected(&world.submit(transaction), "governance.not_national");
    // Two national approvals apply it.
    let transaction = world.national_cdc[1].govern(proposal.clone(), approvals.clone());
    applied(&world.submit(transaction));
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    assert_rejected(&world.submit(transaction), "retired_disease");
    // Replaying the same approvals is rejected by the sequence number.
    let transaction = world.national_cdc[2].govern(proposal, approvals);
    assert_rejected(&world.submit(transaction), "governance.sequence");
}

#[test]
fn governance_changes_adjacency_and_is_all_or_nothing() {
    let mut world = World::new();
    let proposal = GovernanceProposal {
        sequence: 1,
        actions: vec![
            GovernanceAction::SetAdjacency {
                a: code("440304"),
                b: code("440104"),
                adjacent: true,
            },
            GovernanceAction::SetApprovalThreshold(0),
        ],
    };
    let approvals = national_approvals(&world, &proposal, 2);
    let transaction = world.national_cdc[0].govern(proposal, approvals);
    assert_rejected(&world.submit(transaction), "governance.zero_threshold");
    let config = world.ledger.reader().expect("r").config().expect("config");
    assert!(!config.regions.are_adjacent(code("440304"), code("440104")));
    assert_eq!(config.governance_sequence, 0);
}

#[test]
fn a_transaction_signed_with_a_wrong_key_never_applies() {
    let mut world = World::new();
    let transaction = Transaction {
        chain_id: world.chain_id(),
        signer: world.futian_hospital.public_key(),
        nonce: 1_000,
        payload: Payload::ReportCase(world.report("DENGUE", "440304")),
    }
    .sign(&KeyPair::from_seed([98; 32]));
    assert_rejected(&world.submit(transaction), "bad_signature");
}

/// Review H8: a case belongs to its reporting institution (and the authorities over it). Another
/// hospital of the same district cannot amend it, lock the reporter out or record a death; a
/// colleague of the reporter can, but keeps the reporter a reader; a laboratory's details are an
/// annotation in the history, never the details readers see.
#[test]
fn only_the_reporting_institution_replaces_a_case_and_the_reporter_stays_a_reader() {
    let mut world = World::new();
    let (id, head) = reported_case(&mut world);
    let (mut other_hospital, enroll) =
        world
            .shenzhen
            .issue_leaf(world.chain_id(), 44, Role::Hospital, "440304", validity());
    applied(&world.submit(enroll));
    let cdc_only = sealed_to(&[&world.futian_cdc]);
    let amend = other_hospital.update(id, head, CaseChange::Amend, cdc_only.clone());
    assert_rejected(&world.submit(amend), "not_case_owner");
    let died = other_hospital.update(id, head, CaseChange::Outcome(Outcome::Died), vec![]);
    assert_rejected(&world.submit(died), "not_case_owner");

    // The reporter's colleague may amend, but not drop the reporter from the readers.
    let locked_out = world
        .futian_doctor
        .update(id, head, CaseChange::Amend, cdc_only);
    assert_rejected(&world.submit(locked_out), "sealed.reporter_not_reader");
    let with_reporter = sealed_to(&[&world.futian_cdc, &world.futian_hospital]);
    let amend = world
        .futian_doctor
        .update(id, head, CaseChange::Amend, with_reporter.clone());
    applied(&world.submit(amend));

    // A laboratory confirms with its own details: kept in the history, not in place of the
    // reporter's.
    let head = world.case(&id).head;
    let lab_details = sealed_to(&[
        &world.futian_cdc,
        &world.shenzhen_lab,
        &world.futian_hospital,
    ]);
    let confirm = world.shenzhen_lab.update(
        id,
        head,
        CaseChange::Status(CaseStatus::LabConfirmed),
        lab_details.clone(),
    );
    applied(&world.submit(confirm));
    let reader = world.ledger.reader().expect("reader");
    let view = reader.case_view(&id).expect("read").expect("case");
    assert_eq!(view.record.state.status, CaseStatus::LabConfirmed);
    assert_eq!(view.sealed, with_reporter);
    let history = reader.case_history(&id).expect("history");
    assert_eq!(history[2].change.sealed(), lab_details.as_slice());
}

/// Review M10: re-enrolment brings a strictly newer certificate, so a key demoted from authority
/// to hospital cannot bring its old authority certificate back.
#[test]
fn a_superseded_certificate_cannot_be_enrolled_again() {
    let mut world = World::new();
    let chain_id = world.chain_id();
    let older = validity();
    let newer = epichain_core::cert::Validity::days_from(older.not_before_seconds + 3_600, 365);
    let (mut key, as_authority) =
        world
            .shenzhen
            .issue_member(chain_id, 46, Role::Authority, "440304", older, "org-46");
    applied(&world.submit(as_authority.clone()));
    let (_, as_hospital) =
        world
            .shenzhen
            .issue_member(chain_id, 46, Role::Hospital, "440304", newer, "org-46");
    let Payload::EnrollIdentity(as_hospital) = as_hospital.transaction.payload else {
        unreachable!()
    };
    let Payload::EnrollIdentity(as_authority) = as_authority.transaction.payload else {
        unreachable!()
    };
    let chain = world.shenzhen.chain.clone();
    applied(&world.submit(key.enroll(as_hospital.certificate.clone(), chain.clone())));
    assert_rejected(
        &world.submit(key.enroll(as_authority.certificate, chain.clone())),
        "certificate.superseded",
    );
    // A refused enrolment leaves the enrolled nonce where it was.
    let mut key = epichain_core::Signer::new(KeyPair::from_seed([46; 32]), chain_id, 2);
    // The same certificate again is no newer either.
    assert_rejected(
        &world.submit(key.enroll(as_hospital.certificate, chain)),
        "certificate.superseded",
    );
    let identity = world
        .ledger
        .reader()
        .expect("reader")
        .identity(&key.public_key())
        .expect("read")
        .expect("enrolled");
    assert_eq!(identity.role, Role::Hospital);
}

/// Submits a proposal with the next sequence number, approved by the national CDCs at
/// `approvers` (indexes into `world.national_cdc`).
fn propose(
    world: &mut World,
    actions: Vec<GovernanceAction>,
    approvers: &[usize],
) -> TransactionOutcome {
    let sequence = world
        .ledger
        .reader()
        .expect("reader")
        .config()
        .expect("config")
        .governance_sequence
        + 1;
    let proposal = GovernanceProposal { sequence, actions };
    let approvals = approvers
        .iter()
        .map(|index| proposal.approve(&world.chain_id(), world.national_cdc[*index].key()))
        .collect();
    let transaction = world.national_cdc[approvers[0]].govern(proposal, approvals);
    world.submit(transaction)
}

fn config(world: &World) -> epichain_ledger::state::ChainConfig {
    world
        .ledger
        .reader()
        .expect("reader")
        .config()
        .expect("config")
}

/// Review H7: the root CA can certify a national authority in any institution's name, but only
/// the keys genesis lists approve; two keys of one institution count once.
#[test]
fn approvals_count_listed_institutions_not_keys() {
    let mut world = World::new();
    let chain_id = world.chain_id();
    // A key the root minted in the name of approver institution org-21.
    let (mut minted, enroll) = world.root.issue_member(
        chain_id,
        50,
        Role::Authority,
        "000000",
        validity(),
        "org-21",
    );
    applied(&world.submit(enroll));
    let proposal = GovernanceProposal {
        sequence: 1,
        actions: vec![GovernanceAction::RetireDisease(disease("DENGUE"))],
    };
    let approvals = vec![
        proposal.approve(&chain_id, world.national_cdc[0].key()),
        proposal.approve(&chain_id, minted.key()),
    ];
    let transaction = minted.govern(proposal.clone(), approvals);
    assert_rejected(&world.submit(transaction), "governance.approver_not_listed");
    // A second listed key of org-20 (seed 24, see the test genesis) adds no institution.
    let (second, enroll) = world.root.issue_member(
        chain_id,
        24,
        Role::Authority,
        "000000",
        validity(),
        "org-20",
    );
    applied(&world.submit(enroll));
    let approvals = vec![
        proposal.approve(&chain_id, world.national_cdc[0].key()),
        proposal.approve(&chain_id, second.key()),
    ];
    let transaction = world.national_cdc[0].govern(proposal, approvals);
    match world.submit(transaction) {
        TransactionOutcome::Rejected(epichain_core::Rejection::Governance(
            epichain_core::rejection::GovernanceProblem::TooFewApprovals {
                approvals,
                threshold,
            },
        )) => assert_eq!((approvals, threshold), (1, 2)),
        other => panic!("expected too few approvals, got {other:?}"),
    }
}

/// Threshold and root changes wait out the timelock, can be cancelled meanwhile, and apply at
/// the first block after it.
#[test]
fn threshold_changes_wait_out_the_timelock_and_can_be_cancelled() {
    let mut world = World::new();
    applied(&propose(
        &mut world,
        vec![GovernanceAction::SetApprovalThreshold(3)],
        &[0, 1],
    ));
    let pending = config(&world).pending_governance;
    assert_eq!(pending.len(), 1);
    assert_eq!(config(&world).approval_threshold, 2, "not before its time");
    // A second one, cancelled by a third before it is due.
    let second_root = epichain_core::cert::create_root(
        &KeyPair::from_seed([54; 32]),
        "Second Root CA",
        "second-root-ca".parse().expect("institution"),
        validity(),
    )
    .expect("root");
    applied(&propose(
        &mut world,
        vec![GovernanceAction::AddRootCertificate(second_root)],
        &[1, 2],
    ));
    let cancelled = config(&world).governance_sequence;
    applied(&propose(
        &mut world,
        vec![GovernanceAction::CancelPending(cancelled)],
        &[0, 2],
    ));
    assert_eq!(config(&world).pending_governance, pending);
    world.time_ms = pending[0].due_time_ms;
    let outcome = world.block(vec![]);
    assert!(outcome.events.iter().any(|event| matches!(
        event,
        epichain_ledger::Event::GovernanceApplied { sequence: 1 }
    )));
    let config = config(&world);
    assert_eq!(config.approval_threshold, 3);
    assert!(config.pending_governance.is_empty());
    // The cancelled change never applied.
    assert_eq!(config.root_certificates.len(), 1);
    // At most PENDING_PROPOSALS_MAX wait at once.
    for _ in 0..epichain_core::governance::PENDING_PROPOSALS_MAX {
        applied(&propose(
            &mut world,
            vec![GovernanceAction::SetApprovalThreshold(3)],
            &[0, 1, 2],
        ));
    }
    assert_rejected(
        &propose(
            &mut world,
            vec![GovernanceAction::SetApprovalThreshold(3)],
            &[0, 1, 2],
        ),
        "governance.pending_full",
    );
}

/// Review H6 and M10: governance revokes what nobody else can — a national authority, the root
/// (with everything it issued), and a CA key before anything under it enrolled.
#[test]
fn governance_revokes_national_authorities_roots_and_unseen_cas() {
    let mut world = World::new();
    let chain_id = world.chain_id();
    // A peer cannot revoke a national authority; governance can.
    let target = world.national_cdc[2].public_key();
    let by_peer = world.national_cdc[0].revoke(target, RevocationReason::KeyCompromise);
    assert_rejected(&world.submit(by_peer), "outside_jurisdiction");
    applied(&propose(
        &mut world,
        vec![GovernanceAction::RevokeKey {
            key: target,
            reason: RevocationReason::KeyCompromise,
        }],
        &[0, 1],
    ));
    let transaction = world.national_cdc[2].revoke(target, RevocationReason::Superseded);
    assert_eq!(
        world.submit(transaction),
        TransactionOutcome::Rejected(epichain_core::Rejection::RevokedSigner(target))
    );
    // A leaked city CA key nothing was issued under yet.
    let leaked = world.guangdong.issue_ca(51, "440100", "Leaked CA");
    applied(&propose(
        &mut world,
        vec![GovernanceAction::RevokeKey {
            key: leaked.key.public_key(),
            reason: RevocationReason::CaCompromise,
        }],
        &[0, 1],
    ));
    let (_, enroll) = leaked.issue_leaf(chain_id, 52, Role::Hospital, "440104", validity());
    assert_rejected(&world.submit(enroll), "revoked_issuer");
    // Removing the root (after a second root is trusted) revokes everything under it.
    let second_root = KeyPair::from_seed([53; 32]);
    let second = epichain_core::cert::create_root(
        &second_root,
        "Second Root CA",
        "second-root-ca".parse().expect("institution"),
        validity(),
    )
    .expect("root");
    let root = world.root.key.public_key();
    applied(&propose(
        &mut world,
        vec![
            GovernanceAction::AddRootCertificate(second),
            GovernanceAction::RemoveRootCertificate(root),
        ],
        &[0, 1],
    ));
    world.time_ms = config(&world).pending_governance[0].due_time_ms;
    world.block(vec![]);
    let (transaction, _) = world
        .futian_hospital
        .report(world.report("DENGUE", "440304"));
    assert_eq!(
        world.submit(transaction),
        TransactionOutcome::Rejected(epichain_core::Rejection::RevokedIssuer(
            world.root.key.public_key()
        ))
    );
}

/// Review H5 (ledger half): a node that hands a reporter an attacker's encryption key for the
/// district CDC gets the report refused, instead of readable by the attacker.
#[test]
fn every_reader_must_be_sealed_to_the_key_it_published() {
    let mut world = World::new();
    let attacker = sealed::EncryptionKeyPair::from_seed([66; 32]).public();
    let redirected = sealed::seal(
        b"{}",
        &[(world.futian_cdc.public_key(), attacker)],
        None,
        b"binding",
    )
    .expect("seal")
    .to_bytes();
    let mut report = world.report("DENGUE", "440304");
    report.sealed = redirected;
    let (transaction, _) = world.futian_hospital.report(report);
    assert_eq!(
        world.submit(transaction),
        TransactionOutcome::Rejected(
            epichain_core::rejection::SealedProblem::ReaderKeyMismatch(
                world.futian_cdc.public_key()
            )
            .into()
        )
    );
    // A reader that never published a key cannot be named either.
    let mut report = world.report("DENGUE", "440304");
    report.sealed = sealed_to(&[&world.futian_cdc, &world.futian_doctor]);
    let (transaction, _) = world.futian_hospital.report(report);
    assert_rejected(&world.submit(transaction), "sealed.reader_key_mismatch");
}

/// Review H3: enrolled certificates are public, so a patient's must not name the patient (a CA
/// using other tooling than `epichain ca issue`, which refuses a name, could still write one).
#[test]
fn a_patient_certificate_that_names_the_patient_is_refused() {
    let mut world = World::new();
    let key = KeyPair::from_seed([47; 32]);
    let named = epichain_core::cert::issue(
        &world.shenzhen.certificate,
        &world.shenzhen.key,
        &epichain_core::cert::IssueRequest {
            subject_key: key.public_key(),
            claims: epichain_core::cert::Claims {
                role: Role::Patient,
                region: code("440304"),
                institution: "patients".parse().expect("institution"),
            },
            common_name: "Li Si",
            validity: validity(),
        },
    )
    .expect("a careless CA can write one");
    let mut patient = Signer::new(key, world.chain_id(), 0);
    let enroll = patient.enroll(named, world.shenzhen.chain.clone());
    assert_rejected(&world.submit(enroll), "certificate.patient_named");
    // The world's patient enrolled without a name.
    let identity = world
        .ledger
        .reader()
        .expect("reader")
        .identity(&world.patient.public_key())
        .expect("read")
        .expect("enrolled");
    assert!(identity.name.is_empty());
}

/// The Shenzhen scope for case reporting, and the CDC seed whose key it publishes.
fn shenzhen_scope() -> (
    epichain_core::pseudonym::PseudonymSecret,
    epichain_core::pseudonym::PseudonymScope,
) {
    use epichain_core::pseudonym::{PseudonymPurpose, PseudonymScope, PseudonymSecret};
    (
        PseudonymSecret::from_bytes([9; 32]),
        PseudonymScope {
            region: code("440300"),
            purpose: PseudonymPurpose::CaseReporting,
        },
    )
}

fn pseudonym(message: epichain_core::pseudonym::PseudonymMessage) -> Payload {
    Payload::Pseudonym(message)
}

/// The Shenzhen CDC publishes the scope's key.
fn publish_shenzhen_scope(
    world: &mut World,
    secret: &epichain_core::pseudonym::PseudonymSecret,
    scope: &epichain_core::pseudonym::PseudonymScope,
) {
    let transaction = world.shenzhen_cdc.sign(pseudonym(
        epichain_core::pseudonym::PseudonymMessage::PublishKey {
            scope: *scope,
            public_key: secret.public_key(scope),
        },
    ));
    applied(&world.submit(transaction));
}

/// Review H4: a scope's key is published by a CDC of exactly its region; sites of the region
/// ask on chain (the request names the requester and its institution); only the publisher
/// answers, with one element per request element; the site's pseudonym is the CDC's.
#[test]
fn pseudonyms_come_from_the_scope_cdc() {
    use epichain_core::pseudonym::{PseudonymMessage, blind};
    use epichain_ledger::state::PseudonymRequestRecord;
    let mut world = World::new();
    let (secret, scope) = shenzhen_scope();
    let publish = || {
        pseudonym(PseudonymMessage::PublishKey {
            scope,
            public_key: secret.public_key(&scope),
        })
    };
    // Not the scope's region (a district CDC, the provincial CDC), not an authority: refused.
    let outsiders = [
        world.futian_cdc.sign(publish()),
        world.guangdong_cdc.sign(publish()),
    ];
    for transaction in outsiders {
        assert_rejected(&world.submit(transaction), "pseudonym.not_scope_authority");
    }
    let transaction = world.futian_hospital.sign(publish());
    assert_rejected(&world.submit(transaction), "role_not_permitted");
    publish_shenzhen_scope(&mut world, &secret, &scope);

    let number = "11010519491231002X";
    let request = |blinded| pseudonym(PseudonymMessage::Request { scope, blinded });
    // A hospital outside the scope's region may not ask; a non-point is refused.
    let (blinding, blinded) = blind(&[number]).expect("blind");
    let transaction = world.yuexiu_hospital.sign(request(blinded.clone()));
    assert_rejected(&world.submit(transaction), "pseudonym.outside_scope");
    let transaction = world.futian_doctor.sign(request(vec![[0u8; 32]]));
    assert_rejected(&world.submit(transaction), "pseudonym.bad_element");
    let asked = world.futian_doctor.sign(request(blinded.clone()));
    let request_id = asked.id();
    applied(&world.submit(asked));

    let (evaluated, proof) = secret.evaluate(&scope, &blinded).expect("evaluate");
    let answer = |evaluated: Vec<[u8; 32]>| {
        pseudonym(PseudonymMessage::Evaluate {
            request: request_id,
            evaluated,
            proof: proof.to_vec(),
        })
    };
    let transaction = world.guangdong_cdc.sign(answer(evaluated.clone()));
    assert_rejected(&world.submit(transaction), "pseudonym.not_evaluator");
    let transaction = world.shenzhen_cdc.sign(answer(vec![evaluated[0]; 2]));
    assert_rejected(&world.submit(transaction), "pseudonym.answer_shape");
    let transaction = world.shenzhen_cdc.sign(answer(evaluated.clone()));
    applied(&world.submit(transaction));
    let transaction = world.shenzhen_cdc.sign(answer(evaluated));
    assert_rejected(&world.submit(transaction), "pseudonym.already_answered");
    let record = world
        .ledger
        .reader()
        .expect("reader")
        .get::<PseudonymRequestRecord>(&request_id)
        .expect("read")
        .expect("request on chain");
    assert_eq!(record.requester, world.futian_doctor.public_key());
    assert_eq!(record.institution.as_str(), "org-10");
    let answer = record.answer.expect("answered");
    let proof: [u8; 64] = answer.proof.as_slice().try_into().expect("proof");
    let pseudonyms = blinding
        .finalize(&answer.evaluated, &proof, &answer.public_key)
        .expect("the proof verifies");
    assert_eq!(
        pseudonyms[0],
        secret.pseudonym(&scope, number).expect("direct")
    );
}

/// Review H4: a dictionary through the CDC stops at the institution's daily quota, which the
/// doctor and the hospital of one institution share.
#[test]
fn pseudonym_requests_stop_at_the_institution_daily_quota() {
    use epichain_core::pseudonym::{PseudonymMessage, blind};
    use epichain_ledger::state::PSEUDONYM_ELEMENTS_PER_INSTITUTION_DAY_MAX;
    let mut world = World::new();
    let (secret, scope) = shenzhen_scope();
    publish_shenzhen_scope(&mut world, &secret, &scope);
    let request = |blinded| pseudonym(PseudonymMessage::Request { scope, blinded });
    let (_, one) = blind(&["11010519491231002X"]).expect("blind");
    let transaction = world.futian_doctor.sign(request(one));
    applied(&world.submit(transaction));
    let (_, full) = blind(&["11010519491231002X"; 64]).expect("blind");
    let batches = (PSEUDONYM_ELEMENTS_PER_INSTITUTION_DAY_MAX as usize - 1) / 64;
    let transactions: Vec<_> = (0..batches)
        .map(|_| world.futian_hospital.sign(request(full.clone())))
        .collect();
    // The CDC answers block by block, as its service does, so the scope's queue stays short.
    for chunk in transactions.chunks(8) {
        let outcome = world.block(chunk.to_vec());
        let mut answers = Vec::new();
        for (transaction, receipt) in chunk.iter().zip(&outcome.receipts) {
            assert_eq!(receipt.outcome, TransactionOutcome::Applied);
            let (evaluated, proof) = secret.evaluate(&scope, &full).expect("evaluate");
            answers.push(
                world
                    .shenzhen_cdc
                    .sign(pseudonym(PseudonymMessage::Evaluate {
                        request: transaction.id(),
                        evaluated,
                        proof: proof.to_vec(),
                    })),
            );
        }
        world.block(answers);
    }
    let transaction = world.futian_hospital.sign(request(full));
    assert_rejected(&world.submit(transaction), "pseudonym.quota_exceeded");
}

/// Review H4: requests for a scope nobody published, empty ones, answers to no request, and a
/// queue the CDC does not drain are refused.
#[test]
fn pseudonym_requests_out_of_shape_are_refused() {
    use epichain_core::pseudonym::{PseudonymMessage, blind};
    use epichain_ledger::state::PSEUDONYM_PENDING_MAX;
    let mut world = World::new();
    let (secret, scope) = shenzhen_scope();
    let request = |blinded| pseudonym(PseudonymMessage::Request { scope, blinded });
    let (_, one) = blind(&["E12345678"]).expect("blind");
    let transaction = world.futian_hospital.sign(request(one.clone()));
    assert_rejected(&world.submit(transaction), "pseudonym.unknown_scope");
    publish_shenzhen_scope(&mut world, &secret, &scope);
    let transaction = world.futian_hospital.sign(request(Vec::new()));
    assert_rejected(&world.submit(transaction), "pseudonym.batch_size");
    let (evaluated, proof) = secret.evaluate(&scope, &one).expect("evaluate");
    let transaction = world
        .shenzhen_cdc
        .sign(pseudonym(PseudonymMessage::Evaluate {
            request: Hash([7; 32]),
            evaluated,
            proof: proof.to_vec(),
        }));
    assert_rejected(&world.submit(transaction), "pseudonym.unknown_request");
    let queued: Vec<_> = (0..PSEUDONYM_PENDING_MAX)
        .map(|_| world.futian_hospital.sign(request(one.clone())))
        .collect();
    let outcome = world.block(queued);
    assert!(
        outcome
            .receipts
            .iter()
            .all(|receipt| receipt.outcome == TransactionOutcome::Applied)
    );
    let transaction = world.futian_hospital.sign(request(one));
    assert_rejected(&world.submit(transaction), "pseudonym.queue_full");
}

/// Review M11: a validator's escrow holder key is not its consensus key, and genesis refuses
/// one that is; the escrow holders are the holder keys, so the consensus key (online by
/// necessity) signs no escrow or disclosure transaction.
#[test]
fn a_validator_holds_the_escrow_with_a_key_apart_from_its_consensus_key() {
    let root = Authority::root();
    let mut genesis = genesis_with_root(root.certificate.clone());
    let consensus = KeyPair::from_seed([40; 32]).public_key();
    let holder = KeyPair::from_seed([41; 32]).public_key();
    genesis.validators = vec![epichain_core::genesis::Validator {
        key: consensus,
        name: "China CDC".into(),
        holder: consensus,
    }];
    assert!(
        genesis.validate().is_err(),
        "a holder key equal to the consensus key"
    );
    genesis.validators[0].holder = holder;
    genesis.validate().expect("distinct keys");
    let directory = tempfile::tempdir().expect("temp dir");
    let ledger = epichain_ledger::Ledger::open(&directory.path().join("ledger.redb"), &genesis)
        .expect("open");
    let config = ledger.reader().expect("reader").config().expect("config");
    assert_eq!(config.escrow_holders, vec![holder]);
}
