//! Sealed case details on a chain: only the district authority and the reporter read them; other
//! regions' institutions hold all the chain data and read nothing; tampering fails; reads by an
//! authority are logged on chain first.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

use crate::single::Single;
use epichain_core::sealed;
use epichain_core::transaction::{AccessLog, AccessPurpose};
use epichain_core::{Day, Hash, Payload, SignedTransaction, TransactionOutcome};

fn read_as(single: &mut Single, handle: &str, case: &Hash) -> Result<Vec<u8>, sealed::SealError> {
    let envelope = single.envelope(case);
    let (key, encryption) = single.keys(handle);
    let binding = sealed::binding(&single.world.genesis.chain_id(), case, 0);
    envelope.open(&key, &encryption, &binding)
}

#[test]
fn only_the_district_authority_and_the_reporter_read_sealed_details() {
    let mut single = Single::new();
    let enrolments = single.world.enrolments();
    assert!(
        single
            .block(&enrolments)
            .iter()
            .all(|outcome| *outcome == TransactionOutcome::Applied)
    );
    let publications = single.world.publications();
    assert!(
        single
            .block(&publications)
            .iter()
            .all(|outcome| *outcome == TransactionOutcome::Applied)
    );

    let day = Day::from_unix_ms(single.time_ms);
    let reports = single
        .world
        .sealed_reports(day, 12, 3, None)
        .expect("reports");
    let futian: Vec<Hash> = reports
        .iter()
        .filter(|(transaction, _)| match &transaction.transaction.payload {
            Payload::ReportCase(report) => report.region.to_string() == "440304",
            _ => false,
        })
        .map(|(_, id)| *id)
        .collect();
    assert!(!futian.is_empty());
    let transactions: Vec<SignedTransaction> = reports
        .into_iter()
        .map(|(transaction, _)| transaction)
        .collect();
    assert!(
        single
            .block(&transactions)
            .iter()
            .all(|outcome| *outcome == TransactionOutcome::Applied)
    );

    let case = futian[0];
    let plain = read_as(&mut single, "futian-cdc", &case).expect("the district CDC reads it");
    let details = sealed::CaseDetails::from_bytes(&plain).expect("details");
    assert!(details.name.starts_with("Patient "));
    assert_eq!(
        read_as(&mut single, "futian-hospital", &case).expect("the reporter reads it"),
        plain
    );
    // Everyone else holds the same ciphertext and reads nothing.
    for outsider in [
        "yuexiu-hospital",
        "yuexiu-cdc",
        "nanshan-cdc",
        "shenzhen-cdc",
        "guangdong-cdc",
        "shenzhen-lab",
    ] {
        assert!(
            matches!(
                read_as(&mut single, outsider, &case),
                Err(sealed::SealError::NotAReader)
            ),
            "{outsider} read a Futian record"
        );
    }
    // Nothing on chain is plaintext: the record's bytes do not contain the patient's name.
    let stored = single
        .chain
        .reader()
        .expect("reader")
        .case_view(&case)
        .expect("read")
        .expect("case")
        .sealed;
    assert!(
        !stored
            .windows(details.name.len())
            .any(|window| window == details.name.as_bytes())
    );
    // A tampered ciphertext fails authentication.
    let mut tampered = single.envelope(&case);
    let last = tampered.body.len() - 1;
    tampered.body[last] ^= 1;
    let (key, encryption) = single.keys("futian-cdc");
    let binding = sealed::binding(&single.world.genesis.chain_id(), &case, 0);
    assert!(matches!(
        tampered.open(&key, &encryption, &binding),
        Err(sealed::SealError::Authentication)
    ));
    // Its key opens nothing under another record's binding.
    let other = sealed::binding(
        &single.world.genesis.chain_id(),
        &futian[futian.len() - 1],
        1,
    );
    assert!(
        single
            .envelope(&case)
            .open(&key, &encryption, &other)
            .is_err()
    );
}

/// Reads are logged on chain with a purpose code (review M14: no free text on the public chain);
/// two logs by one reader in one block are two entries; a patient (or any role that never reads
/// sealed details) cannot flood a case's audit trail.
#[test]
fn reads_are_logged_on_chain() {
    let mut single = Single::new();
    let enrolments = single.world.enrolments();
    single.block(&enrolments);
    let day = Day::from_unix_ms(single.time_ms);
    let (report, case) = single.world.reports(day, 1, 9).expect("report").remove(0);
    single.block(&[report]);
    let mut log = |handle: &str, purpose: AccessPurpose| {
        single
            .world
            .identity(handle)
            .expect("identity")
            .signer
            .sign(Payload::AccessLog(AccessLog {
                case_id: case,
                purpose,
            }))
    };
    let logs = [
        log("guangdong-cdc", AccessPurpose::OutbreakResponse),
        log("guangdong-cdc", AccessPurpose::Audit),
        log("patient-zhang", AccessPurpose::Audit),
    ];
    let outcomes = single.block(&logs);
    assert_eq!(outcomes[0], TransactionOutcome::Applied);
    assert_eq!(outcomes[1], TransactionOutcome::Applied);
    assert_eq!(outcomes[2].code(), Some("access_log.role_cannot_read"));
    let logs = single
        .chain
        .reader()
        .expect("reader")
        .store()
        .access_logs(&case, 0, usize::MAX)
        .expect("logs");
    let reader = single
        .world
        .identity("guangdong-cdc")
        .expect("identity")
        .signer
        .public_key();
    let purposes: Vec<_> = logs
        .iter()
        .map(|(_, key, _, purpose)| (*key, *purpose))
        .collect();
    assert_eq!(
        purposes,
        [
            (reader, AccessPurpose::OutbreakResponse),
            (reader, AccessPurpose::Audit)
        ]
    );
}
