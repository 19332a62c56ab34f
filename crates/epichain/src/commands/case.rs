//! `epichain case show`: a case's public metadata, and its sealed details decrypted on this
//! machine for a reader holding a key (a reader of the envelope, or a grantee combining k escrow
//! holders' shares), after an on-chain access log when the record is not the reader's own.
//! `epichain case update`: the next step of a case (diagnosis, lab confirmation, exclusion,
//! outcome, closing, amended details), naming the version it replaces, with new details sealed
//! on this machine for that version.

use super::local::ChangeArgs;
use anyhow::{Context, Result, bail};
use epichain_client::Client;
use epichain_client::read::{ReadError, ReadPath, read_case};
use epichain_core::sealed::EncryptionKeyPair;
use epichain_core::transaction::AccessPurpose;
use epichain_core::{Hash, KeyPair};
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum CaseCommand {
    /// Show a case; with your keys, decrypt its sealed details locally.
    Show {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// Case id.
        id: Hash,
        /// Your signing key (PKCS#8 PEM): signs the request (case records are served only to
        /// identities whose jurisdiction covers them) and the access log.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Your encryption key (from `keys encryption`).
        #[arg(long, requires = "key")]
        encryption_key: Option<PathBuf>,
        /// Why you read the details, recorded on chain when you did not report the case:
        /// case-investigation, contact-tracing, outbreak-response, clinical-care,
        /// laboratory-follow-up or audit (through a disclosure grant: outbreak-response unless
        /// given).
        #[arg(long)]
        purpose: Option<AccessPurpose>,
        /// Check the node's answers (readers' keys, the escrow key, ciphertext, receipts)
        /// against proofs verified with this genesis file: recommended with a node you do not run.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Update a case on the network; with --details, seal new details for the new version.
    Update {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// Case id.
        id: Hash,
        /// Your signing key (PKCS#8 PEM): a doctor, lab or authority over the case's region.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        change: ChangeArgs,
        /// New identifying and clinical details (JSON, as for `report --details`), sealed to
        /// the district authorities and the escrow key.
        #[arg(long)]
        details: Option<PathBuf>,
        /// Your encryption key, to stay a reader of what you sealed.
        #[arg(long, requires = "details")]
        encryption_key: Option<PathBuf>,
        /// Check the node's answers (readers' keys, the escrow key, ciphertext, receipts)
        /// against proofs verified with this genesis file: recommended with a node you do not run.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
}

pub fn run(command: CaseCommand) -> Result<()> {
    match command {
        CaseCommand::Show {
            node,
            id,
            key,
            encryption_key,
            purpose,
            genesis,
        } => show(
            &super::client_for(&node, genesis.as_deref())?,
            id,
            key,
            encryption_key,
            purpose,
        ),
        CaseCommand::Update {
            node,
            id,
            key,
            change,
            details,
            encryption_key,
            genesis,
        } => update(
            &super::client_for(&node, genesis.as_deref())?,
            id,
            &key,
            &change,
            details,
            encryption_key,
        ),
    }
}

fn update(
    node: &Client,
    id: Hash,
    key: &std::path::Path,
    change: &ChangeArgs,
    details: Option<PathBuf>,
    encryption_key: Option<PathBuf>,
) -> Result<()> {
    let change = change.to_change()?;
    let key = KeyPair::read_pem_file(key)?;
    let details = details
        .map(|path| {
            let text =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok::<_, anyhow::Error>(epichain_core::sealed::CaseDetails::from_bytes(&text)?)
        })
        .transpose()?;
    let mine = encryption_key
        .map(|path| EncryptionKeyPair::read_file(&path))
        .transpose()?
        .map(|pair| (key.public_key(), pair.public()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let transaction = runtime.block_on(async {
        let client = node.signed_by(key.clone()).await?;
        let case = client.case(&id).await?;
        let (head, version, region) = (case.record.head, case.record.version, case.record.region);
        let mut signer = client.signer(key).await?;
        let sealed = match &details {
            Some(details) => {
                // The reporter stays a reader of details anyone else replaces.
                let mut also: Vec<_> = mine.into_iter().collect();
                if case.record.reporter != signer.public_key() {
                    also.extend(
                        epichain_client::seal::reader_of(&client, &case.record.reporter).await?,
                    );
                }
                epichain_client::seal::seal_case_details(
                    &client,
                    signer.chain_id(),
                    &id,
                    version + 1,
                    region,
                    details,
                    &also,
                )
                .await?
            }
            None => Vec::new(),
        };
        Ok::<_, anyhow::Error>(signer.update(id, head, change, sealed))
    })?;
    drop(runtime);
    super::network::submit_and_wait(node, &transaction)
}

fn show(
    node: &Client,
    id: Hash,
    key: Option<PathBuf>,
    encryption_key: Option<PathBuf>,
    purpose: Option<AccessPurpose>,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let Some(key) = key else {
        bail!(
            "reading a case needs --key: case records are served only to identities whose jurisdiction covers them"
        );
    };
    let signing = KeyPair::read_pem_file(&key)?;
    runtime.block_on(async {
        let client = node.signed_by(signing.clone()).await?;
        let case = client.case(&id).await?;
        let mut public = case.record;
        public.sealed = format!("{} bytes of ciphertext", public.sealed.len() / 2);
        println!("{}", serde_json::to_string_pretty(&public)?);
        let Some(encryption_key) = encryption_key else {
            println!("(metadata only: pass --encryption-key to read the sealed details)");
            return Ok(());
        };
        let encryption = EncryptionKeyPair::read_file(&encryption_key)?;
        match read_case(&client, &id, &signing, &encryption, purpose).await {
            Ok(outcome) => {
                if let Some(height) = outcome.access_logged_at {
                    println!("access logged on chain at height {height}");
                }
                if let ReadPath::Grant { grant, holders } = outcome.path {
                    println!(
                        "opened through disclosure grant {grant} with the shares of {holders} escrow holders"
                    );
                }
                println!("{}", serde_json::to_string_pretty(&outcome.details)?);
                Ok(())
            }
            Err(ReadError::NoSealedDetails) => {
                println!("(this case carries no sealed details)");
                Ok(())
            }
            Err(ReadError::NotPermitted) => {
                println!("({})", ReadError::NotPermitted);
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    })
}
