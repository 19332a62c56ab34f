//! Build deterministic demonstration worlds for epichain.
//!
//! A small four-level demonstration world: a national root CA, the Guangdong provincial CA,
//! Shenzhen and Guangzhou city CAs; CDC authorities at every level; sentinel hospitals, doctors
//! and laboratories in both cities; and a deterministic stream of case reports and updates.
//!
//! The world is the same every time for a given genesis time (keys come from fixed seeds), so a
//! demo, a devnet and a benchmark can rebuild it. Its keys are for demonstration only.

use epichain_core::cert::{self, Claims, IssueRequest, Validity};
use epichain_core::genesis::{GENESIS_FORMAT_VERSION, Validator};
use epichain_core::sealed::{self, EncryptionKeyPair};
use epichain_core::warning::HistoricalSeries;
use epichain_core::{
    Catalogue, Day, Genesis, KeyPair, PatientRef, RegionCode, RegionSet, Role, SignedTransaction,
    Signer,
};
use std::path::Path;

/// Why a world could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// Certificate issuance failed.
    #[error("certificate: {0}")]
    Certificate(#[from] epichain_core::cert::CertError),
    /// Shipped region data or a region code is wrong.
    #[error("region: {0}")]
    Region(#[from] epichain_core::region::RegionError),
    /// Shipped catalogue or a disease code is wrong.
    #[error("disease: {0}")]
    Disease(#[from] epichain_core::disease::DiseaseError),
    /// No participant with this handle.
    #[error("no demo identity {0}")]
    UnknownIdentity(String),
    /// No CA at this index.
    #[error("no demo CA {0}")]
    UnknownAuthority(usize),
    /// Sealing details failed.
    #[error("sealing details: {0}")]
    Sealing(String),
    /// Writing files failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// An institution id is malformed.
    #[error("institution: {0}")]
    Institution(#[from] epichain_core::institution::InstitutionError),
    /// Writing a key failed.
    #[error("key: {0}")]
    Key(#[from] epichain_core::keys::KeyError),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, WorldError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WorldError + '_ {
    move |source| WorldError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Wraps a data key for the escrow, given the record's escrow target.
pub type EscrowSealer<'a> = &'a dyn Fn(&[u8; 32], &[u8]) -> Vec<u8>;

/// Whether demo reports carry sealed details.
#[derive(Clone, Copy)]
enum Sealing<'a> {
    None,
    Sealed(Option<EscrowSealer<'a>>),
}

/// Governance approvals needed in the demo world (of three approver institutions).
pub const DEMO_APPROVAL_THRESHOLD: u16 = 2;

/// The participants whose institutions approve governance in the demo world (one key each).
const DEMO_APPROVERS: [&str; 3] = ["national-cdc-1", "national-cdc-2", "national-cdc-3"];

/// The demo approvers: each participant's institution (as [`PARTICIPANTS`] certifies it) with its
/// key.
fn demo_approvers() -> Result<Vec<epichain_core::governance::Approver>> {
    DEMO_APPROVERS
        .iter()
        .map(|handle| {
            let (_, _, _, _, _, institution) = PARTICIPANTS
                .iter()
                .find(|participant| participant.0 == *handle)
                .ok_or_else(|| WorldError::UnknownIdentity((*handle).to_string()))?;
            Ok(epichain_core::governance::Approver {
                institution: institution.parse()?,
                keys: vec![KeyPair::from_seed(seed(handle)).public_key()],
            })
        })
        .collect()
}

/// Certificate lifetime in the demo world.
const DEMO_VALIDITY_DAYS: i64 = 3 * 365;

/// A certificate authority of the demo world.
#[derive(Clone, Debug)]
pub struct DemoAuthority {
    /// Display name.
    pub name: String,
    /// Region it issues in.
    pub region: RegionCode,
    /// Key.
    pub key: KeyPair,
    /// Its certificate (DER).
    pub certificate: Vec<u8>,
    /// Certificates a leaf it issues carries: its own and those above it, without the root.
    pub chain: Vec<Vec<u8>>,
}

/// An enrolled participant of the demo world.
#[derive(Clone, Debug)]
pub struct DemoIdentity {
    /// Short handle, e.g. `futian-hospital`.
    pub handle: String,
    /// Display name (certificate common name).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Home region.
    pub region: RegionCode,
    /// Leaf certificate (DER).
    pub certificate: Vec<u8>,
    /// Intermediates for enrolment.
    pub chain: Vec<Vec<u8>>,
    /// Signer with its nonce counter.
    pub signer: Signer,
    /// X25519 key for reading sealed details.
    pub encryption: EncryptionKeyPair,
}

/// The demo world.
#[derive(Debug)]
pub struct DemoWorld {
    /// Genesis of the demo chain.
    pub genesis: Genesis,
    /// CAs: national root, Guangdong, Shenzhen, Guangzhou.
    pub authorities: Vec<DemoAuthority>,
    /// Participants.
    pub identities: Vec<DemoIdentity>,
    /// Validity window of every certificate.
    validity: Validity,
}

/// (handle, name, role, region, issuing CA index, institution). Doctors act for their hospital;
/// the CDC laboratories are certified as institutions of their own (pathogen analysis is an
/// independent step of a signal's workflow); the three national approvers are three institutions.
const PARTICIPANTS: &[(&str, &str, Role, &str, usize, &str)] = &[
    (
        "national-cdc-1",
        "China CDC",
        Role::Authority,
        "000000",
        0,
        "china-cdc",
    ),
    (
        "national-cdc-2",
        "National Health Commission",
        Role::Authority,
        "000000",
        0,
        "nhc",
    ),
    (
        "national-cdc-3",
        "National Disease Control and Prevention Administration",
        Role::Authority,
        "000000",
        0,
        "ndcpa",
    ),
    (
        "guangdong-cdc",
        "Guangdong Provincial CDC",
        Role::Authority,
        "440000",
        1,
        "guangdong-cdc",
    ),
    (
        "shenzhen-cdc",
        "Shenzhen CDC",
        Role::Authority,
        "440300",
        2,
        "shenzhen-cdc",
    ),
    (
        "futian-cdc",
        "Futian District CDC",
        Role::Authority,
        "440304",
        2,
        "futian-cdc",
    ),
    (
        "nanshan-cdc",
        "Nanshan District CDC",
        Role::Authority,
        "440305",
        2,
        "nanshan-cdc",
    ),
    (
        "guangzhou-cdc",
        "Guangzhou CDC",
        Role::Authority,
        "440100",
        3,
        "guangzhou-cdc",
    ),
    (
        "yuexiu-cdc",
        "Yuexiu District CDC",
        Role::Authority,
        "440104",
        3,
        "yuexiu-cdc",
    ),
    (
        "futian-hospital",
        "Futian People's Hospital",
        Role::Hospital,
        "440304",
        2,
        "futian-peoples-hospital",
    ),
    (
        "nanshan-hospital",
        "Nanshan People's Hospital",
        Role::Hospital,
        "440305",
        2,
        "nanshan-peoples-hospital",
    ),
    (
        "futian-doctor",
        "Dr. Li Wei (Futian)",
        Role::Doctor,
        "440304",
        2,
        "futian-peoples-hospital",
    ),
    (
        "shenzhen-lab",
        "Shenzhen CDC Laboratory",
        Role::Lab,
        "440300",
        2,
        "shenzhen-cdc-laboratory",
    ),
    (
        "yuexiu-hospital",
        "Guangzhou First People's Hospital",
        Role::Hospital,
        "440104",
        3,
        "guangzhou-first-peoples-hospital",
    ),
    (
        "baiyun-hospital",
        "Guangzhou Eighth People's Hospital",
        Role::Hospital,
        "440111",
        3,
        "guangzhou-eighth-peoples-hospital",
    ),
    (
        "yuexiu-doctor",
        "Dr. Chen Jing (Yuexiu)",
        Role::Doctor,
        "440104",
        3,
        "guangzhou-first-peoples-hospital",
    ),
    (
        "guangzhou-lab",
        "Guangzhou CDC Laboratory",
        Role::Lab,
        "440100",
        3,
        "guangzhou-cdc-laboratory",
    ),
    ("patient-zhang", "", Role::Patient, "440304", 2, "patients"),
];

/// Reporting hospitals and the districts they report in: (hospital handle, district).
const REPORTERS: &[(&str, &str)] = &[
    ("futian-hospital", "440304"),
    ("nanshan-hospital", "440305"),
    ("yuexiu-hospital", "440104"),
    ("baiyun-hospital", "440111"),
];

/// Diseases in the demo stream.
pub const DEMO_DISEASES: &[&str] = &[
    "DENGUE",
    "INFLUENZA",
    "HFMD",
    "PULM_TB",
    "COVID19",
    "MEASLES",
];

fn seed(label: &str) -> [u8; 32] {
    epichain_core::encoding::hash_tagged("epichain/demo-world-seed", label.as_bytes()).0
}

impl DemoWorld {
    /// Builds the world for a chain whose genesis is at `genesis_time_ms`, validated by
    /// `validators` (empty for a ledger on one machine).
    pub fn new(genesis_time_ms: u64, validators: Vec<Validator>) -> Result<Self> {
        Self::with_history(genesis_time_ms, validators, Vec::new())
    }

    /// Like [`DemoWorld::new`], with counts imported from a legacy system at genesis.
    pub fn with_history(
        genesis_time_ms: u64,
        validators: Vec<Validator>,
        history: Vec<HistoricalSeries>,
    ) -> Result<Self> {
        let validity =
            Validity::days_from((genesis_time_ms / 1000) as i64 - 86_400, DEMO_VALIDITY_DAYS);
        let root_key = KeyPair::from_seed(seed("root-ca"));
        let root_certificate = cert::create_root(
            &root_key,
            "epichain National Root CA",
            "national-root-ca".parse()?,
            validity,
        )?;
        let root = DemoAuthority {
            name: "epichain National Root CA".to_string(),
            region: RegionCode::NATIONAL,
            key: root_key,
            certificate: root_certificate.clone(),
            chain: Vec::new(),
        };
        let guangdong = subordinate(&root, "Guangdong Provincial CA", "440000", validity)?;
        let shenzhen = subordinate(&guangdong, "Shenzhen Municipal CA", "440300", validity)?;
        let guangzhou = subordinate(&guangdong, "Guangzhou Municipal CA", "440100", validity)?;
        let authorities = vec![root, guangdong, shenzhen, guangzhou];
        let genesis = Genesis {
            format_version: GENESIS_FORMAT_VERSION,
            chain_name: "epichain-demo".to_string(),
            time_ms: genesis_time_ms,
            root_certificates: vec![root_certificate],
            catalogue: Catalogue::shipped()?,
            regions: RegionSet::shipped_guangdong()?,
            approval_threshold: DEMO_APPROVAL_THRESHOLD,
            approvers: demo_approvers()?,
            validators,
            warning_rules: epichain_core::warning::WarningRule::defaults(),
            history,
        };
        let mut world = DemoWorld {
            genesis,
            authorities,
            identities: Vec::new(),
            validity,
        };
        for (handle, name, role, region, issuer, institution) in PARTICIPANTS {
            world.add_identity(handle, name, *role, region.parse()?, *issuer, institution)?;
        }
        // Validators with demo keys enrol their holder keys: they sign the escrow's transactions.
        let demo_validators: Vec<(usize, String)> = world
            .genesis
            .validators
            .iter()
            .enumerate()
            .filter(|(index, validator)| holder_key(*index).public_key() == validator.holder)
            .map(|(index, validator)| (index, validator.name.clone()))
            .collect();
        for (index, name) in demo_validators {
            world.add_identity(
                &format!("validator-{index}"),
                &format!("{name} (validator {index})"),
                Role::Validator,
                RegionCode::NATIONAL,
                0,
                &format!("validator-{index}"),
            )?;
        }
        Ok(world)
    }

    /// Issues a certificate from the CA at `issuer` (0 root, 1 Guangdong, 2 Shenzhen,
    /// 3 Guangzhou) and adds the participant, acting for `institution`. Its key derives from the
    /// handle.
    pub fn add_identity(
        &mut self,
        handle: &str,
        name: &str,
        role: Role,
        region: RegionCode,
        issuer: usize,
        institution: &str,
    ) -> Result<()> {
        let authority = self
            .authorities
            .get(issuer)
            .ok_or(WorldError::UnknownAuthority(issuer))?;
        let key = KeyPair::from_seed(seed(handle));
        let certificate = cert::issue(
            &authority.certificate,
            &authority.key,
            &IssueRequest {
                subject_key: key.public_key(),
                claims: Claims {
                    role,
                    region,
                    institution: institution.parse()?,
                },
                common_name: name,
                validity: self.validity,
            },
        )?;
        self.identities.push(DemoIdentity {
            handle: handle.to_string(),
            name: name.to_string(),
            role,
            region,
            certificate,
            chain: authority.chain.clone(),
            // Its own key, never derived from the signing key (review M11).
            encryption: EncryptionKeyPair::from_seed(seed(&format!("{handle}/encryption"))),
            signer: Signer::new(key, self.genesis.chain_id(), 0),
        });
        Ok(())
    }

    /// A TLS server certificate for the node identity `handle` (role validator), from the CA
    /// that issued its identity, naming `names`: PEM, leaf first, then the issuing chain without
    /// the root (what a node's `[tls] certificate` file holds).
    pub fn server_certificate(&self, handle: &str, names: &[cert::ServerName]) -> Result<String> {
        let identity = self
            .identities
            .iter()
            .find(|identity| identity.handle == handle)
            .ok_or_else(|| WorldError::UnknownIdentity(handle.to_string()))?;
        // The issuer heads the identity's chain; the root issued those whose chain is empty.
        let authority = self
            .authorities
            .iter()
            .find(|authority| match identity.chain.first() {
                Some(issuer) => *issuer == authority.certificate,
                None => authority.region == RegionCode::NATIONAL,
            })
            .ok_or_else(|| WorldError::UnknownIdentity(handle.to_string()))?;
        let claims = cert::parse_certificate(&identity.certificate)?.claims;
        let leaf = cert::issue_server(
            &authority.certificate,
            &authority.key,
            &IssueRequest {
                subject_key: identity.signer.key().public_key(),
                claims,
                common_name: &identity.name,
                validity: self.validity,
            },
            names,
        )?;
        Ok(std::iter::once(&leaf)
            .chain(identity.chain.iter())
            .map(|der| cert::to_pem(der))
            .collect())
    }

    /// A participant by handle.
    pub fn identity(&mut self, handle: &str) -> Result<&mut DemoIdentity> {
        self.identities
            .iter_mut()
            .find(|identity| identity.handle == handle)
            .ok_or_else(|| WorldError::UnknownIdentity(handle.to_string()))
    }

    /// One enrolment transaction per participant.
    pub fn enrolments(&mut self) -> Vec<SignedTransaction> {
        self.identities
            .iter_mut()
            .map(|identity| {
                identity
                    .signer
                    .enroll(identity.certificate.clone(), identity.chain.clone())
            })
            .collect()
    }

    /// One `PublishEncryptionKey` transaction per participant.
    pub fn publications(&mut self) -> Vec<SignedTransaction> {
        self.identities
            .iter_mut()
            .map(|identity| {
                let public = identity.encryption.public();
                identity
                    .signer
                    .sign(epichain_core::Payload::PublishEncryptionKey(public))
            })
            .collect()
    }

    /// Seals synthetic details for a report that `reporter` is about to sign (its next nonce) to
    /// the authorities of the report's region and the reporter, plus the escrow wrap `escrow`
    /// produces from the data key (if any).
    pub fn seal_details(
        &self,
        reporter: &str,
        report: &epichain_core::CaseReport,
        escrow: Option<EscrowSealer<'_>>,
    ) -> Result<Vec<u8>> {
        let reporter = self
            .identities
            .iter()
            .find(|identity| identity.handle == reporter)
            .ok_or_else(|| WorldError::UnknownIdentity(reporter.to_string()))?;
        let case = epichain_core::case::case_id(
            &reporter.signer.public_key(),
            reporter.signer.next_nonce(),
        );
        let chain_id = self.genesis.chain_id();
        let binding = sealed::binding(&chain_id, &case, 0);
        // The district's authorities (or, if it has none, the nearest level above that has) and
        // the reporter.
        let jurisdiction = report.region.lineage().find(|region| {
            self.identities
                .iter()
                .any(|identity| identity.role == Role::Authority && identity.region == *region)
        });
        let readers: Vec<(epichain_core::PublicKey, sealed::EncryptionPublicKey)> = self
            .identities
            .iter()
            .filter(|identity| {
                (identity.role == Role::Authority && Some(identity.region) == jurisdiction)
                    || identity.handle == reporter.handle
            })
            .map(|identity| (identity.signer.public_key(), identity.encryption.public()))
            .collect();
        let mix = splitmix(u64::from_le_bytes(
            case.0[..8].try_into().unwrap_or_default(),
        ));
        let details = sealed::CaseDetails {
            name: format!("Patient {:04}", mix % 10_000),
            national_id: format!("4403{:014}", mix % 100_000_000_000_000),
            phone: format!("+86 13{:09}", (mix >> 8) % 1_000_000_000),
            address: format!(
                "{} Road No. {}, {}",
                ["Shennan", "Binhe", "Huanshi"][(mix % 3) as usize],
                (mix >> 16) % 300,
                report.region
            ),
            occupation: ["teacher", "student", "driver", "retired", "nurse"]
                [((mix >> 24) % 5) as usize]
                .into(),
            symptoms: format!(
                "fever {}.{}°C, {}",
                38 + (mix >> 32) % 2,
                (mix >> 34) % 10,
                ["rash", "cough", "headache", "myalgia"][((mix >> 36) % 4) as usize]
            ),
            ..sealed::CaseDetails::default()
        };
        let target = sealed::escrow_target(&chain_id, &case, 0);
        let wrap = escrow.map(|escrow| move |key: &[u8; 32]| escrow(key, &target));
        let envelope = sealed::seal(
            &details.to_bytes(),
            &readers,
            wrap.as_ref()
                .map(|wrap| wrap as &dyn Fn(&[u8; 32]) -> Vec<u8>),
            &binding,
        )
        .map_err(|error| WorldError::Sealing(error.to_string()))?;
        Ok(envelope.to_bytes())
    }

    /// A suspected-case report for `day` (no patient identity: a fixed demo pseudonym).
    pub fn case_report(
        &self,
        day: Day,
        disease: &str,
        region: &str,
    ) -> Result<epichain_core::CaseReport> {
        Ok(epichain_core::CaseReport {
            disease: disease.parse()?,
            region: region.parse()?,
            status: epichain_core::CaseStatus::Suspected,
            patient: PatientRef::Pseudonym(epichain_core::encoding::hash_tagged(
                "epichain/demo-patient",
                disease.as_bytes(),
            )),
            onset_day: day,
            diagnosis_day: day,
            age_band: 7,
            sex: epichain_core::Sex::Unknown,
            sealed: Vec::new(),
        })
    }

    /// A deterministic day of reports: `count` cases spread over the reporting hospitals and the
    /// demo diseases, with onset up to three days before `day`.
    pub fn reports(
        &mut self,
        day: Day,
        count: usize,
        salt: u64,
    ) -> Result<Vec<(SignedTransaction, epichain_core::Hash)>> {
        self.build_reports(day, count, salt, Sealing::None)
    }

    /// [`reports`](Self::reports) with synthetic identifying details sealed to the district
    /// authorities and the reporter, and wrapped for the escrow by `escrow` (given the data key
    /// and the record's escrow target) if any. Sealing uses fresh random keys, so these
    /// transactions differ run to run.
    pub fn sealed_reports(
        &mut self,
        day: Day,
        count: usize,
        salt: u64,
        escrow: Option<EscrowSealer<'_>>,
    ) -> Result<Vec<(SignedTransaction, epichain_core::Hash)>> {
        self.build_reports(day, count, salt, Sealing::Sealed(escrow))
    }

    fn build_reports(
        &mut self,
        day: Day,
        count: usize,
        salt: u64,
        sealing: Sealing<'_>,
    ) -> Result<Vec<(SignedTransaction, epichain_core::Hash)>> {
        let mut reports = Vec::with_capacity(count);
        for index in 0..count {
            let mix = splitmix(salt.wrapping_mul(1_000_003).wrapping_add(index as u64));
            let (hospital, district) = REPORTERS[(mix % REPORTERS.len() as u64) as usize];
            let disease = DEMO_DISEASES[((mix >> 8) % DEMO_DISEASES.len() as u64) as usize];
            let onset = Day(day.0.saturating_sub(((mix >> 16) % 4) as u32));
            let report = epichain_core::CaseReport {
                disease: disease.parse()?,
                region: district.parse()?,
                status: if (mix >> 20).is_multiple_of(3) {
                    epichain_core::CaseStatus::ClinicallyDiagnosed
                } else {
                    epichain_core::CaseStatus::Suspected
                },
                patient: PatientRef::Pseudonym(epichain_core::encoding::hash_tagged(
                    "epichain/demo-patient",
                    &mix.to_le_bytes(),
                )),
                onset_day: onset,
                diagnosis_day: day,
                age_band: ((mix >> 24) % 18) as u8,
                sex: if (mix >> 32).is_multiple_of(2) {
                    epichain_core::Sex::Female
                } else {
                    epichain_core::Sex::Male
                },
                sealed: Vec::new(),
            };
            let report = match sealing {
                Sealing::None => report,
                Sealing::Sealed(escrow) => epichain_core::CaseReport {
                    sealed: self.seal_details(hospital, &report, escrow)?,
                    ..report
                },
            };
            reports.push(self.identity(hospital)?.signer.report(report));
        }
        Ok(reports)
    }

    /// Writes the CA certificates, every participant's key and certificate chain, and the genesis
    /// into `directory`: what an operator would hand out.
    pub fn write_files(&self, directory: &Path) -> Result<()> {
        let keys = directory.join("keys");
        std::fs::create_dir_all(&keys).map_err(io(&keys))?;
        let genesis = directory.join("genesis.json");
        std::fs::write(&genesis, self.genesis.to_json()).map_err(io(&genesis))?;
        for authority in &self.authorities {
            let stem = slug(&authority.name);
            let pem: String = std::iter::once(&authority.certificate)
                .chain(authority.chain.iter().skip(1))
                .map(|der| cert::to_pem(der))
                .collect();
            let path = keys.join(format!("{stem}.cert.pem"));
            std::fs::write(&path, pem).map_err(io(&path))?;
            write_key(&keys.join(format!("{stem}.key.pem")), &authority.key)?;
        }
        for identity in &self.identities {
            let pem: String = std::iter::once(&identity.certificate)
                .chain(identity.chain.iter())
                .map(|der| cert::to_pem(der))
                .collect();
            let base = keys.join(&identity.handle);
            let path = base.with_extension("cert.pem");
            std::fs::write(&path, pem).map_err(io(&path))?;
            write_key(&base.with_extension("key.pem"), identity.signer.key())?;
            let encryption = base.with_extension("enc");
            if !encryption.exists() {
                identity
                    .encryption
                    .write_file(&encryption)
                    .map_err(|error| WorldError::Sealing(error.to_string()))?;
            }
        }
        Ok(())
    }
}

/// Writes a key unless the file exists (a rerun keeps the keys it handed out).
fn write_key(path: &Path, key: &KeyPair) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    Ok(key.write_pem_file(path)?)
}

/// Deterministic demo validator consensus keys: for devnets and tests only.
pub fn validator_key(index: usize) -> KeyPair {
    KeyPair::from_seed(seed(&format!("validator-{index}/consensus")))
}

/// The demo escrow holder key of validator `index`: the key of its identity `validator-INDEX`,
/// apart from its consensus key (review M11).
pub fn holder_key(index: usize) -> KeyPair {
    KeyPair::from_seed(seed(&format!("validator-{index}")))
}

/// Genesis validator entries for `names`, with [`validator_key`] and [`holder_key`] keys.
pub fn validators(names: &[&str]) -> Vec<Validator> {
    names
        .iter()
        .enumerate()
        .map(|(index, name)| Validator {
            key: validator_key(index).public_key(),
            name: name.to_string(),
            holder: holder_key(index).public_key(),
        })
        .collect()
}

fn subordinate(
    issuer: &DemoAuthority,
    name: &str,
    region: &str,
    validity: Validity,
) -> Result<DemoAuthority> {
    let key = KeyPair::from_seed(seed(name));
    let region: RegionCode = region.parse()?;
    let certificate = cert::issue(
        &issuer.certificate,
        &issuer.key,
        &IssueRequest {
            subject_key: key.public_key(),
            claims: Claims {
                role: Role::CertificateAuthority,
                region,
                institution: slug(name).parse()?,
            },
            common_name: name,
            validity,
        },
    )?;
    let mut chain = vec![certificate.clone()];
    chain.extend(issuer.chain.iter().cloned());
    Ok(DemoAuthority {
        name: name.to_string(),
        region,
        key,
        certificate,
        chain,
    })
}

fn slug(name: &str) -> String {
    name.to_lowercase()
        .split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Seasonal history series: (disease, peak day of year, mean daily cases at the peak).
const SEASONS: &[(&str, u32, u32)] = &[("DENGUE", 270, 4), ("INFLUENZA", 20, 5), ("HFMD", 150, 3)];

/// Reporting units with history.
const HISTORY_DISTRICTS: &[&str] = &["440304", "440305", "440104", "440111"];

/// Synthetic seasonal daily counts for the demo diseases in the demo districts, for `years`
/// 365-day years before genesis: what a legacy system's export would give as baselines. Counts
/// are binomial around a seasonal mean (triangular peak), from a fixed pseudo-random sequence.
pub fn seasonal_history(genesis_time_ms: u64, years: u32) -> Result<Vec<HistoricalSeries>> {
    let genesis_day = Day::from_unix_ms(genesis_time_ms);
    let days = years * 365 + 60;
    let first_day = Day(genesis_day.0.saturating_sub(days));
    let mut history = Vec::new();
    for (series_index, (disease, peak, height)) in SEASONS.iter().enumerate() {
        for (district_index, district) in HISTORY_DISTRICTS.iter().enumerate() {
            let counts = (0..days)
                .map(|offset| {
                    let day = first_day.0 + offset;
                    let (_, month, date) = Day(day).to_ymd();
                    let day_of_year = (month - 1) * 30 + date;
                    let distance = day_of_year
                        .abs_diff(*peak)
                        .min(365 - day_of_year.abs_diff(*peak).min(365));
                    // Mean in tenths of a case: from 0.5 off season to `height` at the peak.
                    let mean_tenths =
                        5 + (height * 10).saturating_sub(distance * height * 10 / 120);
                    let trials = 40u64;
                    let mut count = 0;
                    for trial in 0..trials {
                        let draw = splitmix(
                            (u64::from(day) << 16)
                                ^ ((series_index as u64) << 12)
                                ^ ((district_index as u64) << 8)
                                ^ trial,
                        ) % (trials * 10);
                        if draw < u64::from(mean_tenths) {
                            count += 1;
                        }
                    }
                    count
                })
                .collect();
            history.push(HistoricalSeries {
                disease: disease.parse()?,
                region: district.parse()?,
                first_day,
                counts,
            });
        }
    }
    Ok(history)
}

/// SplitMix64: a fixed, well-mixed sequence for deterministic demo data (not for cryptography).
pub fn splitmix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
