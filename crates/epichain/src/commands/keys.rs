//! `epichain keys`.

use anyhow::Result;
use clap::Subcommand;
use epichain_core::KeyPair;
use epichain_core::keys::{public_key_pem, read_public_key_file};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an Ed25519 key pair into a PKCS#8 PEM file (mode 0600); prints the public key.
    Gen {
        /// Output file; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key of a key file (hex and SPKI PEM).
    Show {
        /// Private key (PKCS#8 PEM), public key (SPKI PEM) or 64 hex digits.
        key: PathBuf,
    },
    /// Generate an X25519 encryption key (hex seed, mode 0600) for reading sealed details;
    /// prints its public key.
    Encryption {
        /// Output file; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Publish your encryption key on chain (signed with your enrolled key).
    Publish {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// Your signing key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// Your encryption key file.
        #[arg(long)]
        encryption_key: PathBuf,
    },
}

pub fn run(command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::Gen { out } => {
            let key = KeyPair::generate()?;
            key.write_pem_file(&out)?;
            println!("{}", key.public_key());
        }
        KeysCommand::Show { key } => {
            let public = read_public_key_file(&key)?;
            println!("{public}");
            print!("{}", public_key_pem(&public)?);
        }
        KeysCommand::Encryption { out } => {
            let key = epichain_core::sealed::EncryptionKeyPair::generate()?;
            key.write_file(&out)?;
            println!("{}", hex::encode(key.public().0));
        }
        KeysCommand::Publish {
            node,
            key,
            encryption_key,
        } => {
            let signing = KeyPair::read_pem_file(&key)?;
            let public =
                epichain_core::sealed::EncryptionKeyPair::read_file(&encryption_key)?.public();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let client = super::client_for(&node, None)?;
                let mut signer = client.signer(signing).await?;
                let transaction = signer.sign(epichain_core::Payload::PublishEncryptionKey(public));
                let height = super::network::submit_and_confirm(&client, &transaction).await?;
                println!("encryption key published at height {height}");
                Ok::<_, anyhow::Error>(())
            })?;
        }
    }
    Ok(())
}

/// A public key given on the command line: 64 hex digits, or a file holding a PKCS#8 private
/// key, an SPKI public key PEM, or the hex.
pub fn public_key_arg(argument: &std::path::Path) -> Result<epichain_core::PublicKey> {
    if let Some(key) = argument
        .to_str()
        .and_then(|text| epichain_core::PublicKey::from_hex(text).ok())
    {
        return Ok(key);
    }
    Ok(epichain_core::keys::read_public_key_file(argument)?)
}
