//! Properties of the canonical encoding and of signed transactions.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

use epichain_core::case::{
    CaseChange, CaseReport, CaseStatus, CaseUpdate, Outcome, PatientRef, Sex,
};
use epichain_core::disclosure::{DecryptionShares, EscrowMessage, RecordVersion};
use epichain_core::governance::{Governance, GovernanceAction, GovernanceProposal};
use epichain_core::sealed::{self, EncryptionKeyPair, Envelope};
use epichain_core::transaction::{AccessLog, AccessPurpose, EnrollIdentity, HexBytes};
use epichain_core::{
    Block, BlockHeader, Day, DiseaseCode, Hash, KeyPair, Payload, PublicKey, RegionCode,
    RevocationReason, RevokeIdentity, SignedTransaction, Transaction,
};
use proptest::prelude::*;

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

fn region() -> impl Strategy<Value = RegionCode> {
    prop_oneof![
        Just(RegionCode::NATIONAL),
        (11u32..=82, 0u32..=99, 0u32..=99).prop_filter_map("valid code", |(p, c, d)| {
            let d = if c == 0 { 0 } else { d };
            RegionCode::new(p * 10_000 + c * 100 + d).ok()
        })
    ]
}

fn disease() -> impl Strategy<Value = DiseaseCode> {
    "[A-Z][A-Z0-9_]{0,31}".prop_map(|text| DiseaseCode::new(&text).expect("pattern is valid"))
}

fn status() -> impl Strategy<Value = CaseStatus> {
    prop::sample::select(CaseStatus::ALL.to_vec())
}

fn report() -> impl Strategy<Value = CaseReport> {
    (
        disease(),
        region(),
        status(),
        prop_oneof![
            any::<[u8; 32]>().prop_map(|b| PatientRef::Key(PublicKey(b))),
            hash().prop_map(PatientRef::Pseudonym)
        ],
        (0u32..40_000, 0u32..40_000),
        0u8..=20,
        prop::sample::select(vec![Sex::Male, Sex::Female, Sex::Unknown]),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |(disease, region, status, patient, (onset, diagnosis), age_band, sex, sealed)| {
                CaseReport {
                    disease,
                    region,
                    status,
                    patient,
                    onset_day: Day(onset),
                    diagnosis_day: Day(diagnosis),
                    age_band,
                    sex,
                    sealed,
                }
            },
        )
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        report().prop_map(Payload::ReportCase),
        (
            hash(),
            hash(),
            status(),
            prop::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(case_id, replaces, status, sealed)| Payload::UpdateCase(
                CaseUpdate {
                    case_id,
                    replaces,
                    change: CaseChange::Status(status),
                    sealed,
                }
            )),
        (hash(), hash()).prop_map(|(case_id, replaces)| Payload::UpdateCase(CaseUpdate {
            case_id,
            replaces,
            change: CaseChange::Outcome(Outcome::Recovered),
            sealed: vec![],
        })),
        (
            prop::collection::vec(any::<u8>(), 0..300),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..50), 0..3)
        )
            .prop_map(|(certificate, intermediates)| Payload::EnrollIdentity(
                EnrollIdentity {
                    certificate,
                    intermediates: intermediates.into_iter().map(HexBytes).collect(),
                }
            )),
        any::<[u8; 32]>().prop_map(|key| Payload::RevokeIdentity(RevokeIdentity {
            key: PublicKey(key),
            reason: RevocationReason::KeyCompromise,
        })),
        any::<[u8; 32]>().prop_map(|key| Payload::PublishEncryptionKey(
            epichain_core::sealed::EncryptionPublicKey(key)
        )),
        (hash(), 0usize..AccessPurpose::ALL.len()).prop_map(|(case_id, purpose)| {
            Payload::AccessLog(AccessLog {
                case_id,
                purpose: AccessPurpose::ALL[purpose],
            })
        }),
        (any::<[u8; 32]>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(dealer, ack)| {
            Payload::Escrow(EscrowMessage::Ack {
                dealer: PublicKey(dealer),
                ack,
            })
        }),
        (
            hash(),
            any::<[u8; 32]>(),
            prop::collection::vec((hash(), any::<u32>()), 0..4),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(
                |(grant, grantee, records, sealed)| Payload::DecryptionShares(DecryptionShares {
                    grant,
                    grantee: PublicKey(grantee),
                    records: records
                        .into_iter()
                        .map(|(case_id, version)| RecordVersion { case_id, version })
                        .collect(),
                    sealed,
                })
            ),
        (any::<u64>(), disease()).prop_map(|(sequence, code)| Payload::Governance(Governance {
            proposal: GovernanceProposal {
                sequence,
                actions: vec![
                    GovernanceAction::RetireDisease(code),
                    GovernanceAction::SetApprovalThreshold(3),
                ],
            },
            approvals: vec![],
        })),
    ]
}

fn signed_transaction() -> impl Strategy<Value = SignedTransaction> {
    (any::<[u8; 32]>(), hash(), any::<u64>(), payload()).prop_map(
        |(seed, chain_id, nonce, payload)| {
            let key = KeyPair::from_seed(seed);
            Transaction {
                chain_id,
                signer: key.public_key(),
                nonce,
                payload,
            }
            .sign(&key)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn signed_transactions_round_trip(signed in signed_transaction()) {
        let bytes = signed.to_bytes();
        let decoded = SignedTransaction::from_bytes(&bytes).expect("round trip");
        prop_assert_eq!(&decoded, &signed);
        prop_assert_eq!(decoded.to_bytes(), bytes);
        prop_assert_eq!(decoded.id(), signed.id());
        prop_assert!(decoded.verify_signature().is_ok());
    }

    #[test]
    fn json_round_trip(signed in signed_transaction()) {
        let text = serde_json::to_string(&signed).expect("serialise");
        let decoded: SignedTransaction = serde_json::from_str(&text).expect("parse");
        prop_assert_eq!(decoded, signed);
    }

    #[test]
    fn any_flipped_byte_breaks_the_transaction(
        signed in signed_transaction(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut bytes = signed.to_bytes();
        let index = position.index(bytes.len());
        bytes[index] ^= 1 << bit;
        // Either it no longer decodes, or it decodes to something whose signature fails.
        if let Ok(tampered) = SignedTransaction::from_bytes(&bytes) {
            prop_assert!(tampered.verify_signature().is_err());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = SignedTransaction::from_bytes(&bytes);
        let _ = Block::from_bytes(&bytes);
        let _ = epichain_core::encoding::decode::<BlockHeader>(&bytes);
    }

    #[test]
    fn sealed_envelopes_round_trip_and_any_flipped_byte_fails_to_open(
        plaintext in prop::collection::vec(any::<u8>(), 0..512),
        readers in 1usize..4,
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let keys: Vec<(PublicKey, EncryptionKeyPair)> = (0..readers)
            .map(|index| {
                let key = KeyPair::from_seed([index as u8 + 1; 32]);
                (key.public_key(), EncryptionKeyPair::derived_from(&key))
            })
            .collect();
        let recipients: Vec<_> = keys.iter().map(|(key, pair)| (*key, pair.public())).collect();
        let binding = sealed::binding(&Hash([1; 32]), &Hash([2; 32]), 0);
        let bytes = sealed::seal(&plaintext, &recipients, None, &binding).expect("seal").to_bytes();
        let envelope = Envelope::from_bytes(&bytes).expect("decodes");
        prop_assert_eq!(envelope.to_bytes(), bytes.clone());
        for (key, pair) in &keys {
            prop_assert_eq!(envelope.open(key, pair, &binding).expect("opens"), plaintext.clone());
        }
        // Another record's binding does not open it.
        let elsewhere = sealed::binding(&Hash([1; 32]), &Hash([3; 32]), 0);
        prop_assert!(envelope.open(&keys[0].0, &keys[0].1, &elsewhere).is_err());
        // Any flipped bit: it no longer decodes, or some reader's open fails loudly (its wrap
        // or the shared body was hit) and no reader ever gets other plaintext.
        let mut tampered = bytes;
        let index = position.index(tampered.len());
        tampered[index] ^= 1 << bit;
        if let Ok(envelope) = Envelope::from_bytes(&tampered) {
            let opened: Vec<_> = keys
                .iter()
                .map(|(key, pair)| envelope.open(key, pair, &binding).ok())
                .collect();
            prop_assert!(opened.iter().any(Option::is_none));
            prop_assert!(opened.iter().flatten().all(|text| *text == plaintext));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_as_an_envelope(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Envelope::from_bytes(&bytes);
    }

    #[test]
    fn truncated_encodings_are_rejected(signed in signed_transaction(), cut in any::<prop::sample::Index>()) {
        let bytes = signed.to_bytes();
        let length = cut.index(bytes.len());
        prop_assert!(SignedTransaction::from_bytes(&bytes[..length]).is_err());
    }
}

#[test]
fn transaction_for_one_chain_does_not_verify_for_another() {
    let key = KeyPair::from_seed([5; 32]);
    let signed = Transaction {
        chain_id: Hash([1; 32]),
        signer: key.public_key(),
        nonce: 1,
        payload: Payload::RevokeIdentity(RevokeIdentity {
            key: key.public_key(),
            reason: RevocationReason::Superseded,
        }),
    }
    .sign(&key);
    let mut moved = signed.clone();
    moved.transaction.chain_id = Hash([2; 32]);
    assert!(signed.verify_signature().is_ok());
    assert!(moved.verify_signature().is_err());
}

#[test]
fn huge_length_prefix_does_not_allocate_or_panic() {
    // A Vec length prefix of 4 billion followed by nothing.
    let mut bytes = vec![0u8; 0];
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(epichain_core::encoding::decode::<Vec<u8>>(&bytes).is_err());
}
