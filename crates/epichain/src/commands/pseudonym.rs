//! `epichain pseudonym`: the CDC's side (a seed, the scope's published key, the evaluator that
//! answers the scope's queue) and the reporting site's (pseudonyms of identity numbers, asked of
//! the CDC through the chain). Review H4: no reporting site holds a key that computes
//! pseudonyms.

use super::network::runtime;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use epichain_client::Client;
use epichain_client::pseudonym::{Evaluator, obtain};
use epichain_core::keys::{random_secret, write_private_file};
use epichain_core::pseudonym::{PseudonymPurpose, PseudonymScope, PseudonymSecret};
use epichain_core::{Hash, KeyPair, RegionCode, Signer};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum PseudonymCommand {
    /// CDC: generate a pseudonymisation seed (hex, mode 0600). Keep it at the CDC only: every
    /// scope key derives from it.
    Seed {
        /// Output file; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// CDC: publish the scope's key, then answer its requests until stopped.
    Serve {
        /// Node API URL.
        #[arg(long)]
        node: String,
        /// The CDC's signing key (an authority of exactly the scope's region).
        #[arg(long)]
        key: PathBuf,
        /// The CDC's seed file.
        #[arg(long)]
        seed: PathBuf,
        /// The scope's region (default: the CDC's own).
        #[arg(long)]
        region: Option<RegionCode>,
        /// case-reporting (default) or contact-tracing.
        #[arg(long, default_value = "case-reporting")]
        purpose: PseudonymPurpose,
    },
    /// Reporting site: the pseudonyms of identity document numbers in the scope covering
    /// `--region`, asked of its CDC through the chain (each request is audited and counted
    /// against the institution's daily quota). Prints one pseudonym per number.
    Get {
        /// Node API URL.
        #[arg(long)]
        node: String,
        /// Signing key of an enrolled doctor, hospital or laboratory.
        #[arg(long)]
        key: PathBuf,
        /// The region (default: the signer's own).
        #[arg(long)]
        region: Option<RegionCode>,
        /// case-reporting (default) or contact-tracing.
        #[arg(long, default_value = "case-reporting")]
        purpose: PseudonymPurpose,
        /// Identity document numbers.
        #[arg(long = "national-id", required = true)]
        national_ids: Vec<String>,
    },
}

pub fn run(command: PseudonymCommand) -> Result<()> {
    match command {
        PseudonymCommand::Seed { out } => {
            let seed = random_secret()?;
            write_private_file(&out, format!("{}\n", hex::encode(seed)).as_bytes())?;
            println!("wrote {}", out.display());
            Ok(())
        }
        PseudonymCommand::Serve {
            node,
            key,
            seed,
            region,
            purpose,
        } => serve(&node, &key, &seed, region, purpose),
        PseudonymCommand::Get {
            node,
            key,
            region,
            purpose,
            national_ids,
        } => {
            let runtime = runtime()?;
            let client = super::client_for(&node, None)?;
            let mut signer = runtime.block_on(client.signer(KeyPair::read_pem_file(&key)?))?;
            let region = region_or_own(&runtime, &client, &signer, region)?;
            let numbers: Vec<&str> = national_ids.iter().map(String::as_str).collect();
            let pseudonyms =
                runtime.block_on(obtain(&client, &mut signer, region, purpose, &numbers))?;
            for pseudonym in pseudonyms {
                println!("{pseudonym}");
            }
            Ok(())
        }
    }
}

/// `region`, or the signer's own as the chain knows it.
fn region_or_own(
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    signer: &Signer,
    region: Option<RegionCode>,
) -> Result<RegionCode> {
    if let Some(region) = region {
        return Ok(region);
    }
    let identity = runtime
        .block_on(client.own_identity(signer.key(), signer.chain_id()))?
        .context("the key is not enrolled")?;
    Ok(identity.region)
}

fn serve(
    node: &str,
    key: &Path,
    seed: &Path,
    region: Option<RegionCode>,
    purpose: PseudonymPurpose,
) -> Result<()> {
    let secret = PseudonymSecret::from_bytes(epichain_core::keys::read_secret_file(seed)?);
    let runtime = runtime()?;
    let client = super::client_for(node, None)?;
    let signer = runtime.block_on(client.signer(KeyPair::read_pem_file(key)?))?;
    let region = region_or_own(&runtime, &client, &signer, region)?;
    let scope = PseudonymScope { region, purpose };
    let mut evaluator = Evaluator::new(secret, scope, signer);
    runtime.block_on(async {
        evaluator.publish(&client).await?;
        println!("serving pseudonyms of {region} for {purpose}; Ctrl-C stops");
        evaluator
            .run(&client, |error| eprintln!("pseudonym service: {error}"))
            .await;
        Ok::<_, anyhow::Error>(())
    })
}

/// One pseudonym for `epichain report --national-id`.
pub(super) fn obtain_one(
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    signer: &mut Signer,
    region: RegionCode,
    number: &str,
) -> Result<Hash> {
    let pseudonyms = runtime.block_on(obtain(
        client,
        signer,
        region,
        PseudonymPurpose::CaseReporting,
        &[number],
    ))?;
    match pseudonyms.first() {
        Some(pseudonym) => Ok(*pseudonym),
        None => bail!("the CDC answered no pseudonym"),
    }
}
