//! `epichain proof` fetches a record's proof bundle from a node; `epichain verify` checks one
//! offline against a genesis file and prints the record's history.

use super::ca::read_genesis;
use anyhow::{Context as _, Result};
use epichain_core::KeyPair;
use epichain_verify::bundle::{ProofBundle, RecordRef};
use std::path::Path;

/// A bundle that failed verification: `epichain verify` exits 1 with the failed check.
#[derive(Debug, thiserror::Error)]
#[error("INVALID: {0}")]
pub struct Invalid(pub epichain_verify::VerifyError);

/// A store that failed its audit: `epichain node verify-store` exits 1 with the first fault.
#[derive(Debug, thiserror::Error)]
#[error("INCONSISTENT: {0}")]
pub struct Inconsistent(pub epichain_ledger::audit::StoreFault);

/// Fetches the bundle of `kind`/`id` from `node` (signing the request with `key` if given) and
/// writes it to `out`.
pub fn fetch(node: &str, key: Option<&Path>, kind: &str, id: &str, out: &Path) -> Result<()> {
    let record = RecordRef::parse(kind, id).map_err(anyhow::Error::msg)?;
    let signing = key.map(KeyPair::read_pem_file).transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = super::client_for(node, None)?;
    let bytes = runtime.block_on(async {
        let client = match signing {
            Some(key) => client.signed_by(key).await?,
            None => client,
        };
        client.proof_bundle(&record).await
    })?;
    let bundle = ProofBundle::from_bytes(&bytes).context("the node's answer")?;
    std::fs::write(out, &bytes).with_context(|| format!("{}", out.display()))?;
    println!(
        "{} {}: {} bytes, checkpoint height {}, {} versions → {}",
        record.kind(),
        record.id_hex(),
        bytes.len(),
        bundle.checkpoint.header.height,
        bundle.versions.len(),
        out.display()
    );
    Ok(())
}

/// Verifies `bundle` against the genesis at `genesis`; prints the history and `VALID`, or the
/// JSON view with `json`.
pub fn verify(genesis: &Path, bundle: &Path, json: bool) -> Result<()> {
    let genesis = read_genesis(genesis)?;
    let bytes = std::fs::read(bundle).with_context(|| format!("{}", bundle.display()))?;
    let (bundle, verified) = epichain_verify::verify_bytes(&genesis, &bytes).map_err(Invalid)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&bundle.to_json())?);
    } else {
        for line in epichain_verify::history_lines(&bundle, &verified) {
            println!("{line}");
        }
    }
    println!("VALID");
    Ok(())
}

/// Re-checks the store in the data directory `data` (`epichain node verify-store`).
pub fn verify_store(data: &Path) -> Result<()> {
    let path = data.join("ledger.redb");
    let mut last_printed = std::time::Instant::now();
    let outcome = epichain_ledger::audit::verify_store(&path, |height| {
        if last_printed.elapsed() >= std::time::Duration::from_secs(5) {
            eprintln!("… block {height}");
            last_printed = std::time::Instant::now();
        }
    });
    let summary = match outcome {
        Ok(summary) => summary,
        Err(epichain_ledger::audit::AuditError::Fault(fault)) => {
            return Err(Inconsistent(fault).into());
        }
        Err(epichain_ledger::audit::AuditError::Ledger(error)) => return Err(error.into()),
    };
    println!(
        "{}: {} blocks, {} transactions, {} certificates, {} state entries, {} case histories",
        path.display(),
        summary.blocks,
        summary.transactions,
        summary.certificates,
        summary.state_entries,
        summary.cases
    );
    println!("CONSISTENT");
    Ok(())
}
