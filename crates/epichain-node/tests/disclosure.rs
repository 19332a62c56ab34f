//! The k-of-n escrow and outbreak disclosure on a chain: the validators generate the escrow key
//! through transactions; records sealed with an escrow wrap open to neighbouring regions only
//! after a grant (from governance or a confirmed outbreak), only for grantees, only with k
//! holders' shares; revoked and expired grants receive no shares.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

use crate::single::Single;
use epichain_core::disclosure::{
    DecryptionShares, EscrowMessage, GrantRequest, GrantScope, RecordVersion,
};
use epichain_core::sealed::{self, CaseDetails};
use epichain_core::warning::{SignalAction, SignalOutcome, Step};
use epichain_core::{
    CaseChange, Day, DiseaseCode, GovernanceAction, GovernanceProposal, Hash, Payload, PublicKey,
    TransactionOutcome,
};
use epichain_escrow::EscrowError;
use epichain_escrow::disclosure::{Grantee, SealedBundle};
use epichain_ledger::state::DisclosureKey;
use epichain_node::escrow_agent::{EscrowAgent, HolderKeys};
use epichain_world::{holder_key, validators};

const HOLDERS: usize = 4;

struct Escrowed {
    single: Single,
    agents: Vec<EscrowAgent>,
    holders: Vec<PublicKey>,
    sharing: Vec<u8>,
    shares_directory: tempfile::TempDir,
}

impl Escrowed {
    /// A chain with four validators that enrol, publish keys and generate the escrow key.
    /// Holders with their shares, having replaced the keys the dealings were sealed to.
    fn new() -> Escrowed {
        let mut escrowed = Escrowed::generated();
        let outcomes = escrowed.round();
        assert!(applied(&outcomes), "{outcomes:?}");
        escrowed
    }

    /// Holders the moment they hold their shares.
    fn generated() -> Escrowed {
        let shares_directory = tempfile::tempdir().expect("temp dir");
        let (single, agents, holders) = with_holders(Some(shares_directory.path()));
        let mut escrowed = Escrowed {
            single,
            agents,
            holders,
            sharing: Vec::new(),
            shares_directory,
        };
        for _ in 0..20 {
            let outcomes = escrowed.round();
            assert!(applied(&outcomes), "{outcomes:?}");
            if escrowed.agents.iter().all(EscrowAgent::has_share) {
                break;
            }
        }
        assert!(escrowed.agents.iter().all(EscrowAgent::has_share));
        let key = escrowed
            .single
            .chain
            .reader()
            .expect("reader")
            .get::<epichain_ledger::state::EscrowKeyRecord>(&())
            .expect("read")
            .expect("escrow key generated");
        assert_eq!(key.threshold, 3);
        escrowed.sharing = key.sharing;
        escrowed
    }

    /// Every agent plans and posts once; returns the outcomes.
    fn round(&mut self) -> Vec<TransactionOutcome> {
        let reader = self.single.chain.reader().expect("reader");
        let mut transactions = Vec::new();
        for agent in &mut self.agents {
            let payloads = agent.plan(&reader).expect("plan");
            transactions.extend(agent.sign(&reader, payloads).expect("sign"));
        }
        drop(reader);
        if transactions.is_empty() {
            return Vec::new();
        }
        self.single.block(&transactions)
    }

    /// A cholera case in Futian whose district signal three institutions take to a confirmed
    /// outbreak: returns (case, the grant it opened).
    fn confirmed_cholera_outbreak(&mut self) -> (Hash, Hash) {
        // A Class A disease: one case raises a district signal.
        let case = self.report("futian-hospital", "CHOLERA", "440304");
        let signal = self
            .single
            .chain
            .reader()
            .expect("reader")
            .store()
            .signal_ids(0, u64::MAX, 10)
            .expect("signals")[0];
        for (handle, step, outcome) in [
            ("futian-cdc", Step::Verify, None),
            ("shenzhen-lab", Step::PathogenAnalysis, None),
            (
                "guangdong-cdc",
                Step::FinalConfirmation,
                Some(SignalOutcome::ConfirmedOutbreak),
            ),
        ] {
            let transaction = self
                .single
                .world
                .identity(handle)
                .expect("identity")
                .signer
                .sign(Payload::SignalAction(SignalAction {
                    signal,
                    step,
                    outcome,
                    finding: epichain_core::warning::StepFinding::UnderInvestigation,
                    sealed_note: Vec::new(),
                }));
            assert!(applied(&self.single.block(&[transaction])));
        }
        let grants = self.grants();
        assert_eq!(grants.len(), 1, "the confirmation opens one grant");
        (case, grants[0])
    }

    fn chain_id(&self) -> Hash {
        self.single.world.genesis.chain_id()
    }

    /// Reports a case sealed with an escrow wrap; returns its id.
    fn report(&mut self, reporter: &str, disease: &str, region: &str) -> Hash {
        self.report_with_onset(reporter, disease, region, 0)
    }

    /// Like [`Escrowed::report`], with the onset `onset_days_before` the report's day.
    fn report_with_onset(
        &mut self,
        reporter: &str,
        disease: &str,
        region: &str,
        onset_days_before: u32,
    ) -> Hash {
        let sharing =
            epichain_escrow::decode_sharing(&self.sharing, HOLDERS).expect("sharing decodes");
        let chain_id = self.chain_id();
        let wrap = |key: &[u8; 32], target: &[u8]| {
            epichain_escrow::wrap(&sharing, &chain_id, target, key).expect("wrap")
        };
        let (transaction, case) =
            self.sealed_report_at(reporter, (disease, region), &wrap, onset_days_before);
        assert!(applied(&self.single.block(&[transaction])));
        case
    }

    /// A report sealed with the escrow wrap `wrap` gives (not submitted).
    fn sealed_report(
        &mut self,
        reporter: &str,
        disease: &str,
        region: &str,
        wrap: epichain_world::EscrowSealer<'_>,
    ) -> (epichain_core::SignedTransaction, Hash) {
        self.sealed_report_at(reporter, (disease, region), wrap, 0)
    }

    /// [`Escrowed::sealed_report`] with the onset `onset_days_before` the report's day.
    fn sealed_report_at(
        &mut self,
        reporter: &str,
        (disease, region): (&str, &str),
        wrap: epichain_world::EscrowSealer<'_>,
        onset_days_before: u32,
    ) -> (epichain_core::SignedTransaction, Hash) {
        let day = Day::from_unix_ms(self.single.time_ms);
        let mut report = self
            .single
            .world
            .case_report(day, disease, region)
            .expect("report");
        report.onset_day = Day(day.0 - onset_days_before);
        report.sealed = self
            .single
            .world
            .seal_details(reporter, &report, Some(wrap))
            .expect("seal");
        self.single
            .world
            .identity(reporter)
            .expect("reporter")
            .signer
            .report(report)
    }

    /// Submits a governance proposal approved by two national authorities.
    fn govern(&mut self, sequence: u64, actions: Vec<GovernanceAction>) -> TransactionOutcome {
        let chain_id = self.chain_id();
        let proposal = GovernanceProposal { sequence, actions };
        let approvals = ["national-cdc-1", "national-cdc-2"]
            .iter()
            .map(|handle| {
                let identity = self.single.world.identity(handle).expect("approver");
                proposal.approve(&chain_id, identity.signer.key())
            })
            .collect();
        let transaction = self
            .single
            .world
            .identity("national-cdc-1")
            .expect("submitter")
            .signer
            .govern(proposal, approvals);
        self.single.block(&[transaction]).remove(0)
    }

    /// The sealed bundles posted for `grantee` under `grant`, from the first `holders` holders.
    fn bundles(&self, grant: &Hash, grantee: &PublicKey, holders: usize) -> Vec<SealedBundle> {
        let reader = self.single.chain.reader().expect("reader");
        let mut bundles = Vec::new();
        for holder in self.holders.iter().take(holders) {
            let key = DisclosureKey {
                grant: *grant,
                grantee: *grantee,
                holder: *holder,
            };
            for batch in reader
                .disclosure_postings(&key, 0, usize::MAX)
                .expect("read")
            {
                bundles.push(SealedBundle {
                    holder: *holder,
                    sealed: batch.sealed,
                });
            }
        }
        bundles
    }

    /// Reads version 0 of `case` as `handle` through the grant, with the bundles of `holders`
    /// holders posted for `bundles_of` (normally the reader itself).
    fn read_through_grant(
        &mut self,
        handle: &str,
        bundles_of: &str,
        grant: &Hash,
        case: &Hash,
        holders: usize,
    ) -> Result<CaseDetails, EscrowError> {
        let (identity, encryption) = self.single.keys(handle);
        let (target, _) = self.single.keys(bundles_of);
        let bundles = self.bundles(grant, &target, holders);
        let envelope = self.single.envelope(case);
        let grantee = Grantee {
            chain_id: self.chain_id(),
            sharing: &self.sharing,
            holders: HOLDERS,
            identity,
            encryption: &encryption,
        };
        let record = RecordVersion {
            case_id: *case,
            version: 0,
        };
        let partials = grantee.partials_for(grant, &bundles, &record);
        let plain = grantee.open(&envelope, &record, &partials)?;
        Ok(CaseDetails::from_bytes(&plain).expect("details"))
    }

    fn grants(&self) -> Vec<Hash> {
        self.single
            .chain
            .reader()
            .expect("reader")
            .store()
            .grant_ids(0, u64::MAX, 100)
            .expect("grants")
    }
}

fn applied(outcomes: &[TransactionOutcome]) -> bool {
    outcomes
        .iter()
        .all(|outcome| *outcome == TransactionOutcome::Applied)
}

fn rejected_with(outcome: &TransactionOutcome, code: &str) -> bool {
    outcome.code() == Some(code)
}

#[test]
fn once_the_escrow_key_exists_reports_must_be_wrapped_to_it() {
    let mut escrowed = Escrowed::new();
    // Without an escrow wrap no grant could ever reach the record: refused.
    let no_wrap = |_: &[u8; 32], _: &[u8]| Vec::new();
    let (transaction, _) = escrowed.sealed_report("futian-hospital", "DENGUE", "440304", &no_wrap);
    let outcomes = escrowed.single.block(&[transaction]);
    assert!(
        rejected_with(&outcomes[0], "sealed.escrow_wrap_missing"),
        "{outcomes:?}"
    );
    // A wrap of the wrong shape is refused too.
    let short = |_: &[u8; 32], _: &[u8]| vec![0; 64];
    let (transaction, _) = escrowed.sealed_report("futian-hospital", "DENGUE", "440304", &short);
    let outcomes = escrowed.single.block(&[transaction]);
    assert!(
        rejected_with(&outcomes[0], "sealed.escrow_wrap_malformed"),
        "{outcomes:?}"
    );
    // Wrapped to the escrow key: applied.
    escrowed.report("futian-hospital", "DENGUE", "440304");
}

#[test]
fn neighbours_read_after_a_grant_and_not_before_with_k_shares_only() {
    let mut escrowed = Escrowed::new();
    // Shares are stored 0600.
    for index in 0..HOLDERS {
        let path = escrowed
            .shares_directory
            .path()
            .join(format!("share-{index}.hex"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).expect("share file").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
    let futian: Vec<Hash> = (0..3)
        .map(|_| escrowed.report("futian-hospital", "DENGUE", "440304"))
        .collect();
    let yuexiu = escrowed.report("yuexiu-hospital", "DENGUE", "440104");

    // Before any grant: no shares are posted and the neighbouring hospital is not a reader.
    assert!(escrowed.round().is_empty());
    let (nanshan, nanshan_encryption) = escrowed.single.keys("nanshan-hospital");
    let binding = sealed::binding(&escrowed.chain_id(), &futian[0], 0);
    assert!(
        escrowed
            .single
            .envelope(&futian[0])
            .open(&nanshan, &nanshan_encryption, &binding)
            .is_err()
    );

    let today = Day::from_unix_ms(escrowed.single.time_ms);
    let outcome = escrowed.govern(
        1,
        vec![GovernanceAction::GrantDisclosure(GrantRequest {
            scope: GrantScope {
                disease: DiseaseCode::new("DENGUE").expect("code"),
                region: "440304".parse().expect("region"),
                first_day: Day(today.0 - 7),
                last_day: today,
            },
            valid_days: 14,
            purpose: epichain_core::disclosure::GrantPurpose::CrossRegionalInvestigation,
            sealed_note: Vec::new(),
        })],
    );
    assert_eq!(outcome, TransactionOutcome::Applied);
    let grant = escrowed.grants()[0];
    // Not before the holders post.
    assert!(
        escrowed
            .read_through_grant(
                "nanshan-hospital",
                "nanshan-hospital",
                &grant,
                &futian[0],
                4
            )
            .is_err()
    );
    let outcomes = escrowed.round();
    assert!(!outcomes.is_empty() && applied(&outcomes), "{outcomes:?}");
    // Nothing more is owed.
    assert!(escrowed.round().is_empty());

    for case in &futian {
        let details = escrowed
            .read_through_grant("nanshan-hospital", "nanshan-hospital", &grant, case, 4)
            .expect("the neighbouring hospital reads the granted record");
        assert!(details.name.starts_with("Patient "));
        // Three holders suffice.
        assert!(
            escrowed
                .read_through_grant("nanshan-hospital", "nanshan-hospital", &grant, case, 3)
                .is_ok()
        );
        // Two fail loudly.
        let error = escrowed
            .read_through_grant("nanshan-hospital", "nanshan-hospital", &grant, case, 2)
            .expect_err("k - 1 shares release nothing");
        assert!(
            error
                .to_string()
                .contains("2 valid partial decryptions, 3 required"),
            "{error}"
        );
    }
    // The parent authorities read too; a hospital two cities away holds everything and reads
    // nothing, even with the neighbour's bundles.
    assert!(
        escrowed
            .read_through_grant("shenzhen-cdc", "shenzhen-cdc", &grant, &futian[0], 4)
            .is_ok()
    );
    assert!(
        escrowed
            .read_through_grant("yuexiu-hospital", "yuexiu-hospital", &grant, &futian[0], 4)
            .is_err()
    );
    assert!(
        escrowed
            .read_through_grant("yuexiu-hospital", "nanshan-hospital", &grant, &futian[0], 4)
            .is_err()
    );
    // The Yuexiu case is outside the grant: nobody received shares for it.
    assert!(
        escrowed
            .read_through_grant("nanshan-hospital", "nanshan-hospital", &grant, &yuexiu, 4)
            .is_err()
    );

    // The ledger refuses shares for a non-grantee and for a record outside the grant.
    let holder = &mut escrowed.agents[0];
    let reader = escrowed.single.chain.reader().expect("reader");
    let (yuexiu_hospital, _) = {
        let identity = escrowed
            .single
            .world
            .identity("yuexiu-hospital")
            .expect("identity");
        (identity.signer.public_key(), ())
    };
    let forged = |grantee: PublicKey, case: Hash| {
        Payload::DecryptionShares(DecryptionShares {
            grant,
            grantee,
            records: vec![RecordVersion {
                case_id: case,
                version: 0,
            }],
            sealed: vec![0; 80],
        })
    };
    let shaped = |grantee: PublicKey, records: Vec<RecordVersion>, sealed_bytes: usize| {
        Payload::DecryptionShares(DecryptionShares {
            grant,
            grantee,
            records,
            sealed: vec![0; sealed_bytes],
        })
    };
    let version = |case: Hash, version: u32| RecordVersion {
        case_id: case,
        version,
    };
    let mut ordered = [version(futian[1], 0), version(futian[2], 0)];
    ordered.sort();
    let unordered: Vec<RecordVersion> = ordered.iter().rev().cloned().collect();
    let transactions = holder
        .sign(
            &reader,
            vec![
                forged(yuexiu_hospital, futian[1]),
                forged(nanshan, yuexiu),
                forged(nanshan, futian[2]),
                forged(PublicKey([9; 32]), futian[1]),
                shaped(nanshan, Vec::new(), 80),
                shaped(nanshan, unordered, 80),
                shaped(nanshan, vec![version(futian[1], 0)], 49 * 1024),
                shaped(nanshan, vec![version(futian[1], 7)], 80),
                Payload::DecryptionShares(DecryptionShares {
                    grant: Hash([4; 32]),
                    grantee: nanshan,
                    records: vec![version(futian[1], 0)],
                    sealed: vec![0; 80],
                }),
            ],
        )
        .expect("sign");
    drop(reader);
    let outcomes = escrowed.single.block(&transactions);
    assert_eq!(
        outcomes
            .iter()
            .map(TransactionOutcome::code)
            .collect::<Vec<_>>(),
        [
            Some("disclosure.not_in_audience"),
            Some("disclosure.not_covered"),
            Some("disclosure.already_shared"),
            Some("disclosure.grantee_not_enrolled"),
            Some("disclosure.record_count"),
            Some("disclosure.records_out_of_order"),
            Some("disclosure.shares_too_large"),
            Some("disclosure.no_such_version"),
            Some("disclosure.unknown_grant"),
        ]
    );
    // Only escrow holders post shares.
    let outsider = escrowed
        .single
        .world
        .identity("futian-hospital")
        .expect("identity")
        .signer
        .sign(forged(nanshan, futian[1]));
    assert_eq!(
        escrowed.single.block(&[outsider])[0].code(),
        Some("disclosure.not_holder")
    );

    // Revoked: no further shares, from the agents or anyone.
    let outcome = escrowed.govern(2, vec![GovernanceAction::RevokeGrant(grant)]);
    assert_eq!(outcome, TransactionOutcome::Applied);
    let late = escrowed.report("futian-hospital", "DENGUE", "440304");
    assert!(escrowed.round().is_empty());
    let reader = escrowed.single.chain.reader().expect("reader");
    let transactions = escrowed.agents[0]
        .sign(&reader, vec![forged(nanshan, late)])
        .expect("sign");
    drop(reader);
    let outcomes = escrowed.single.block(&transactions);
    assert!(
        rejected_with(&outcomes[0], "disclosure.grant_revoked"),
        "{outcomes:?}"
    );
}

#[test]
fn a_confirmed_outbreak_opens_a_grant_to_the_neighbours_until_it_expires() {
    let mut escrowed = Escrowed::new();
    let (case, grant) = escrowed.confirmed_cholera_outbreak();
    let record = escrowed
        .single
        .chain
        .reader()
        .expect("reader")
        .get::<epichain_ledger::state::GrantRecord>(&grant)
        .expect("read")
        .expect("grant");
    assert_eq!(record.scope.region, "440304".parse().expect("region"));
    assert!(
        record
            .audience
            .neighbours
            .contains(&"440305".parse().expect("region"))
    );
    let outcomes = escrowed.round();
    assert!(!outcomes.is_empty() && applied(&outcomes), "{outcomes:?}");
    let details = escrowed
        .read_through_grant("nanshan-cdc", "nanshan-cdc", &grant, &case, 4)
        .expect("the neighbouring district CDC reads the outbreak's record");
    assert!(details.name.starts_with("Patient "));

    // Review M12: the audience is fixed when the grant opens. A hospital enrolled in the
    // neighbouring district afterwards receives nothing, and shares for it are refused.
    let world = &mut escrowed.single.world;
    let nanshan_district = "440305".parse().expect("region");
    world
        .add_identity(
            "nanshan-clinic",
            "Nanshan clinic (enrolled after the grant)",
            epichain_core::Role::Hospital,
            nanshan_district,
            2,
            "nanshan-clinic",
        )
        .expect("identity");
    let clinic = world.identity("nanshan-clinic").expect("clinic");
    let late_key = clinic.signer.public_key();
    let enrolment = vec![
        clinic
            .signer
            .enroll(clinic.certificate.clone(), clinic.chain.clone()),
        clinic
            .signer
            .sign(Payload::PublishEncryptionKey(clinic.encryption.public())),
    ];
    assert!(applied(&escrowed.single.block(&enrolment)));
    assert!(escrowed.round().is_empty(), "no shares for a late grantee");
    let reader = escrowed.single.chain.reader().expect("reader");
    let transactions = escrowed.agents[0]
        .sign(
            &reader,
            vec![Payload::DecryptionShares(DecryptionShares {
                grant,
                grantee: late_key,
                records: vec![RecordVersion {
                    case_id: case,
                    version: 0,
                }],
                sealed: vec![0; 80],
            })],
        )
        .expect("sign");
    drop(reader);
    let outcomes = escrowed.single.block(&transactions);
    assert!(
        rejected_with(&outcomes[0], "disclosure.not_in_audience"),
        "{outcomes:?}"
    );

    // After 30 days the grant has expired: a new case's shares are neither posted nor accepted.
    escrowed.single.time_ms += 31 * 86_400_000;
    let (nanshan, _) = escrowed.single.keys("nanshan-hospital");
    let reader = escrowed.single.chain.reader().expect("reader");
    let transactions = escrowed.agents[1]
        .sign(
            &reader,
            vec![Payload::DecryptionShares(DecryptionShares {
                grant,
                grantee: nanshan,
                records: vec![RecordVersion {
                    case_id: case,
                    version: 0,
                }],
                sealed: vec![0; 80],
            })],
        )
        .expect("sign");
    drop(reader);
    let outcomes = escrowed.single.block(&transactions);
    assert!(
        rejected_with(&outcomes[0], "disclosure.grant_expired"),
        "{outcomes:?}"
    );
    assert!(escrowed.round().is_empty());
}

/// A chain whose four validators (the escrow holders) enrolled and published their keys, with
/// an agent for each (keeping its share under `shares`, if given); before any escrow round.
fn with_holders(shares: Option<&std::path::Path>) -> (Single, Vec<EscrowAgent>, Vec<PublicKey>) {
    let mut single = Single::with_validators(validators(&[
        "China CDC",
        "Guangdong CDC",
        "Guangxi CDC",
        "Hunan CDC",
    ]));
    let enrolments = single.world.enrolments();
    assert!(applied(&single.block(&enrolments)));
    let publications = single.world.publications();
    assert!(applied(&single.block(&publications)));
    let chain_id = single.world.genesis.chain_id();
    let holders: Vec<PublicKey> = (0..HOLDERS)
        .map(|index| holder_key(index).public_key())
        .collect();
    let agents = (0..HOLDERS)
        .map(|index| {
            let file = shares.map(|directory| directory.join(format!("share-{index}.hex")));
            let encryption = single
                .world
                .identity(&format!("validator-{index}"))
                .expect("validator identity")
                .encryption
                .clone();
            let keys = HolderKeys::in_memory(encryption, [index as u8 + 1; 32]);
            EscrowAgent::new(chain_id, holders.clone(), holder_key(index), keys, file)
        })
        .collect();
    (single, agents, holders)
}

/// Signs `payloads` as escrow holder `index` and puts them in one block.
fn as_holder(
    single: &mut Single,
    agents: &[EscrowAgent],
    index: usize,
    payloads: Vec<Payload>,
) -> Vec<TransactionOutcome> {
    let reader = single.chain.reader().expect("reader");
    let transactions = agents[index].sign(&reader, payloads).expect("sign");
    drop(reader);
    single.block(&transactions)
}

/// Each agent's planned escrow messages, as (agent, message).
fn planned(single: &Single, agents: &mut [EscrowAgent]) -> Vec<(usize, EscrowMessage)> {
    let reader = single.chain.reader().expect("reader");
    let mut messages = Vec::new();
    for (index, agent) in agents.iter_mut().enumerate() {
        for payload in agent.plan(&reader).expect("plan") {
            if let Payload::Escrow(message) = payload {
                messages.push((index, message));
            }
        }
    }
    messages
}

fn codes(outcomes: &[TransactionOutcome]) -> Vec<Option<&'static str>> {
    outcomes.iter().map(TransactionOutcome::code).collect()
}

/// Review M11: a holder's share cannot be rebuilt from the chain with its signing key and the
/// keys it holds once it has its share: the escrow keys are its own (not derived from the
/// consensus key), and the encryption key the dealings were sealed to is replaced (and
/// published) as soon as the share exists. Only the DKG-time key could rebuild it, and the
/// holder no longer has it.
#[test]
fn a_holder_share_is_not_rebuilt_from_the_chain_and_the_keys_it_holds() {
    let mut escrowed = Escrowed::generated();
    let chain_id = escrowed.single.world.genesis.chain_id();
    let holders = escrowed.holders.clone();
    let rebuild = |escrowed: &Escrowed, keys: HolderKeys| {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut agent = EscrowAgent::new(
            chain_id,
            holders.clone(),
            holder_key(0),
            keys,
            Some(directory.path().join("share.hex")),
        );
        let reader = escrowed.single.chain.reader().expect("reader");
        for _ in 0..3 {
            let _ = agent.plan(&reader);
        }
        agent.has_share()
    };
    let dkg_key = escrowed
        .single
        .world
        .identity("validator-0")
        .expect("validator")
        .encryption
        .clone();
    // Until the holder replaces it, the key the dealings were sealed to rebuilds the share.
    assert!(rebuild(
        &escrowed,
        HolderKeys::in_memory(dkg_key.clone(), [1; 32])
    ));
    let outcomes = escrowed.round();
    assert!(applied(&outcomes), "{outcomes:?}");
    let published = escrowed
        .single
        .chain
        .reader()
        .expect("reader")
        .get::<epichain_core::sealed::EncryptionPublicKey>(&holders[0])
        .expect("read");
    let current = escrowed.agents[0].keys().clone();
    assert_ne!(
        published,
        Some(dkg_key.public()),
        "the DKG-time key was replaced"
    );
    assert!(
        !rebuild(&escrowed, current),
        "the signing key and the holder's current keys rebuilt the share"
    );
}

#[test]
fn every_escrow_message_is_checked_against_the_round() {
    let (mut single, mut agents, holders) = with_holders(None);
    // Only holders take part.
    let outsider = single
        .world
        .identity("futian-hospital")
        .expect("identity")
        .signer
        .sign(Payload::Escrow(EscrowMessage::Log { log: vec![1] }));
    assert_eq!(
        codes(&single.block(&[outsider])),
        [Some("escrow.not_holder")]
    );
    // No shares before the key exists.
    let early = vec![Payload::DecryptionShares(DecryptionShares {
        grant: Hash([1; 32]),
        grantee: holders[1],
        records: vec![RecordVersion {
            case_id: Hash([2; 32]),
            version: 0,
        }],
        sealed: vec![0; 80],
    })];
    assert_eq!(
        codes(&as_holder(&mut single, &agents, 0, early)),
        [Some("disclosure.no_escrow_key")]
    );

    // Dealings: malformed ones are refused, the genuine ones apply, and nobody deals twice.
    let deals = planned(&single, &mut agents);
    let (dealer, EscrowMessage::Deal { public, shares }) = deals[1].clone() else {
        panic!("first round deals: {deals:?}");
    };
    let mut huge = shares.clone();
    huge[0].sealed = vec![0; 50 * 1024];
    let forged = vec![
        Payload::Escrow(EscrowMessage::Deal {
            public: vec![0; 16],
            shares: shares.clone(),
        }),
        Payload::Escrow(EscrowMessage::Deal {
            public: public.clone(),
            shares: shares[1..].to_vec(),
        }),
        Payload::Escrow(EscrowMessage::Deal {
            public: public.clone(),
            shares: huge,
        }),
        Payload::Escrow(EscrowMessage::Ack {
            dealer: holders[3],
            ack: vec![0; 8],
        }),
    ];
    assert_eq!(
        codes(&as_holder(&mut single, &agents, dealer, forged)),
        [
            Some("escrow.bad_commitment"),
            Some("escrow.shares_not_one_per_holder"),
            Some("escrow.share_too_large"),
            Some("escrow.no_dealing"),
        ]
    );
    for (index, message) in deals.clone() {
        let outcomes = as_holder(&mut single, &agents, index, vec![Payload::Escrow(message)]);
        assert!(applied(&outcomes), "{outcomes:?}");
    }
    let again = vec![Payload::Escrow(deals[0].1.clone())];
    assert_eq!(
        codes(&as_holder(&mut single, &agents, deals[0].0, again)),
        [Some("escrow.already_dealt")]
    );

    // Acknowledgements: a malformed one is refused, a second one too.
    let acks = planned(&single, &mut agents);
    let (acker, EscrowMessage::Ack { dealer: acked, .. }) = acks[0].clone() else {
        panic!("second round acknowledges: {acks:?}");
    };
    let garbage = vec![Payload::Escrow(EscrowMessage::Ack {
        dealer: acked,
        ack: vec![7; 3],
    })];
    assert_eq!(
        codes(&as_holder(&mut single, &agents, acker, garbage)),
        [Some("escrow.bad_ack")]
    );
    for (index, message) in acks.clone() {
        let outcomes = as_holder(&mut single, &agents, index, vec![Payload::Escrow(message)]);
        assert!(applied(&outcomes), "{outcomes:?}");
    }
    let twice = vec![Payload::Escrow(acks[0].1.clone())];
    assert_eq!(
        codes(&as_holder(&mut single, &agents, acker, twice)),
        [Some("escrow.already_acknowledged")]
    );

    // Logs: a forged one is refused; a closed dealing takes no more acknowledgements; once
    // every log is in, the key exists and the round is over.
    let logs = planned(&single, &mut agents);
    let (logger, EscrowMessage::Log { .. }) = logs[0].clone() else {
        panic!("third round logs: {logs:?}");
    };
    let forged = vec![Payload::Escrow(EscrowMessage::Log { log: vec![5; 40] })];
    assert_eq!(
        codes(&as_holder(&mut single, &agents, logger, forged)),
        [Some("escrow.bad_log")]
    );
    let outcomes = as_holder(
        &mut single,
        &agents,
        logger,
        vec![Payload::Escrow(logs[0].1.clone())],
    );
    assert!(applied(&outcomes), "{outcomes:?}");
    let acked_logger = acks
        .iter()
        .find(|(_, message)| {
            matches!(message, EscrowMessage::Ack { dealer, .. } if *dealer == holders[logger])
        })
        .cloned()
        .expect("someone acknowledged the logger's dealing");
    let late_ack = vec![Payload::Escrow(acked_logger.1)];
    assert_eq!(
        codes(&as_holder(&mut single, &agents, acked_logger.0, late_ack)),
        [Some("escrow.dealing_closed")]
    );
    for (index, message) in logs.into_iter().skip(1) {
        let outcomes = as_holder(&mut single, &agents, index, vec![Payload::Escrow(message)]);
        assert!(applied(&outcomes), "{outcomes:?}");
    }
    let reader = single.chain.reader().expect("reader");
    assert!(
        reader
            .get::<epichain_ledger::state::EscrowKeyRecord>(&())
            .expect("read")
            .is_some(),
        "every log in: the key exists"
    );
    drop(reader);
    let after = vec![Payload::Escrow(deals[2].1.clone())];
    assert_eq!(
        codes(&as_holder(&mut single, &agents, deals[2].0, after)),
        [Some("escrow.key_generated")]
    );
}

/// Review C1: one Byzantine holder posting the largest sealed shares for every version of a
/// covered case (about 5 MB for one grantee) used to grow one state value past the decoding
/// limit, after which no block could execute. Each posting is now its own bounded value, every
/// record version is shared once, and the chain goes on.
#[test]
fn a_holder_cannot_grow_a_state_value_without_bound() {
    let mut escrowed = Escrowed::new();
    let (case, grant) = escrowed.confirmed_cholera_outbreak();
    let sealed = escrowed
        .single
        .chain
        .reader()
        .expect("reader")
        .case_view(&case)
        .expect("read")
        .expect("case")
        .sealed;
    const VERSIONS: u32 = 100;
    for _ in 0..VERSIONS {
        let head = escrowed
            .single
            .chain
            .reader()
            .expect("reader")
            .case(&case)
            .expect("read")
            .expect("case")
            .head;
        let amend = escrowed
            .single
            .world
            .identity("futian-hospital")
            .expect("reporter")
            .signer
            .update(case, head, CaseChange::Amend, sealed.clone());
        assert!(applied(&escrowed.single.block(&[amend])));
    }
    let (grantee, _) = escrowed.single.keys("nanshan-cdc");
    let payloads: Vec<Payload> = (1..=VERSIONS)
        .map(|version| {
            Payload::DecryptionShares(DecryptionShares {
                grant,
                grantee,
                records: vec![RecordVersion {
                    case_id: case,
                    version,
                }],
                sealed: vec![0; 48 * 1024],
            })
        })
        .collect();
    let reader = escrowed.single.chain.reader().expect("reader");
    let postings = escrowed.agents[1].sign(&reader, payloads).expect("sign");
    drop(reader);
    for chunk in postings.chunks(40) {
        let outcomes = escrowed.single.block(chunk);
        assert!(applied(&outcomes), "{:?}", codes(&outcomes));
    }
    let reader = escrowed.single.chain.reader().expect("reader");
    let key = DisclosureKey {
        grant,
        grantee,
        holder: escrowed.holders[1],
    };
    let tally = reader
        .get::<epichain_ledger::state::DisclosureTally>(&key)
        .expect("read")
        .expect("tally");
    assert_eq!((tally.postings, tally.records), (VERSIONS, VERSIONS));
    assert_eq!(
        reader
            .disclosure_postings(&key, 90, 16)
            .expect("read")
            .len(),
        10
    );
    drop(reader);
    // The same version again is refused; the chain goes on.
    let reader = escrowed.single.chain.reader().expect("reader");
    let again = escrowed.agents[1]
        .sign(
            &reader,
            vec![Payload::DecryptionShares(DecryptionShares {
                grant,
                grantee,
                records: vec![RecordVersion {
                    case_id: case,
                    version: 7,
                }],
                sealed: vec![0; 80],
            })],
        )
        .expect("sign");
    drop(reader);
    let outcomes = escrowed.single.block(&again);
    assert!(rejected_with(&outcomes[0], "disclosure.already_shared"));
    escrowed.report("futian-hospital", "CHOLERA", "440304");
}

/// Review M8: a grant covers cases by the day they were reported, and the agent found them
/// through an index by onset day, so a case reported inside the grant's days with an earlier
/// onset was never disclosed. The index is now by report day.
#[test]
fn a_grant_covers_cases_reported_in_its_days_whatever_their_onset() {
    let mut escrowed = Escrowed::new();
    let today = Day::from_unix_ms(escrowed.single.time_ms);
    let outcome = escrowed.govern(
        1,
        vec![GovernanceAction::GrantDisclosure(GrantRequest {
            scope: GrantScope {
                disease: DiseaseCode::new("DENGUE").expect("code"),
                region: "440304".parse().expect("region"),
                first_day: today,
                last_day: Day(today.0 + 1),
            },
            valid_days: 14,
            purpose: epichain_core::disclosure::GrantPurpose::CrossRegionalInvestigation,
            sealed_note: Vec::new(),
        })],
    );
    assert_eq!(outcome, TransactionOutcome::Applied);
    let grant = escrowed.grants()[0];
    let case = escrowed.report_with_onset("futian-hospital", "DENGUE", "440304", 30);
    let reader = escrowed.single.chain.reader().expect("reader");
    let record = reader
        .get::<epichain_ledger::state::GrantRecord>(&grant)
        .expect("read")
        .expect("grant");
    let records = epichain_node::escrow_agent::granted_records(&reader, &record).expect("records");
    assert!(
        records.contains(&RecordVersion {
            case_id: case,
            version: 0
        }),
        "the case reported inside the grant's days is covered"
    );
}
