//! A small four-level world for ledger tests: national root → Guangdong CA → Shenzhen and
//! Guangzhou CAs, with hospitals, a doctor, a lab, authorities at every level and a patient.
#![allow(dead_code)]

use epichain_core::cert::{self, Claims, IssueRequest, Validity};
use epichain_core::sealed::{self, EncryptionKeyPair};
use epichain_core::{
    Block, CaseReport, CaseStatus, Catalogue, Day, DiseaseCode, Genesis, KeyPair, PatientRef,
    RegionCode, RegionSet, Role, Sex, SignedTransaction, Signer, TransactionOutcome,
};
use epichain_ledger::{BlockOutcome, Ledger};

/// An identity's encryption key in the test world (derived from its signing key).
pub fn encryption_key(signer: &Signer) -> EncryptionKeyPair {
    EncryptionKeyPair::derived_from(signer.key())
}

/// 2026-11-01T00:00:00+08:00.
pub const GENESIS_MS: u64 = 1_793_462_400_000;
pub const DAY_MS: u64 = 86_400_000;

pub fn code(text: &str) -> RegionCode {
    text.parse().expect("valid region code")
}

pub fn disease(text: &str) -> DiseaseCode {
    DiseaseCode::new(text).expect("valid disease code")
}

/// A certificate authority: key, certificate, and the chain a leaf it issues must carry (its
/// own certificate and those above it, without the root, which genesis holds).
#[derive(Clone)]
pub struct Authority {
    pub key: KeyPair,
    pub certificate: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
}

impl Authority {
    /// The national root CA of the test world.
    pub fn root() -> Authority {
        let key = KeyPair::from_seed([1; 32]);
        let certificate = cert::create_root(
            &key,
            "National Root CA",
            "national-root-ca".parse().expect("institution"),
            validity(),
        )
        .expect("root");
        Authority {
            key,
            certificate,
            chain: vec![],
        }
    }

    pub fn issue_ca(&self, seed: u8, region: &str, name: &str) -> Authority {
        let key = KeyPair::from_seed([seed; 32]);
        let certificate = cert::issue(
            &self.certificate,
            &self.key,
            &IssueRequest {
                subject_key: key.public_key(),
                claims: Claims {
                    role: Role::CertificateAuthority,
                    region: code(region),
                    institution: format!("ca-{seed}").parse().expect("institution"),
                },
                common_name: name,
                validity: validity(),
            },
        )
        .expect("CA issuance");
        let mut chain = vec![certificate.clone()];
        chain.extend(self.chain.iter().cloned());
        Authority {
            key,
            certificate,
            chain,
        }
    }

    /// Issues a leaf certificate for an institution of its own (`org-SEED`) and returns a
    /// signer with its enrolment transaction.
    pub fn issue_leaf(
        &self,
        chain_id: epichain_core::Hash,
        seed: u8,
        role: Role,
        region: &str,
        validity: Validity,
    ) -> (Signer, SignedTransaction) {
        let institution = format!("org-{seed}");
        self.issue_member(chain_id, seed, role, region, validity, &institution)
    }

    /// Issues a leaf certificate for a key of `institution`.
    pub fn issue_member(
        &self,
        chain_id: epichain_core::Hash,
        seed: u8,
        role: Role,
        region: &str,
        validity: Validity,
        institution: &str,
    ) -> (Signer, SignedTransaction) {
        let key = KeyPair::from_seed([seed; 32]);
        let certificate = cert::issue(
            &self.certificate,
            &self.key,
            &IssueRequest {
                subject_key: key.public_key(),
                claims: Claims {
                    role,
                    region: code(region),
                    institution: institution.parse().expect("institution"),
                },
                // Patients' certificates carry no name (the ledger refuses one that does).
                common_name: &if role == Role::Patient {
                    String::new()
                } else {
                    format!("{role} {region} #{seed}")
                },
                validity,
            },
        )
        .expect("leaf issuance");
        let mut signer = Signer::new(key, chain_id, 0);
        let enroll = signer.enroll(certificate, self.chain.clone());
        (signer, enroll)
    }
}

pub fn validity() -> Validity {
    Validity::days_from((GENESIS_MS / 1000) as i64 - 86_400, 3 * 365)
}

pub struct World {
    pub directory: tempfile::TempDir,
    pub genesis: Genesis,
    pub ledger: Ledger,
    pub time_ms: u64,
    pub root: Authority,
    pub guangdong: Authority,
    pub shenzhen: Authority,
    pub guangzhou: Authority,
    pub futian_hospital: Signer,
    pub futian_doctor: Signer,
    pub shenzhen_lab: Signer,
    pub futian_cdc: Signer,
    pub shenzhen_cdc: Signer,
    pub guangdong_cdc: Signer,
    pub national_cdc: Vec<Signer>,
    pub yuexiu_hospital: Signer,
    pub patient: Signer,
}

pub fn genesis_with_root(root_certificate: Vec<u8>) -> Genesis {
    Genesis {
        format_version: epichain_core::genesis::GENESIS_FORMAT_VERSION,
        chain_name: "epichain-test".to_string(),
        time_ms: GENESIS_MS,
        root_certificates: vec![root_certificate],
        catalogue: Catalogue::shipped().expect("catalogue"),
        regions: RegionSet::shipped_guangdong().expect("regions"),
        approval_threshold: 2,
        // The three national CDCs (seeds 20 to 22), each its own institution; org-20 lists a
        // second key (seed 24) that is not enrolled at first.
        approvers: (20u8..23)
            .map(|seed| epichain_core::governance::Approver {
                institution: format!("org-{seed}").parse().expect("institution"),
                keys: std::iter::once(seed)
                    .chain((seed == 20).then_some(24))
                    .map(|seed| KeyPair::from_seed([seed; 32]).public_key())
                    .collect(),
            })
            .collect(),
        validators: vec![],
        warning_rules: epichain_core::warning::WarningRule::defaults(),
        history: Vec::new(),
    }
}

impl World {
    pub fn new() -> World {
        World::with_history(Vec::new())
    }

    /// A world whose genesis imports `history` (daily counts by report date).
    pub fn with_history(history: Vec<epichain_core::warning::HistoricalSeries>) -> World {
        let root = Authority::root();
        let mut genesis = genesis_with_root(root.certificate.clone());
        genesis.history = history;
        let chain_id = genesis.chain_id();
        let directory = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(&directory.path().join("ledger.redb"), &genesis).expect("open");
        let guangdong = root.issue_ca(2, "440000", "Guangdong CA");
        let shenzhen = guangdong.issue_ca(3, "440300", "Shenzhen CA");
        let guangzhou = guangdong.issue_ca(4, "440100", "Guangzhou CA");
        let mut enrolments = Vec::new();
        // The doctor works at the Futian hospital (seed 10): one institution, two keys.
        let (futian_doctor, enroll) =
            shenzhen.issue_member(chain_id, 11, Role::Doctor, "440304", validity(), "org-10");
        enrolments.push(enroll);
        let mut leaf = |authority: &Authority, seed: u8, role: Role, region: &str| {
            let (signer, enroll) = authority.issue_leaf(chain_id, seed, role, region, validity());
            enrolments.push(enroll);
            signer
        };
        let mut futian_hospital = leaf(&shenzhen, 10, Role::Hospital, "440304");
        let mut shenzhen_lab = leaf(&shenzhen, 12, Role::Lab, "440300");
        let mut futian_cdc = leaf(&shenzhen, 13, Role::Authority, "440304");
        let mut shenzhen_cdc = leaf(&shenzhen, 14, Role::Authority, "440300");
        let mut guangdong_cdc = leaf(&guangdong, 15, Role::Authority, "440000");
        let national_cdc = (0..3)
            .map(|index| leaf(&root, 20 + index, Role::Authority, "000000"))
            .collect();
        let mut yuexiu_hospital = leaf(&guangzhou, 16, Role::Hospital, "440104");
        let patient = leaf(&shenzhen, 17, Role::Patient, "440304");
        // The authorities, hospitals and the laboratory publish their encryption keys with their
        // enrolment, so details can be sealed to them (the ledger checks every reader's key).
        for reader in [
            &mut futian_cdc,
            &mut shenzhen_cdc,
            &mut guangdong_cdc,
            &mut futian_hospital,
            &mut yuexiu_hospital,
            &mut shenzhen_lab,
        ] {
            let key = encryption_key(reader).public();
            enrolments.push(reader.sign(epichain_core::Payload::PublishEncryptionKey(key)));
        }
        let mut world = World {
            directory,
            genesis,
            ledger,
            time_ms: GENESIS_MS + 9 * 3_600_000,
            root,
            guangdong,
            shenzhen,
            guangzhou,
            futian_hospital,
            futian_doctor,
            shenzhen_lab,
            futian_cdc,
            shenzhen_cdc,
            guangdong_cdc,
            national_cdc,
            yuexiu_hospital,
            patient,
        };
        let outcome = world.block(enrolments);
        for receipt in &outcome.receipts {
            assert_eq!(
                receipt.outcome,
                TransactionOutcome::Applied,
                "enrolment failed"
            );
        }
        world
    }

    pub fn chain_id(&self) -> epichain_core::Hash {
        self.genesis.chain_id()
    }

    /// Appends a block one minute after the previous one.
    pub fn block(&mut self, transactions: Vec<SignedTransaction>) -> BlockOutcome {
        self.time_ms += 60_000;
        self.ledger
            .append(self.time_ms, transactions)
            .expect("block")
    }

    /// Appends a block with one transaction and returns its outcome: its receipt, or, for a
    /// transaction that fails authentication, the rejection the proposer left it out with (the
    /// block is then empty).
    pub fn submit(&mut self, transaction: SignedTransaction) -> TransactionOutcome {
        let outcome = self.block(vec![transaction]);
        match (outcome.receipts.first(), outcome.unauthenticated.first()) {
            (Some(receipt), None) => receipt.outcome.clone(),
            (None, Some(refused)) => TransactionOutcome::Rejected(refused.rejection.clone()),
            _ => panic!("one transaction gives a receipt or is left out"),
        }
    }

    /// The current record of case `id`.
    pub fn case(&self, id: &epichain_core::Hash) -> epichain_ledger::CaseRecord {
        self.ledger
            .reader()
            .expect("reader")
            .case(id)
            .expect("read")
            .expect("case exists")
    }

    pub fn today(&self) -> Day {
        Day::from_unix_ms(self.time_ms)
    }

    /// Sealed details for a case in `region`, readable by the world's authorities over it and
    /// the hospital reporting there (the ledger checks the readers, not the binding, so one
    /// dummy binding serves every case).
    pub fn sealed_for(&self, region: RegionCode) -> Vec<u8> {
        let readers: Vec<_> = [
            (&self.futian_hospital, "440304"),
            (&self.yuexiu_hospital, "440104"),
            (&self.futian_cdc, "440304"),
            (&self.shenzhen_cdc, "440300"),
            (&self.guangdong_cdc, "440000"),
        ]
        .into_iter()
        .filter(|(_, jurisdiction)| region.is_within(code(jurisdiction)))
        .map(|(authority, _)| (authority.public_key(), encryption_key(authority).public()))
        .collect();
        sealed::seal(b"{\"name\":\"test\"}", &readers, None, b"binding")
            .expect("seal")
            .to_bytes()
    }

    pub fn report(&self, disease_code: &str, region: &str) -> CaseReport {
        CaseReport {
            disease: disease(disease_code),
            region: code(region),
            status: CaseStatus::Suspected,
            patient: PatientRef::Pseudonym(epichain_core::Hash([7; 32])),
            onset_day: self.today(),
            diagnosis_day: self.today(),
            age_band: 6,
            sex: Sex::Female,
            sealed: self.sealed_for(code(region)),
        }
    }

    pub fn blocks(&self) -> Vec<Block> {
        let reader = self.ledger.reader().expect("reader");
        (1..=self.ledger.tip().height)
            .map(|height| {
                reader
                    .store()
                    .block(height)
                    .expect("read")
                    .expect("block present")
            })
            .collect()
    }
}

/// Asserts a rejection with the given code.
pub fn assert_rejected(outcome: &TransactionOutcome, expected_code: &str) {
    match outcome {
        TransactionOutcome::Rejected(rejection) => assert_eq!(
            rejection.code(),
            expected_code,
            "rejected for another reason: {rejection}"
        ),
        TransactionOutcome::Applied => panic!("applied, expected rejection {expected_code}"),
    }
}
