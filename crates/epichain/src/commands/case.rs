//! `epichain case show`: a case's public metadata, and its sealed details decrypted on this
//! machine for a reader holding a key — after an on-chain access log when an authority reads a
//! record it did not report.

use anyhow::{Context, Result, bail};
use epichain::client::Client;
use epichain_core::sealed::{self, EncryptionKeyPair, Envelope};
use epichain_core::transaction::AccessLog;
use epichain_core::{Hash, KeyPair, Payload};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum CaseCommand {
    /// Show a case; with your keys, decrypt its sealed details locally.
    Show {
        /// Node API URL.
        #[arg(long, default_value = "http://127.0.0.1:18000")]
        node: String,
        /// Case id.
        id: Hash,
        /// Your signing key (PKCS#8 PEM), to sign the access log.
        #[arg(long, requires = "encryption_key")]
        key: Option<PathBuf>,
        /// Your encryption key (from `keys encryption`).
        #[arg(long, requires = "key")]
        encryption_key: Option<PathBuf>,
        /// Why you read the details (recorded on chain when you did not report the case).
        #[arg(long)]
        purpose: Option<String>,
    },
}

pub fn run(command: CaseCommand) -> Result<()> {
    let CaseCommand::Show {
        node,
        id,
        key,
        encryption_key,
        purpose,
    } = command;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = Client::new(&node);
        let case = client.case(&id).await?;
        let record = &case["record"];
        let mut public = record.clone();
        public["sealed"] = serde_json::json!(format!(
            "{} bytes of ciphertext",
            record["sealed"].as_str().map_or(0, |text| text.len() / 2)
        ));
        println!("{}", serde_json::to_string_pretty(&public)?);
        let (Some(key), Some(encryption_key)) = (key, encryption_key) else {
            println!(
                "(public metadata only: pass --key and --encryption-key to read the sealed details)"
            );
            return Ok(());
        };
        let signing = KeyPair::read_pem_file(&key)?;
        let encryption = EncryptionKeyPair::read_file(&encryption_key)?;
        let sealed_hex = record["sealed"].as_str().unwrap_or("");
        if sealed_hex.is_empty() {
            println!("(this case carries no sealed details)");
            return Ok(());
        }
        let envelope = Envelope::from_bytes(&hex::decode(sealed_hex)?)?;
        let me = signing.public_key();
        if !envelope.is_reader(&me) {
            println!(
                "(none of the {} readers of the sealed details is you: public metadata only)",
                envelope.readers.len()
            );
            return Ok(());
        }
        let version =
            sealed_version(&case["history"]).context("no version carries the sealed details")?;
        let status = client.status().await?;
        let chain_id =
            Hash::from_hex(status["chain_id"].as_str().unwrap_or("")).context("chain id")?;
        let reporter = record["reporter"].as_str().unwrap_or("");
        if reporter != me.to_hex() {
            let Some(purpose) = purpose else {
                bail!("reading a record you did not report is logged on chain: give --purpose");
            };
            let mut signer = client.signer(signing.clone()).await?;
            let log = signer.sign(Payload::AccessLog(AccessLog {
                case_id: id,
                purpose,
            }));
            client.submit(&log).await?;
            let outcome = client
                .wait_finalized(&log.id(), Duration::from_secs(30))
                .await?;
            if outcome["outcome"]["status"] != "applied" {
                bail!("access log not recorded: {}", outcome["outcome"]["message"]);
            }
            println!("access logged on chain at height {}", outcome["height"]);
        }
        let binding = sealed::binding(&chain_id, &id, version);
        let details = envelope.open(&me, &encryption, &binding)?;
        let details = sealed::CaseDetails::from_bytes(&details)?;
        println!("{}", serde_json::to_string_pretty(&details)?);
        Ok(())
    })
}

/// The number of the latest version that carried sealed details.
fn sealed_version(history: &serde_json::Value) -> Option<u32> {
    history.as_array()?.iter().rev().find_map(|version| {
        let change = &version["change"];
        let sealed = match change["kind"].as_str()? {
            "report" => change["value"]["sealed"].as_str()?,
            _ => change["value"]["sealed"].as_str()?,
        };
        (!sealed.is_empty()).then(|| version["version"].as_u64().map(|number| number as u32))?
    })
}
