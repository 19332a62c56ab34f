//! `epichain keys`.

use anyhow::{Context, Result};
use clap::Subcommand;
use epichain_core::KeyPair;
use epichain_core::keys::{
    public_key_pem, random_secret, read_public_key_file, write_private_file,
};
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
    /// Generate a 32-byte pseudonymisation secret (hex, mode 0600) shared by reporting sites.
    Secret {
        /// Output file; must not exist.
        #[arg(long)]
        out: PathBuf,
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
        KeysCommand::Secret { out } => {
            let secret = random_secret()?;
            write_private_file(&out, format!("{}\n", hex::encode(secret)).as_bytes())?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

/// Reads a 32-byte hex secret file.
pub fn read_secret(path: &PathBuf) -> Result<[u8; 32]> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    epichain_core::encoding::parse_hex_array(text.trim())
        .with_context(|| format!("{}: expected 64 hex digits", path.display()))
}
