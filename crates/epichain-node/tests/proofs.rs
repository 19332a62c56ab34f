//! Proof bundles from a 4-validator network (deterministic simulation, the engine's real
//! finality certificates): every kind verifies offline with the genesis alone, and each way of
//! tampering with a bundle is caught by the check that names it.

use crate::common::{Sim, VALIDATOR_COUNT, runner};
use commonware_runtime::Runner as _;
use epichain_core::case::{CaseChange, Outcome};
use epichain_core::{Day, Hash, SignedTransaction, TransactionOutcome};
use epichain_ledger::LedgerReader;
use epichain_ledger::proofs::ProofError;
use epichain_verify::bundle::{ProofBundle, RecordRef};
use epichain_verify::certificate::CertificateError;
use epichain_verify::{Authorship, Signer, Verifier, VerifyError, verify};
use epichain_world::{DemoWorld, validators};

/// Versions of the case whose history the test proves.
const VERSIONS: u32 = 10;

/// Reports a case and updates it until it has [`VERSIONS`] versions; returns its id and the
/// last update.
async fn case_with_versions(sim: &mut Sim) -> (Hash, SignedTransaction) {
    let day = Day::from_unix_ms(epichain_node::application::now_ms(&sim.context));
    let report = sim
        .world
        .case_report(day, "DENGUE", "440304")
        .expect("report");
    let hospital = &mut sim
        .world
        .identity("futian-hospital")
        .expect("hospital")
        .signer;
    let (transaction, id) = hospital.report(report);
    sim.settle(&[transaction]).await;
    let mut last = None;
    for round in 1..VERSIONS {
        let head = reader(sim, 0).case(&id).expect("read").expect("case").head;
        let outcome = if round % 2 == 0 {
            Outcome::Recovered
        } else {
            Outcome::Transferred
        };
        let hospital = &mut sim
            .world
            .identity("futian-hospital")
            .expect("hospital")
            .signer;
        let update = hospital.update(id, head, CaseChange::Outcome(outcome), Vec::new());
        sim.settle(std::slice::from_ref(&update)).await;
        assert_eq!(
            reader(sim, 0)
                .receipt(&update.id())
                .expect("read")
                .expect("receipt")
                .1
                .outcome,
            TransactionOutcome::Applied
        );
        last = Some(update);
    }
    (id, last.expect("updates"))
}

fn reader(sim: &Sim, node: usize) -> LedgerReader {
    sim.nodes[node].chain().reader().expect("reader")
}

#[test]
fn bundles_from_every_validator_verify_offline_and_tampering_is_named() {
    runner(23).start(|context| async move {
        let world = DemoWorld::new(crate::common::GENESIS_MS, validators(&crate::common::NAMES))
            .expect("world");
        let mut sim = Sim::enrolled(context, world).await;
        let (case, last_update) = case_with_versions(&mut sim).await;
        let genesis = sim.world.genesis.clone();
        let hospital = sim
            .world
            .identity("futian-hospital")
            .expect("hospital")
            .signer
            .public_key();

        let records = [
            RecordRef::Case(case),
            RecordRef::Identity(hospital),
            RecordRef::Transaction(last_update.id()),
            RecordRef::Case(Hash([7; 32])),
            RecordRef::EscrowKey,
            RecordRef::Receipt(last_update.id()),
        ];
        for node in 0..VALIDATOR_COUNT {
            for record in records {
                let bundle = reader(&sim, node).proof_bundle(record).expect("bundle");
                let bytes = bundle.to_bytes();
                let (_, verified) =
                    epichain_verify::verify_bytes(&genesis, &bytes).expect("bundle verifies");
                assert_eq!(verified.record, record);
                assert!(verified.certified_by.len() >= 3);
            }
        }
        let bundle = reader(&sim, 0)
            .proof_bundle(RecordRef::Case(case))
            .expect("bundle");
        assert_eq!(bundle.versions.len(), VERSIONS as usize);
        let absent = reader(&sim, 0)
            .proof_bundle(RecordRef::Case(Hash([7; 32])))
            .expect("absence");
        assert!(
            verify(&genesis, &absent)
                .expect("absence verifies")
                .head
                .is_none()
        );
        assert_eq!(
            reader(&sim, 0).proof_bundle(RecordRef::Transaction(Hash([7; 32]))),
            Err(ProofError::UnknownTransaction)
        );
        tampered_versions_are_caught(&genesis, &bundle);
        tampered_checkpoints_are_caught(&genesis, &bundle);
        let transaction = reader(&sim, 0)
            .proof_bundle(RecordRef::Transaction(last_update.id()))
            .expect("bundle");
        tampered_transactions_are_caught(&genesis, &transaction);
    });
}

fn refused(genesis: &epichain_core::Genesis, bundle: &ProofBundle) -> VerifyError {
    verify(genesis, bundle).expect_err("tampered bundle must not verify")
}

fn tampered_versions_are_caught(genesis: &epichain_core::Genesis, bundle: &ProofBundle) {
    use epichain_core::state::ChainBreak;
    let mut dropped = bundle.clone();
    dropped.versions.remove(4);
    assert_eq!(
        refused(genesis, &dropped),
        VerifyError::VersionCount {
            head: VERSIONS - 1,
            found: VERSIONS as usize - 1
        }
    );
    let mut reordered = bundle.clone();
    reordered.versions.swap(3, 4);
    assert_eq!(
        refused(genesis, &reordered),
        VerifyError::VersionChain(ChainBreak::Numbering {
            position: 3,
            number: 4
        })
    );
    let mut rewritten = bundle.clone();
    rewritten.versions[5].version.time_ms += 1;
    assert_eq!(
        refused(genesis, &rewritten),
        VerifyError::VersionChain(ChainBreak::Predecessor(6))
    );
    let mut rewritten_head = bundle.clone();
    rewritten_head.versions[9].version.signer = rewritten_head.versions[0].version.signer;
    rewritten_head.versions[9].version.time_ms += 1;
    assert_eq!(
        refused(genesis, &rewritten_head),
        VerifyError::VersionChain(ChainBreak::Head)
    );
    let mut swapped = bundle.clone();
    swapped.versions[2].transaction = swapped.versions[3].transaction.clone();
    assert_eq!(
        refused(genesis, &swapped),
        VerifyError::VersionTransaction(2)
    );
    let mut forged = bundle.clone();
    forged.versions[7].transaction.signature.0[10] ^= 1;
    // The transaction id covers the signature: a changed signature names another transaction,
    // also for a verifier that lets the quorum vouch for authors.
    assert_eq!(
        refused(genesis, &forged),
        VerifyError::VersionTransaction(7)
    );
    let quorum = Verifier::new(genesis).with_authorship(Authorship::Quorum);
    assert!(quorum.verify(bundle).is_ok());
    assert_eq!(
        quorum.verify(&forged).err(),
        Some(VerifyError::VersionTransaction(7))
    );
}

fn tampered_checkpoints_are_caught(genesis: &epichain_core::Genesis, bundle: &ProofBundle) {
    let mut header = bundle.clone();
    header.checkpoint.header.state_root.0[0] ^= 1;
    assert!(matches!(
        refused(genesis, &header),
        VerifyError::Certificate(CertificateError::WrongBlock { .. })
    ));
    let mut signature = bundle.clone();
    let length = signature.checkpoint.certificate.len();
    signature.checkpoint.certificate[length - 1] ^= 1;
    assert!(matches!(
        refused(genesis, &signature),
        VerifyError::Signature(Signer::Validator(_))
    ));
    let mut value = bundle.clone();
    if let Some(bytes) = value.state[0].value.as_mut() {
        bytes[40] ^= 1;
    }
    assert_eq!(
        refused(genesis, &value),
        VerifyError::StateProof {
            index: 0,
            height: bundle.checkpoint.header.height
        }
    );
    let mut hidden = bundle.clone();
    hidden.state[0].value = None;
    assert_eq!(
        refused(genesis, &hidden),
        VerifyError::StateProof {
            index: 0,
            height: bundle.checkpoint.header.height
        }
    );
    let other = DemoWorld::new(
        crate::common::GENESIS_MS + 1,
        validators(&crate::common::NAMES),
    )
    .expect("another world");
    assert!(matches!(
        refused(&other.genesis, bundle),
        VerifyError::OtherChain { .. }
    ));
    let mut bytes = bundle.to_bytes();
    bytes[8] = 9;
    assert!(matches!(
        epichain_verify::verify_bytes(genesis, &bytes),
        Err(VerifyError::Decode(
            epichain_verify::bundle::BundleDecodeError::Version(9)
        ))
    ));
}

fn tampered_transactions_are_caught(genesis: &epichain_core::Genesis, bundle: &ProofBundle) {
    let height = bundle.checkpoint.header.height;
    let mut receipt = bundle.clone();
    if let Some(proof) = receipt.transaction.as_mut() {
        proof.receipt.outcome =
            TransactionOutcome::Rejected(epichain_core::Rejection::NotCaseOwner);
    }
    assert_eq!(refused(genesis, &receipt), VerifyError::ReceiptPath(height));
    let mut path = bundle.clone();
    if let Some(proof) = path.transaction.as_mut() {
        proof.transaction_path.index ^= 1;
        proof.transaction_path.size += 1;
    }
    assert_eq!(
        refused(genesis, &path),
        VerifyError::TransactionPath(height)
    );
}
