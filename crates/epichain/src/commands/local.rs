//! `epichain ledger`: a ledger on this machine (before or beside the network). Each command that
//! changes state builds one signed transaction, executes it as the next block, and commits only
//! if the ledger applies it; a rejection prints the reason, exits with code 2 and writes nothing.

use super::ca::{read_certificates, read_genesis};
use super::wall_clock_ms;
use anyhow::{Context, Result, bail};
use epichain_core::keys::read_public_key_file;
use epichain_core::{
    CaseChange, CaseReport, CaseStatus, Day, DiseaseCode, Hash, KeyPair, Outcome, PatientRef,
    RegionCode, RevocationReason, Sex, SignedTransaction, Signer, TransactionOutcome,
};
use epichain_ledger::Ledger;
use std::path::{Path, PathBuf};

const GENESIS_FILE: &str = "genesis.json";
const LEDGER_FILE: &str = "ledger.redb";

#[derive(Debug, clap::Subcommand)]
pub enum LedgerCommand {
    /// Create a ledger in DIR from a genesis file.
    Init {
        /// Genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// Data directory (created if missing).
        #[arg(long)]
        data: PathBuf,
    },
    /// Show the tip: height, hash, state root.
    Status {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// Enrol a key with its certificate chain (signed by that key: proof of possession).
    Enroll {
        #[command(flatten)]
        signing: Signing,
        /// Certificate bundle from `ca issue` (leaf first, then intermediates).
        #[arg(long)]
        cert: PathBuf,
    },
    /// Report a case (doctors and hospitals).
    Report {
        #[command(flatten)]
        signing: Signing,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Update a case: a status step, an outcome, or closing the record.
    Update {
        #[command(flatten)]
        signing: Signing,
        /// Case id.
        #[arg(long)]
        case: Hash,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Revoke a key (yourself, or as an authority someone below you).
    Revoke {
        #[command(flatten)]
        signing: Signing,
        /// Key to revoke (file or hex).
        #[arg(long)]
        target: PathBuf,
        /// key-compromise, ca-compromise, affiliation-changed, superseded,
        /// cessation-of-operation or unspecified.
        #[arg(long, default_value = "unspecified")]
        reason: RevocationReason,
    },
    /// Submit a signed transaction saved with --save-tx (hex).
    Submit {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// File with the transaction in hex.
        transaction: PathBuf,
    },
    /// Show a case record and its full version history (JSON).
    Case {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Case id.
        id: Hash,
    },
}

/// The change an update makes, on the command line: exactly one of these.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ChangeArgs {
    /// New status: clinically-diagnosed (doctors), lab-confirmed (labs), excluded (authorities).
    #[arg(long)]
    status: Option<CaseStatus>,
    /// Outcome: recovered, died, transferred, lost-to-follow-up.
    #[arg(long)]
    outcome: Option<Outcome>,
    /// Close the record (authorities).
    #[arg(long)]
    close: bool,
    /// Replace the sealed details only (with --details).
    #[arg(long)]
    amend: bool,
}

impl ChangeArgs {
    /// The change.
    pub fn to_change(&self) -> Result<CaseChange> {
        Ok(match (self.status, self.outcome, self.close, self.amend) {
            (Some(status), None, false, false) => CaseChange::Status(status),
            (None, Some(outcome), false, false) => CaseChange::Outcome(outcome),
            (None, None, true, false) => CaseChange::Close,
            (None, None, false, true) => CaseChange::Amend,
            _ => bail!("give exactly one of --status, --outcome, --close, --amend"),
        })
    }
}

/// The fields of a case report on the command line.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Disease code from the catalogue, e.g. DENGUE.
    #[arg(long)]
    disease: DiseaseCode,
    /// District of the report (GB/T 2260), e.g. 440304.
    #[arg(long)]
    region: RegionCode,
    /// suspected or clinically-diagnosed.
    #[arg(long, default_value = "suspected")]
    status: CaseStatus,
    /// Onset date, YYYY-MM-DD.
    #[arg(long)]
    onset: Day,
    /// Diagnosis date, YYYY-MM-DD (default: onset).
    #[arg(long)]
    diagnosis: Option<Day>,
    /// Age in years (recorded as a five-year band).
    #[arg(long)]
    age: Option<u8>,
    /// male, female or unknown.
    #[arg(long, default_value = "unknown")]
    sex: Sex,
    /// The patient's enrolled public key (file or hex).
    #[arg(long, conflicts_with_all = ["national_id", "pseudonym"])]
    patient_key: Option<PathBuf>,
    /// The patient's identity document number: blinded on this machine and turned into the
    /// patient's pseudonym by the CDC of the region's scope, through the chain (`epichain report`
    /// only; the number never leaves this machine).
    #[arg(long, conflicts_with = "pseudonym")]
    pub national_id: Option<String>,
    /// The patient's pseudonym (64 hex digits), as `epichain pseudonym get` printed it.
    #[arg(long)]
    pseudonym: Option<Hash>,
}

impl ReportArgs {
    /// The district of the report.
    pub fn region(&self) -> RegionCode {
        self.region
    }

    /// The report these arguments describe; `pseudonym` is the one the scope's CDC evaluated
    /// for `--national-id`.
    pub fn to_report(&self, pseudonym: Option<Hash>) -> Result<CaseReport> {
        let patient = match (&self.patient_key, self.pseudonym.or(pseudonym)) {
            (Some(path), _) => PatientRef::Key(read_public_key_file(path)?),
            (None, Some(pseudonym)) => PatientRef::Pseudonym(pseudonym),
            (None, None) if self.national_id.is_some() => bail!(
                "--national-id needs the network: the scope's CDC evaluates pseudonyms (use `epichain report`, or pass --pseudonym)"
            ),
            (None, None) => {
                bail!("name the patient with --patient-key, --national-id or --pseudonym")
            }
        };
        Ok(CaseReport {
            disease: self.disease.clone(),
            region: self.region,
            status: self.status,
            patient,
            onset_day: self.onset,
            diagnosis_day: self.diagnosis.unwrap_or(self.onset),
            age_band: self.age.map_or(epichain_core::case::AGE_BAND_MAX, |years| {
                (years / 5).min(epichain_core::case::AGE_BAND_MAX)
            }),
            sex: self.sex,
            sealed: Vec::new(),
        })
    }
}

/// Options of every command that signs.
#[derive(Debug, clap::Args)]
pub struct Signing {
    /// Data directory.
    #[arg(long)]
    data: PathBuf,
    /// Signing key (PKCS#8 PEM).
    #[arg(long)]
    key: PathBuf,
    /// Nonce to use (default: one above the signer's last).
    #[arg(long)]
    nonce: Option<u64>,
    /// Also save the signed transaction (hex) to this file.
    #[arg(long)]
    save_tx: Option<PathBuf>,
}

pub fn run(command: LedgerCommand) -> Result<()> {
    match command {
        LedgerCommand::Init { genesis, data } => init(&genesis, &data),
        LedgerCommand::Status { data } => status(&data),
        LedgerCommand::Enroll { signing, cert } => {
            let mut chain = read_certificates(&cert)?;
            let certificate = chain.remove(0);
            sign_and_submit(&signing, |signer| signer.enroll(certificate, chain))
        }
        LedgerCommand::Report { signing, report } => {
            let report = report.to_report(None)?;
            sign_and_submit(&signing, |signer| {
                let (transaction, id) = signer.report(report);
                println!("case {id}");
                transaction
            })
        }
        LedgerCommand::Update {
            signing,
            case,
            change,
        } => {
            let change = change.to_change()?;
            let head = {
                let ledger = open(&signing.data)?;
                let record = ledger.reader()?.case(&case)?;
                record.with_context(|| format!("unknown case {case}"))?.head
            };
            sign_and_submit(&signing, |signer| {
                signer.update(case, head, change, Vec::new())
            })
        }
        LedgerCommand::Revoke {
            signing,
            target,
            reason,
        } => {
            let target = super::keys::public_key_arg(&target)?;
            sign_and_submit(&signing, |signer| signer.revoke(target, reason))
        }
        LedgerCommand::Submit { data, transaction } => {
            let text = std::fs::read_to_string(&transaction)
                .with_context(|| format!("reading {}", transaction.display()))?;
            let bytes = hex::decode(text.trim())
                .with_context(|| format!("{}: not hex", transaction.display()))?;
            let signed = SignedTransaction::from_bytes(&bytes)
                .with_context(|| format!("{}: not a signed transaction", transaction.display()))?;
            submit(&data, signed)
        }
        LedgerCommand::Case { data, id } => show_case(&data, &id),
    }
}

fn open(data: &Path) -> Result<Ledger> {
    let genesis = read_genesis(&data.join(GENESIS_FILE)).with_context(|| {
        format!(
            "{} is not a ledger directory (run `epichain ledger init`)",
            data.display()
        )
    })?;
    Ok(Ledger::open(&data.join(LEDGER_FILE), &genesis)?)
}

fn init(genesis_path: &Path, data: &Path) -> Result<()> {
    let genesis = read_genesis(genesis_path)?;
    if data.join(GENESIS_FILE).exists() {
        bail!("{} already holds a ledger", data.display());
    }
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let ledger = Ledger::open(&data.join(LEDGER_FILE), &genesis)?;
    std::fs::write(data.join(GENESIS_FILE), genesis.to_json())?;
    println!("chain id {}", ledger.chain_id());
    println!("state root {}", ledger.tip().state_root);
    Ok(())
}

fn status(data: &Path) -> Result<()> {
    let ledger = open(data)?;
    let tip = ledger.tip();
    println!("chain id   {}", ledger.chain_id());
    println!("height     {}", tip.height);
    println!("tip hash   {}", tip.hash);
    println!("state root {}", tip.state_root);
    Ok(())
}

fn sign_and_submit(
    signing: &Signing,
    build: impl FnOnce(&mut Signer) -> SignedTransaction,
) -> Result<()> {
    let key = KeyPair::read_pem_file(&signing.key)?;
    let (chain_id, last_nonce) = {
        let ledger = open(&signing.data)?;
        let identity = ledger.reader()?.identity(&key.public_key())?;
        (
            ledger.chain_id(),
            identity.map_or(0, |identity| identity.nonce),
        )
    };
    let last = match signing.nonce {
        Some(0) => bail!("--nonce must be at least 1"),
        Some(nonce) => nonce - 1,
        None => last_nonce,
    };
    let mut signer = Signer::new(key, chain_id, last);
    let transaction = build(&mut signer);
    if let Some(path) = &signing.save_tx {
        std::fs::write(path, hex::encode(transaction.to_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    submit(&signing.data, transaction)
}

/// Executes the transaction as the next block; commits only if it applies.
fn submit(data: &Path, transaction: SignedTransaction) -> Result<()> {
    let mut ledger = open(data)?;
    let id = transaction.id();
    let time_ms = wall_clock_ms().max(ledger.tip().time_ms + 1);
    let prepared = ledger.prepare(time_ms, vec![transaction])?;
    let rejection = prepared
        .unauthenticated()
        .first()
        .map(|refused| &refused.rejection)
        .or_else(
            || match prepared.receipts().first().map(|receipt| &receipt.outcome) {
                Some(TransactionOutcome::Rejected(rejection)) => Some(rejection),
                _ => None,
            },
        );
    if let Some(rejection) = rejection {
        bail!(
            "transaction {id} rejected ({}): {rejection}",
            rejection.code()
        );
    }
    let outcome = ledger.commit(prepared)?;
    println!(
        "transaction {id} applied at height {}",
        outcome.header.height
    );
    Ok(())
}

fn show_case(data: &Path, id: &Hash) -> Result<()> {
    let ledger = open(data)?;
    let reader = ledger.reader()?;
    let record = reader
        .case_view(id)?
        .with_context(|| format!("unknown case {id}"))?;
    let history = reader.case_history(id)?;
    let versions: Vec<_> = history.iter().map(|view| view.version.clone()).collect();
    let chain = epichain_ledger::state::verify_version_chain(&versions, &record.record.head);
    let document = serde_json::json!({
        "record": record,
        "history": history,
        "hash_chain": match chain { Ok(()) => "unbroken".to_string(), Err(error) => error.to_string() },
    });
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}
