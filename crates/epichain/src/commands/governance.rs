//! `epichain governance list|propose|approve|submit`: changes to the chain's configuration,
//! revocations of top-level keys and disclosure grants, approved by the approver institutions.
//!
//! Approvals are collected in a proposal file, so each approver can sign on its own machine
//! (offline if it wants): `propose` writes the file with the next sequence number from a node,
//! `approve` adds the approver's signature, `submit` sends it once enough institutions approved.
//! Threshold, approver and root changes then wait out the timelock; `list` shows them.

use super::network::{runtime, submit_and_confirm};
use anyhow::{Context, Result, bail};
use epichain::demo::format_time;
use epichain_core::{Approval, GovernanceAction, GovernanceProposal, Hash, KeyPair};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum GovernanceCommand {
    /// Show the approver institutions, the threshold, the next sequence number and the approved
    /// proposals waiting out their timelock.
    List {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
    },
    /// Write a proposal file for ACTIONS (a JSON array of actions, e.g.
    /// `[{"kind": "revoke-key", "value": {"key": "…", "reason": "key-compromise"}}]`) with the
    /// next sequence number.
    Propose {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// The actions (JSON array).
        #[arg(long)]
        actions: PathBuf,
        /// The proposal file to write; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add your approval to a proposal file (your key must be an approving key of an approver
    /// institution).
    Approve {
        /// Your key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// The proposal file (rewritten with the approval added).
        proposal: PathBuf,
    },
    /// Submit an approved proposal (signed with a national authority's key) and wait for it.
    Submit {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// The submitting national authority's key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// The proposal file.
        proposal: PathBuf,
    },
}

/// A proposal with the approvals collected so far.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposalFile {
    /// The chain the approvals are for.
    chain_id: Hash,
    proposal: GovernanceProposal,
    approvals: Vec<Approval>,
}

pub fn run(command: GovernanceCommand) -> Result<()> {
    match command {
        GovernanceCommand::List { node } => list(&node),
        GovernanceCommand::Propose { node, actions, out } => propose(&node, &actions, &out),
        GovernanceCommand::Approve { key, proposal } => approve(&key, &proposal),
        GovernanceCommand::Submit {
            node,
            key,
            proposal,
        } => submit(&node, &key, &proposal),
    }
}

fn list(node: &str) -> Result<()> {
    let view = runtime()?.block_on(super::client_for(node, None)?.governance())?;
    println!(
        "next proposal: {}; approvals needed: {} of {} institutions",
        view.sequence + 1,
        view.approval_threshold,
        view.approvers.len()
    );
    for approver in &view.approvers {
        let keys: Vec<String> = approver.keys.iter().map(ToString::to_string).collect();
        println!("  {}: {}", approver.institution, keys.join(", "));
    }
    if view.pending.is_empty() {
        println!("no proposal waits out its timelock");
    }
    for pending in &view.pending {
        println!(
            "pending {}: approved at height {}, applies from {}",
            pending.sequence,
            pending.approved_height,
            format_time(pending.due_time_ms)
        );
        for action in &pending.actions {
            println!("  {}", serde_json::to_string(action)?);
        }
    }
    Ok(())
}

fn propose(node: &str, actions: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        bail!("{} exists; refusing to overwrite", out.display());
    }
    let text = std::fs::read_to_string(actions)
        .with_context(|| format!("reading {}", actions.display()))?;
    let actions: Vec<GovernanceAction> =
        serde_json::from_str(&text).with_context(|| format!("{}", actions.display()))?;
    if actions.is_empty() {
        bail!("a proposal needs at least one action");
    }
    let client = super::client_for(node, None)?;
    let runtime = runtime()?;
    let chain_id = runtime.block_on(client.status())?.chain_id;
    let sequence = runtime.block_on(client.governance())?.sequence + 1;
    let file = ProposalFile {
        chain_id,
        proposal: GovernanceProposal { sequence, actions },
        approvals: Vec::new(),
    };
    write_proposal(out, &file)?;
    println!("proposal {sequence} → {}", out.display());
    Ok(())
}

fn approve(key: &Path, path: &Path) -> Result<()> {
    let key = KeyPair::read_pem_file(key)?;
    let mut file = read_proposal(path)?;
    if file
        .approvals
        .iter()
        .any(|approval| approval.approver == key.public_key())
    {
        bail!("{} already carries this key's approval", path.display());
    }
    let approval = file.proposal.approve(&file.chain_id, &key);
    file.approvals.push(approval);
    write_proposal(path, &file)?;
    println!(
        "proposal {}: {} approvals",
        file.proposal.sequence,
        file.approvals.len()
    );
    Ok(())
}

fn submit(node: &str, key: &Path, path: &Path) -> Result<()> {
    let key = KeyPair::read_pem_file(key)?;
    let file = read_proposal(path)?;
    let client = super::client_for(node, None)?;
    let runtime = runtime()?;
    let mut signer = runtime.block_on(client.signer(key))?;
    if signer.chain_id() != file.chain_id {
        bail!(
            "{} is for chain {}, not this node's",
            path.display(),
            file.chain_id
        );
    }
    let sequence = file.proposal.sequence;
    let transaction = signer.govern(file.proposal, file.approvals);
    let height = runtime.block_on(submit_and_confirm(&client, &transaction))?;
    let view = runtime.block_on(client.governance())?;
    match view
        .pending
        .iter()
        .find(|pending| pending.sequence == sequence)
    {
        Some(pending) => println!(
            "proposal {sequence} approved at height {height}; applies from {} (timelock)",
            format_time(pending.due_time_ms)
        ),
        None => println!("proposal {sequence} applied at height {height}"),
    }
    Ok(())
}

fn read_proposal(path: &Path) -> Result<ProposalFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}", path.display()))
}

/// Writes the file whole or not at all (a temporary file renamed over it).
fn write_proposal(path: &Path, file: &ProposalFile) -> Result<()> {
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, serde_json::to_string_pretty(file)?)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}
