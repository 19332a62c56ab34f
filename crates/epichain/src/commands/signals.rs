//! `epichain signals list|show|act`: early-warning signals on a running network.

use anyhow::{Context, Result, bail};
use epichain::client::Client;
use epichain::table::Table;
use epichain_core::warning::{SignalAction, SignalOutcome, Step};
use epichain_core::{Hash, KeyPair, Payload, RegionCode};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum SignalsCommand {
    /// List signals, newest first.
    List {
        /// Node API URL.
        #[arg(long, default_value = "http://127.0.0.1:18000")]
        node: String,
        /// Only this region and below (an authority's jurisdiction).
        #[arg(long)]
        region: Option<RegionCode>,
        /// Show the jurisdiction of this authority's key (its home region and below).
        #[arg(long, conflicts_with = "region")]
        as_key: Option<PathBuf>,
        /// Only this disease.
        #[arg(long)]
        disease: Option<String>,
        /// open, confirmed-outbreak or dismissed.
        #[arg(long)]
        status: Option<String>,
        /// Most rows.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one signal with its cases and workflow steps (JSON).
    Show {
        /// Node API URL.
        #[arg(long, default_value = "http://127.0.0.1:18000")]
        node: String,
        /// Signal id.
        id: Hash,
    },
    /// Take a workflow step on a signal (signed with your key) and wait for it to be final.
    Act {
        /// Node API URL.
        #[arg(long, default_value = "http://127.0.0.1:18000")]
        node: String,
        /// Your key (PKCS#8 PEM): a CDC for verify, consultations and final confirmation; a
        /// laboratory for pathogen analysis.
        #[arg(long)]
        key: PathBuf,
        /// Signal id.
        #[arg(long)]
        signal: Hash,
        /// verify, regional-consultation, pathogen-analysis, expert-consultation or
        /// final-confirmation.
        #[arg(long)]
        step: Step,
        /// For final-confirmation: confirmed-outbreak or dismissed.
        #[arg(long)]
        outcome: Option<SignalOutcome>,
        /// A public note (no personal data).
        #[arg(long, default_value = "")]
        note: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[allow(clippy::too_many_lines)] // Three subcommands; one function each with the typed API client (issue 12).
pub fn run(command: SignalsCommand) -> Result<()> {
    let runtime = runtime()?;
    match command {
        SignalsCommand::List {
            node,
            region,
            as_key,
            disease,
            status,
            limit,
        } => runtime.block_on(async {
            let client = Client::new(&node);
            let region = match as_key {
                Some(path) => {
                    let key = KeyPair::read_pem_file(&path)?;
                    let identity = client
                        .identity(&key.public_key())
                        .await?
                        .context("this key is not enrolled")?;
                    Some(
                        identity["region"]
                            .as_str()
                            .unwrap_or("000000")
                            .parse::<RegionCode>()?,
                    )
                }
                None => region,
            };
            let mut query = vec![format!("limit={limit}")];
            if let Some(region) = region {
                query.push(format!("region={region}"));
            }
            if let Some(disease) = disease {
                query.push(format!("disease={disease}"));
            }
            if let Some(status) = status {
                query.push(format!("status={status}"));
            }
            let signals = client.signals(&query.join("&")).await?;
            let mut table = Table::new(&[
                "opened (CST)",
                "disease",
                "region",
                "method",
                "statistic",
                "threshold",
                "cases",
                "steps",
                "status",
                "id",
            ]);
            for signal in signals.as_array().into_iter().flatten() {
                let steps: Vec<&str> = signal["steps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|step| step["step"].as_str())
                    .collect();
                table.row(vec![
                    epichain::demo::format_time(signal["opened_time_ms"].as_u64().unwrap_or(0)),
                    signal["disease"].as_str().unwrap_or("").to_string(),
                    signal["region"].as_str().unwrap_or("").to_string(),
                    signal["method"].as_str().unwrap_or("").to_string(),
                    format!("{}", signal["statistic"].as_f64().unwrap_or(f64::NAN)),
                    format!("{:.2}", signal["threshold"].as_f64().unwrap_or(f64::NAN)),
                    signal["cases"].as_array().map_or(0, Vec::len).to_string(),
                    steps.join(","),
                    signal["status"].as_str().unwrap_or("").to_string(),
                    signal["id"].as_str().unwrap_or("").to_string(),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }),
        SignalsCommand::Show { node, id } => runtime.block_on(async {
            let signal = Client::new(&node).signal(&id).await?;
            println!("{}", serde_json::to_string_pretty(&signal)?);
            Ok(())
        }),
        SignalsCommand::Act {
            node,
            key,
            signal,
            step,
            outcome,
            note,
        } => runtime.block_on(async {
            if (step == Step::FinalConfirmation) != outcome.is_some() {
                bail!("--outcome goes with final-confirmation, and only with it");
            }
            let client = Client::new(&node);
            let mut signer = client.signer(KeyPair::read_pem_file(&key)?).await?;
            let transaction = signer.sign(Payload::SignalAction(SignalAction {
                signal,
                step,
                outcome,
                note,
            }));
            client.submit(&transaction).await?;
            let status = client
                .wait_finalized(&transaction.id(), Duration::from_secs(30))
                .await?;
            match (
                status["status"].as_str(),
                status["outcome"]["status"].as_str(),
            ) {
                (Some("finalized"), Some("applied")) => {
                    println!("{step} recorded at height {}", status["height"]);
                    Ok(())
                }
                (Some("finalized"), _) => bail!(
                    "{step} rejected ({}): {}",
                    status["outcome"]["code"].as_str().unwrap_or("?"),
                    status["outcome"]["message"].as_str().unwrap_or("")
                ),
                _ => bail!("not finalized within 30 s"),
            }
        }),
    }
}
