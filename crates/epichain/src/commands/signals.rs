//! `epichain signals list|show|act`: early-warning signals on a running network.

use anyhow::{Context, Result, bail};
use epichain::table::{Format, Table};
use epichain_client::api::signals::SignalQuery;
use epichain_core::warning::{SignalAction, SignalOutcome, Step, StepFinding};
use epichain_core::{Hash, KeyPair, Payload, RegionCode};
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum SignalsCommand {
    /// List signals, newest first.
    List {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
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
        /// table, or csv (RFC 4180, for spreadsheets and data frames).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one signal with its cases and workflow steps (JSON).
    Show {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// Signal id.
        id: Hash,
    },
    /// Take a workflow step on a signal (signed with your key) and wait for it to be final.
    Act {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
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
        /// What the step found: not-recorded, cluster-confirmed, no-cluster-found,
        /// reporting-artefact, expected-seasonal-rise, laboratory-confirmed, imported-cases or
        /// under-investigation.
        #[arg(long, default_value = "not-recorded")]
        finding: StepFinding,
        /// The step's words: sealed on this machine to the CDCs over the signal's region (and
        /// to you, with --encryption-key), never in clear on chain.
        #[arg(long)]
        note: Option<String>,
        /// Your encryption key file, to keep reading your own note.
        #[arg(long, requires = "note")]
        encryption_key: Option<PathBuf>,
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
            format,
        } => runtime.block_on(async {
            let client = super::client_for(&node, None)?;
            let region = match as_key {
                Some(path) => {
                    let key = KeyPair::read_pem_file(&path)?;
                    let identity = client
                        .identity(&key.public_key())
                        .await?
                        .context("this key is not enrolled")?;
                    Some(identity.region)
                }
                None => region,
            };
            let query = SignalQuery {
                region: region.map(|region| region.to_string()),
                disease: disease.map(|disease| disease.to_string()),
                status: status
                    .map(|status| status.parse())
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                limit: Some(limit),
                ..SignalQuery::default()
            };
            let signals = client.signals(&query).await?;
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
            for signal in &signals {
                let steps: Vec<String> = signal
                    .steps
                    .iter()
                    .map(|taken| taken.step.to_string())
                    .collect();
                table.row(vec![
                    epichain::demo::format_time(signal.opened_time_ms),
                    signal.disease.to_string(),
                    signal.region.to_string(),
                    signal.method.clone(),
                    signal
                        .statistic
                        .map_or_else(|| withheld(format).to_string(), |value| value.to_string()),
                    format!("{:.2}", signal.threshold),
                    signal.cases.len().to_string(),
                    steps.join(","),
                    signal.status.to_string(),
                    signal.id.to_hex(),
                ]);
            }
            print!("{}", table.render_as(format));
            Ok(())
        }),
        SignalsCommand::Show { node, id } => runtime.block_on(async {
            let signal = super::client_for(&node, None)?.signal(&id).await?;
            println!("{}", serde_json::to_string_pretty(&signal)?);
            Ok(())
        }),
        SignalsCommand::Act {
            node,
            key,
            signal,
            step,
            outcome,
            finding,
            note,
            encryption_key,
        } => runtime.block_on(async {
            if (step == Step::FinalConfirmation) != outcome.is_some() {
                bail!("--outcome goes with final-confirmation, and only with it");
            }
            let client = super::client_for(&node, None)?;
            let mut signer = client.signer(KeyPair::read_pem_file(&key)?).await?;
            let sealed_note = match note {
                Some(text) => {
                    let region = client.signal(&signal).await?.signal.region;
                    let mine: Vec<_> = encryption_key
                        .map(|path| epichain_core::sealed::EncryptionKeyPair::read_file(&path))
                        .transpose()?
                        .map(|pair| (signer.public_key(), pair.public()))
                        .into_iter()
                        .collect();
                    epichain_client::seal::seal_note(
                        &client,
                        signer.chain_id(),
                        &signal,
                        step as u32,
                        region,
                        &text,
                        &mine,
                    )
                    .await?
                }
                None => Vec::new(),
            };
            let transaction = signer.sign(Payload::SignalAction(SignalAction {
                signal,
                step,
                outcome,
                finding,
                sealed_note,
            }));
            let height = super::network::submit_and_confirm(&client, &transaction).await?;
            println!("{step} recorded at height {height}");
            Ok(())
        }),
    }
}

/// A missing or withheld figure: blank in CSV (a missing value to a data frame), a dash on a
/// terminal.
fn withheld(format: Format) -> &'static str {
    match format {
        Format::Csv => "",
        Format::Table => "—",
    }
}

/// What `epichain counts` asks for.
#[derive(Debug, clap::Args)]
pub struct CountsArgs {
    /// Node API URL.
    #[arg(long, default_value = "https://127.0.0.1:18000")]
    node: String,
    /// Read as this enrolled key (PKCS#8 PEM): within its jurisdiction, counts by status and
    /// no small-cell suppression.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Disease code (e.g. DENGUE).
    #[arg(long)]
    disease: String,
    /// Region at any level (000000 is national).
    #[arg(long)]
    region: RegionCode,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    from: epichain_core::Day,
    /// Last day, YYYY-MM-DD.
    #[arg(long)]
    to: epichain_core::Day,
    /// Count by onset day instead of report day.
    #[arg(long)]
    onset: bool,
    /// table, or csv (RFC 4180, for spreadsheets and data frames).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// `epichain counts`: a day-by-day count series (epidemic curve) of one disease in one region.
pub fn counts(args: CountsArgs) -> Result<()> {
    use epichain_client::api::signals::{CountBasis, CountQuery};
    let client = super::client_for(&args.node, None)?;
    let query = CountQuery {
        disease: args.disease.clone(),
        region: args.region.to_string(),
        basis: Some(if args.onset {
            CountBasis::Onset
        } else {
            CountBasis::Report
        }),
        from: args.from.to_string(),
        to: args.to.to_string(),
    };
    let points = runtime()?.block_on(async {
        let client = match &args.key {
            Some(path) => client.signed_by(KeyPair::read_pem_file(path)?).await?,
            None => client,
        };
        anyhow::Ok(client.counts(&query).await?)
    })?;
    let cell = |value: Option<u32>| {
        value.map_or_else(|| withheld(args.format).to_string(), |n| n.to_string())
    };
    let mut table = Table::new(&[
        "day",
        "suspected",
        "clinical",
        "confirmed",
        "total",
        "suppressed_regions",
    ]);
    for point in points {
        table.row(vec![
            point.day.to_string(),
            cell(point.suspected),
            cell(point.clinical),
            cell(point.confirmed),
            cell(point.total),
            point.suppressed_regions.to_string(),
        ]);
    }
    print!("{}", table.render_as(args.format));
    Ok(())
}
