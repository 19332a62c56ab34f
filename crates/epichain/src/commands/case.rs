//! `epichain case show`: a case's public metadata, and its sealed details decrypted on this
//! machine for a reader holding a key (a reader of the envelope, or a grantee combining k escrow
//! holders' shares), after an on-chain access log when the record is not the reader's own.

use anyhow::Result;
use epichain::client::Client;
use epichain::read::{ReadError, ReadPath, read_case};
use epichain_core::sealed::EncryptionKeyPair;
use epichain_core::{Hash, KeyPair};
use std::path::PathBuf;

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
