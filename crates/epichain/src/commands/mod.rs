//! Command-line definitions and dispatch.

mod ca;
mod case;
mod genesis;
mod governance;
mod grants;
mod keys;
mod local;
mod network;
mod proof;
mod pseudonym;
mod signals;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// epichain: a permissioned blockchain for infectious-disease surveillance.
#[derive(Debug, Parser)]
#[command(name = "epichain", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate and inspect Ed25519 keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Run a certificate authority: create the national root, issue certificates.
    #[command(subcommand)]
    Ca(ca::CaCommand),
    /// Create a genesis file.
    #[command(subcommand)]
    Genesis(genesis::GenesisCommand),
    /// Work with a ledger on this machine: enrol, report, update, revoke, inspect.
    #[command(subcommand)]
    Ledger(local::LedgerCommand),
    /// Build a small four-level world, apply it as blocks and show what the ledger holds.
    Demo {
        /// Directory for keys, certificates, genesis and the ledger (default: a new temporary one).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run an aberration-detection method over count series in a CSV file.
    Detect {
        /// fixed, mpm, ears-c1, ears-c2, ears-c3, farrington, farrington-flexible, cusum, glrnb.
        #[arg(long)]
        method: String,
        /// A parameter with its R name, e.g. --param b=3 --param alpha=0.01 (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        parameters: Vec<String>,
        /// Observations per year: 52 (weekly) or 365 (daily).
        #[arg(long)]
        freq: u32,
        /// CSV with at least series_id,t,observed.
        #[arg(long)]
        input: PathBuf,
        /// Output CSV (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Run a node (validator or replica) from its configuration file, or check a node's store.
    #[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
    Node {
        /// Node configuration (TOML).
        #[arg(long, required = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: Option<NodeCommand>,
    },
    /// Start a local network: 4 validators and 3 replicas as processes, the demo world, a stream
    /// of case reports. Ctrl-C stops everything; rerunning resumes from disk.
    Devnet {
        /// Directory for genesis, keys, configs, data and logs (default: ./devnet).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// First HTTP port (validators use it and the next 3, replicas the 3 after; p2p is 1000
        /// higher).
        #[arg(long)]
        base_port: Option<u16>,
        /// Inject an outbreak (a dengue burst and a cholera case) after enrolment, so signals
        /// appear at once.
        #[arg(long)]
        outbreak: bool,
    },
    /// Submit a signed transaction (hex file, e.g. from --save-tx) to a node and wait for it.
    Submit {
        /// Node API URL.
        #[arg(long)]
        node: String,
        /// File with the transaction in hex.
        transaction: PathBuf,
    },
    /// Build, sign and submit a case report to a node, and wait for finality.
    Report {
        /// Node API URL.
        #[arg(long)]
        node: String,
        /// Signing key (PKCS#8 PEM) of an enrolled doctor or hospital.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        report: local::ReportArgs,
        /// Identifying and clinical details (JSON: name, national_id, phone, address,
        /// occupation, symptoms, lab_results, free_text, fhir), sealed to the district
        /// authorities' encryption keys before sending.
        #[arg(long)]
        details: Option<PathBuf>,
        /// Your encryption key, to stay a reader of what you sealed.
        #[arg(long)]
        encryption_key: Option<PathBuf>,
        /// Check the node's answers (readers' keys, the escrow key, ciphertext, receipts)
        /// against proofs verified with this genesis file: recommended with a node you do not run.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Enrol a key on a running network with its certificate chain (signed by that key: proof
    /// of possession), and wait for finality.
    Enroll {
        /// Node API URL.
        #[arg(long)]
        node: String,
        /// Signing key (PKCS#8 PEM) to enrol.
        #[arg(long)]
        key: PathBuf,
        /// Certificate bundle from `ca issue` (leaf first, then intermediates).
        #[arg(long)]
        cert: PathBuf,
    },
    /// Revoke a key on a running network (your own, or as an authority one below you), and
    /// wait for finality.
    Revoke {
        /// Node API URL.
        #[arg(long)]
        node: String,
        /// Signing key (PKCS#8 PEM) of the revoker.
        #[arg(long)]
        key: PathBuf,
        /// Key to revoke (file or hex).
        #[arg(long)]
        target: PathBuf,
        /// key-compromise, ca-compromise, affiliation-changed, superseded,
        /// cessation-of-operation or unspecified.
        #[arg(long, default_value = "unspecified")]
        reason: epichain_core::RevocationReason,
    },
    /// Case records on a network: public metadata, and sealed details for their readers.
    #[command(subcommand)]
    Case(case::CaseCommand),
    /// Early-warning signals: list, show, act on them.
    #[command(subcommand)]
    Signals(signals::SignalsCommand),
    /// Disclosure grants: which records a confirmed outbreak or governance opened, to whom.
    #[command(subcommand)]
    Grants(grants::GrantsCommand),
    /// A day-by-day count series (epidemic curve) of a disease in a region, as a table or CSV.
    Counts(signals::CountsArgs),
    /// Governance: approvers, proposals, approvals and the timelock.
    #[command(subcommand)]
    Governance(governance::GovernanceCommand),
    /// Patient pseudonyms: the CDC's seed and evaluator, a reporting site's requests.
    #[command(subcommand)]
    Pseudonym(pseudonym::PseudonymCommand),
    /// Fetch a record's proof bundle from a node (signing the request with --key where the
    /// record's reads need it) and write it to a file for `epichain verify`.
    Proof {
        /// Node API URL.
        #[arg(long)]
        node: String,
        /// Signing key (PKCS#8 PEM) of an identity allowed to read the record.
        #[arg(long)]
        key: Option<PathBuf>,
        /// case, signal, grant, identity, transaction (an access log is one), receipt (a
        /// transaction's, without its body) or escrow (id `key`).
        kind: String,
        /// The record's id (an identity's key), hex.
        id: String,
        /// Where to write the bundle.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a proof bundle offline with only the genesis file: the finality certificate
    /// against the genesis validators, the Merkle paths, the version chain and every signature.
    /// Prints the record's history and VALID (exit 0), or the check that failed (exit 1).
    Verify {
        /// The chain's genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// The bundle (from `epichain proof` or `GET /v1/proofs/{kind}/{id}`).
        bundle: PathBuf,
        /// Print the bundle's JSON view instead of the history.
        #[arg(long)]
        json: bool,
    },
    /// Show a node's status.
    Status {
        /// Node API URL.
        #[arg(long)]
        node: String,
    },
    /// Measure performance and print a table.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// Re-check a stopped node's whole store: every block against its parent and roots, every
    /// certificate against the genesis validators, the state tree at every height, the
    /// transaction index, every state value and case history. Prints CONSISTENT (exit 0) or
    /// the first inconsistency (exit 1).
    VerifyStore {
        /// The node's data directory (holding ledger.redb).
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Privacy: seal/open per second and the escrow's costs on one core (beside Ed25519
    /// verification), and on a running devnet the time from a confirmed outbreak to the first
    /// grantee decryption.
    Privacy {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// The devnet's directory.
        #[arg(long, default_value = "devnet")]
        devnet: PathBuf,
        /// Outbreaks to confirm on the devnet (0: local measurements only).
        #[arg(long, default_value_t = 5)]
        outbreaks: usize,
        /// Iterations of each local measurement.
        #[arg(long, default_value_t = 2_000)]
        iterations: usize,
    },
    /// Early warning: report → visible signal on a running devnet (p50/p99), and the time to
    /// evaluate a national-scale day on one core.
    Warning {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// The devnet's directory.
        #[arg(long, default_value = "devnet")]
        devnet: PathBuf,
        /// Triggering reports to time.
        #[arg(long, default_value_t = 200)]
        triggers: usize,
    },
    /// Finalized throughput and finalization latency of a running devnet, beside the Ed25519
    /// batch-verification bound measured in the same run.
    Network {
        /// Node API URL to submit to.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// The devnet's directory (its CAs certify the benchmark hospitals).
        #[arg(long, default_value = "devnet")]
        devnet: PathBuf,
        /// Reporting hospitals (client keys).
        #[arg(long, default_value_t = 64)]
        hospitals: usize,
        /// Reports in the full-load phase.
        #[arg(long, default_value_t = 20_000)]
        reports: usize,
        /// Concurrent submitters in the full-load phase.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Offered rate in the latency phase, reports per second.
        #[arg(long, default_value_t = 1_000)]
        rate: u32,
        /// Seconds of the latency phase.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Validators sharing this machine.
        #[arg(long, default_value_t = 4)]
        validators: usize,
    },
    /// Attacks on a running devnet from outside (fresh-key floods, slowloris, expensive queries,
    /// forged signatures, oversized bodies) while an honest hospital reports: prints whether its
    /// reports still finalize within 1 s (p99), whether every node kept answering, and whether
    /// any junk was stored.
    Hostile {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// The devnet's directory.
        #[arg(long, default_value = "devnet")]
        devnet: PathBuf,
        /// Seconds of honest reporting under attack.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Honest reports per second.
        #[arg(long, default_value_t = 100)]
        rate: u32,
        /// Fresh keys in the flood.
        #[arg(long, default_value_t = 1_000)]
        flood_keys: usize,
        /// Slowloris connections.
        #[arg(long, default_value_t = 500)]
        slowloris: usize,
        /// Concurrent loops of expensive queries.
        #[arg(long, default_value_t = 16)]
        query_loops: usize,
    },
    /// Jepsen-style: starts a fresh devnet in DIR, submits reports from concurrent clients to
    /// every node while validators are killed (SIGKILL) and restarted on a schedule, then checks
    /// that every acknowledged report is final exactly once on every node and that all nodes hold
    /// the same state.
    Crash {
        /// A new directory for the devnet (its logs stay there).
        #[arg(long, default_value = "crash-devnet")]
        dir: PathBuf,
        /// First HTTP port (p2p is 1000 higher).
        #[arg(long, default_value_t = 19_000)]
        base_port: u16,
        /// Seconds of load with crashes.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Seconds between kills.
        #[arg(long, default_value_t = 8)]
        kill_every: u64,
        /// Seconds a killed validator stays down.
        #[arg(long, default_value_t = 4)]
        down: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
    },
    /// Proof bundles of a case with 10 versions in a chain of a million transactions built here:
    /// generated per second by the node's store and verified per second on one core, beside
    /// Ed25519 verification measured in the same run.
    Proofs {
        /// Transactions in the chain.
        #[arg(long, default_value_t = 1_000_000)]
        transactions: usize,
        /// Versions of the proved case.
        #[arg(long, default_value_t = 10)]
        versions: u32,
        /// Bundles generated and verified per measurement.
        #[arg(long, default_value_t = 2_000)]
        iterations: usize,
    },
    /// Ledger apply + commit throughput against the Ed25519 batch-verification bound measured in
    /// the same run (one thread and pipelined), and catch-up replay.
    Ledger {
        /// Measured blocks.
        #[arg(long, default_value_t = 20)]
        blocks: usize,
        /// Transactions per block.
        #[arg(long, default_value_t = 1_000)]
        block_size: usize,
        /// Distinct reporting hospitals.
        #[arg(long, default_value_t = 64)]
        hospitals: usize,
        /// Also load the same reports into a local PostgreSQL (started and stopped here;
        /// Debian package `postgresql`) and print its rows/s beside epichain's.
        #[arg(long)]
        postgres: bool,
    },
}

/// The environment variable naming the genesis file when a command is given no `--genesis`.
pub const GENESIS_VARIABLE: &str = "EPICHAIN_GENESIS";

/// The environment variable that, set to `1`, allows plain HTTP to nodes on other machines.
pub const PLAIN_HTTP_VARIABLE: &str = "EPICHAIN_PLAIN_HTTP";

/// The environment variable pinning the key (hex) a node's TLS certificate must hold.
pub const TLS_PIN_VARIABLE: &str = "EPICHAIN_TLS_PIN";

/// The environment variable naming the directory where the newest verified checkpoint of each
/// chain is kept (default: `$XDG_STATE_HOME/epichain`, else `~/.local/state/epichain`).
pub const STATE_DIRECTORY_VARIABLE: &str = "EPICHAIN_STATE_DIR";

/// Where verifying commands keep each chain's newest verified checkpoint, if anywhere.
fn state_directory() -> Option<PathBuf> {
    let variable = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    variable(STATE_DIRECTORY_VARIABLE)
        .map(PathBuf::from)
        .or_else(|| variable("XDG_STATE_HOME").map(|state| PathBuf::from(state).join("epichain")))
        .or_else(|| variable("HOME").map(|home| PathBuf::from(home).join(".local/state/epichain")))
}

/// A client of `node`. With a genesis file (`genesis`, else `EPICHAIN_GENESIS`) it trusts only
/// TLS certificates under the chain's roots (and, with `EPICHAIN_TLS_PIN`, only the node holding
/// that key), checks answers against proofs and keeps the newest checkpoint it verified
/// ([`state_directory`]); without one it can reach only plain-HTTP nodes on this machine (or
/// others with `EPICHAIN_PLAIN_HTTP=1`).
fn client_for(node: &str, genesis: Option<&std::path::Path>) -> Result<epichain_client::Client> {
    let mut client = epichain_client::Client::new(node);
    if std::env::var_os(PLAIN_HTTP_VARIABLE).is_some_and(|value| value == "1") {
        client = client.allow_plain_http();
    }
    let genesis = genesis
        .map(std::path::Path::to_path_buf)
        .or_else(|| std::env::var_os(GENESIS_VARIABLE).map(PathBuf::from));
    let pin = match std::env::var(TLS_PIN_VARIABLE) {
        Ok(hex) => Some(epichain_core::PublicKey::from_hex(hex.trim()).context(TLS_PIN_VARIABLE)?),
        Err(_) => None,
    };
    match genesis {
        Some(path) => {
            let genesis = ca::read_genesis(&path)?;
            let mut trust = epichain_client::NodeTrust::from_genesis(&genesis);
            if let Some(pin) = pin {
                trust = trust.pinned(pin);
            }
            let client = client.trusting(trust).verifying(&genesis);
            // The newest checkpoint verified is kept across runs: a node cannot roll us back.
            match state_directory() {
                Some(directory) => {
                    std::fs::create_dir_all(&directory)
                        .with_context(|| directory.display().to_string())?;
                    let file = format!("{}.checkpoint", genesis.chain_id().to_hex());
                    Ok(client.remembering(&directory.join(file))?)
                }
                None => Ok(client),
            }
        }
        None if node.starts_with("https://") => anyhow::bail!(
            "{node} speaks HTTPS: give the chain's genesis file (--genesis FILE or \
             {GENESIS_VARIABLE}=FILE) so that its certificate can be checked"
        ),
        None => Ok(client),
    }
}

/// Exit code of a failure: 1 for the machine's (storage), a proof bundle or store that failed
/// verification, a node caught lying or holding a TLS certificate we refuse; 2 for bad input.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if is_failure_not_input(error) { 1 } else { 2 }
}

fn is_failure_not_input(error: &anyhow::Error) -> bool {
    use epichain_client::ClientError;
    let lie = |error: &ClientError| {
        matches!(
            error,
            ClientError::Lied { .. }
                | ClientError::Unproven { .. }
                | ClientError::RolledBack { .. }
                | ClientError::Untrusted { .. }
        )
    };
    error.chain().any(|cause| {
        cause.downcast_ref::<ClientError>().is_some_and(lie)
            || matches!(
                cause.downcast_ref::<epichain_client::seal::SealingError>(),
                Some(epichain_client::seal::SealingError::Client(error)) if lie(error)
            )
            || cause.downcast_ref::<proof::Invalid>().is_some()
            || matches!(
                cause.downcast_ref::<epichain_ledger::LedgerError>(),
                Some(epichain_ledger::LedgerError::Storage(_))
            )
            || cause
                .downcast_ref::<epichain_ledger::StorageError>()
                .is_some()
    })
}

/// Runs a parsed command.
#[allow(clippy::too_many_lines)] // The command dispatch: one arm per subcommand.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Keys(command) => keys::run(command),
        Command::Ca(command) => ca::run(command),
        Command::Genesis(command) => genesis::run(command),
        Command::Ledger(command) => local::run(command),
        Command::Demo { dir } => demo(dir),
        Command::Node {
            command: Some(NodeCommand::VerifyStore { data }),
            ..
        } => proof::verify_store(&data),
        Command::Node { config, .. } => match config {
            Some(config) => network::node(&config),
            None => anyhow::bail!("--config is required"),
        },
        Command::Devnet {
            dir,
            base_port,
            outbreak,
        } => network::devnet(dir, base_port, outbreak),
        Command::Proof {
            node,
            key,
            kind,
            id,
            out,
        } => proof::fetch(&node, key.as_deref(), &kind, &id, &out),
        Command::Verify {
            genesis,
            bundle,
            json,
        } => proof::verify(&genesis, &bundle, json),
        Command::Submit { node, transaction } => network::submit(&node, &transaction),
        Command::Report {
            node,
            key,
            report,
            details,
            encryption_key,
            genesis,
        } => network::report(
            &client_for(&node, genesis.as_deref())?,
            &key,
            &report,
            details.as_deref(),
            encryption_key.as_deref(),
        ),
        Command::Status { node } => network::status(&node),
        Command::Enroll { node, key, cert } => network::enroll(&node, &key, &cert),
        Command::Revoke {
            node,
            key,
            target,
            reason,
        } => network::revoke(&node, &key, &target, reason),
        Command::Signals(command) => signals::run(command),
        Command::Counts(args) => signals::counts(args),
        Command::Grants(command) => grants::run(command),
        Command::Governance(command) => governance::run(command),
        Command::Pseudonym(command) => pseudonym::run(command),
        Command::Case(command) => case::run(command),
        Command::Detect {
            method,
            parameters,
            freq,
            input,
            output,
        } => detect(&method, &parameters, freq, &input, output.as_deref()),
        Command::Bench(BenchCommand::Network {
            node,
            devnet,
            hospitals,
            reports,
            concurrency,
            rate,
            seconds,
            validators,
        }) => bench_network(epichain::bench::network::NetworkBenchConfig {
            node,
            devnet,
            hospitals,
            throughput_reports: reports,
            concurrency,
            latency_rate: rate,
            latency_seconds: seconds,
            validators_on_machine: validators,
        }),
        Command::Bench(BenchCommand::Warning {
            node,
            devnet,
            triggers,
        }) => bench_warning(&node, &devnet, triggers),
        Command::Bench(BenchCommand::Privacy {
            node,
            devnet,
            outbreaks,
            iterations,
        }) => bench_privacy(&node, &devnet, outbreaks, iterations),
        Command::Bench(BenchCommand::Hostile {
            node,
            devnet,
            seconds,
            rate,
            flood_keys,
            slowloris,
            query_loops,
        }) => bench_hostile(epichain::bench::hostile::HostileBenchConfig {
            node,
            devnet,
            seconds,
            honest_rate: rate,
            flood_keys,
            slowloris,
            query_loops,
        }),
        Command::Bench(BenchCommand::Crash {
            dir,
            base_port,
            seconds,
            kill_every,
            down,
            clients,
        }) => bench_crash(epichain::bench::crash::CrashBenchConfig {
            directory: dir,
            base_port,
            seconds,
            kill_every_seconds: kill_every,
            down_seconds: down,
            clients,
            executable: std::env::current_exe()?,
            now_ms: wall_clock_ms(),
        }),
        Command::Bench(BenchCommand::Proofs {
            transactions,
            versions,
            iterations,
        }) => bench_proofs(epichain::bench::proofs::ProofBenchConfig {
            transactions,
            versions,
            iterations,
            ..Default::default()
        }),
        Command::Bench(BenchCommand::Ledger {
            blocks,
            block_size,
            hospitals,
            postgres,
        }) => bench_ledger(epichain::bench::LedgerBenchConfig {
            blocks,
            block_size,
            hospitals,
            postgres,
        }),
    }
}

fn demo(dir: Option<PathBuf>) -> Result<()> {
    let (directory, _keep) = match dir {
        Some(directory) => (directory, None),
        None => {
            let temporary = tempfile::Builder::new()
                .prefix("epichain-demo-")
                .tempdir()?;
            (temporary.path().to_path_buf(), Some(temporary.keep()))
        }
    };
    std::fs::create_dir_all(&directory)?;
    let now_ms = wall_clock_ms();
    let mut stdout = std::io::stdout().lock();
    let summary = epichain::demo::run(&directory, now_ms, &mut stdout)?;
    println!(
        "\n{} cases reported, {} transactions rejected on purpose, {} blocks.",
        summary.cases, summary.rejected, summary.height
    );
    Ok(())
}

fn detect(
    method: &str,
    parameters: &[String],
    frequency: u32,
    input: &std::path::Path,
    output: Option<&std::path::Path>,
) -> Result<()> {
    use anyhow::Context;
    let parameters = epichain::detect_csv::parse_parameters(parameters)?;
    let file =
        std::fs::File::open(input).with_context(|| format!("reading {}", input.display()))?;
    // Compute into memory first, so a failure leaves no partial output file.
    let mut buffer = Vec::new();
    epichain::detect_csv::run(
        method,
        &parameters,
        frequency,
        std::io::BufReader::new(file),
        &mut buffer,
    )?;
    match output {
        Some(path) => {
            std::fs::write(path, buffer).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            use std::io::Write;
            match std::io::stdout().lock().write_all(&buffer) {
                // A closed pipe (`| head`) is the reader's choice, not a failure.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
                result => result?,
            }
        }
    }
    Ok(())
}

fn bench_network(config: epichain::bench::network::NetworkBenchConfig) -> Result<()> {
    println!(
        "epichain bench network: {} hospitals, {} reports at full load ({} concurrent), then {}/s for {} s, against {}",
        config.hospitals,
        config.throughput_reports,
        config.concurrency,
        config.latency_rate,
        config.latency_seconds,
        config.node
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(epichain::bench::network::run(config))
        .map_err(|message| anyhow::anyhow!(message))?;
    print!("{}", report.table().render());
    Ok(())
}

fn bench_crash(config: epichain::bench::crash::CrashBenchConfig) -> Result<()> {
    println!(
        "epichain bench crash: a devnet in {}, {} clients for {} s, a validator SIGKILLed every {} s and restarted after {} s",
        config.directory.display(),
        config.clients,
        config.seconds,
        config.kill_every_seconds,
        config.down_seconds
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(epichain::bench::crash::run(config))
        .map_err(|message| anyhow::anyhow!(message))?;
    print!("{}", report.table().render());
    Ok(())
}

fn bench_hostile(config: epichain::bench::hostile::HostileBenchConfig) -> Result<()> {
    println!(
        "epichain bench hostile: {} s of honest reports at {}/s against {} while {} fresh keys flood, {} slowloris connections hang, {} loops query, forged and oversized batches arrive",
        config.seconds,
        config.honest_rate,
        config.node,
        config.flood_keys,
        config.slowloris,
        config.query_loops
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(epichain::bench::hostile::run(config))
        .map_err(|message| anyhow::anyhow!(message))?;
    print!("{}", report.table().render());
    Ok(())
}

fn bench_privacy(
    node: &str,
    devnet: &std::path::Path,
    outbreaks: usize,
    iterations: usize,
) -> Result<()> {
    println!(
        "epichain bench privacy: {iterations} iterations per local measurement, {outbreaks} outbreaks on the devnet at {node}"
    );
    let mut report = epichain::bench::privacy::local(iterations).map_err(anyhow::Error::msg)?;
    if outbreaks > 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(epichain::bench::privacy::devnet_outbreaks(
                &mut report,
                node,
                devnet,
                outbreaks,
            ))
            .map_err(anyhow::Error::msg)?;
    }
    print!("{}", report.table().render());
    Ok(())
}

fn bench_warning(node: &str, devnet: &std::path::Path, triggers: usize) -> Result<()> {
    println!(
        "epichain bench warning: {triggers} triggering reports against {node}, then a national-scale day"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(epichain::bench::warning::run(node, devnet, triggers))
        .map_err(|message| anyhow::anyhow!(message))?;
    print!("{}", report.table().render());
    Ok(())
}

fn bench_proofs(config: epichain::bench::proofs::ProofBenchConfig) -> Result<()> {
    println!(
        "epichain bench proofs: a case with {} versions in a chain of {} transactions, {} bundles per measurement",
        config.versions, config.transactions, config.iterations
    );
    let report = epichain::bench::proofs::run(config)?;
    print!("{}", report.table().render());
    println!(
        "chain: {} transactions built in {:.0} s; bundle: {} bytes; full verification (every signature) {:.0}/s, {:.0}/s against a trusted checkpoint; with the quorum vouching for authors {:.0}/s and {:.0}/s (target ≥ 10,000/s)",
        report.chain_transactions,
        report.build_seconds,
        report.bundle_bytes,
        report.verified_per_second,
        report.verified_trusted_per_second,
        report.verified_quorum_per_second,
        report.verified_quorum_trusted_per_second
    );
    Ok(())
}

fn bench_ledger(config: epichain::bench::LedgerBenchConfig) -> Result<()> {
    println!(
        "epichain bench ledger: {} blocks of {} signed case reports from {} hospitals",
        config.blocks, config.block_size, config.hospitals
    );
    let report = epichain::bench::run_ledger(config)?;
    print!("{}", report.table().render());
    println!(
        "ledger apply + commit (pipelined, fsync every block) is {:.2}x the one-core batch-verification bound (target ≥ 0.5x); catch-up replay {:.0} tx/s (target ≥ 50,000)",
        report.ratio_to_batch_bound(),
        report.replay
    );
    match &report.postgres {
        Some(epichain::bench::postgres::PostgresOutcome::Measured {
            rows_per_second, ..
        }) => println!(
            "epichain ÷ PostgreSQL: {:.2}x (epichain also verifies every signature, keeps a Merkle state root, version chains and four-level counts)",
            report.pipelined / rows_per_second
        ),
        Some(epichain::bench::postgres::PostgresOutcome::Unavailable(reason)) => {
            println!("PostgreSQL: not measured: {reason}")
        }
        None => {}
    }
    Ok(())
}

/// The wall clock, read only at the command-line edge (never in the state machine).
#[allow(clippy::disallowed_methods)]
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|duration| duration.as_millis() as u64)
        .unwrap_or_default()
}
