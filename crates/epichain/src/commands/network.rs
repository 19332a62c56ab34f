//! Commands that talk to or run nodes: `node`, `devnet`, `submit`, `report`, `status`.

use super::local::ReportArgs;
use super::wall_clock_ms;
use anyhow::{Context, Result, bail};
use epichain::devnet::{self, DEFAULT_BASE_PORT, Devnet};
use epichain_client::api::signals::{SignalQuery, SignalStatus};
use epichain_client::{Client, ClientError, Finality};
use epichain_core::{Day, Hash, KeyPair, SignedTransaction};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

/// Reports submitted per devnet tick (background reporting).
const DEVNET_REPORTS_PER_TICK: usize = 1;

/// Dengue reports in the injected outbreak.
const OUTBREAK_DENGUE_CASES: usize = 40;
/// Interval between devnet report batches.
const DEVNET_TICK: Duration = Duration::from_secs(2);

pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Logs to stderr; `RUST_LOG` overrides the default level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Blocks behind the upstream before a replica shows a catch-up progress bar.
const PROGRESS_BAR_BLOCKS_BEHIND: u64 = 100;

/// `epichain node --config FILE`.
pub fn node(config: &Path) -> Result<()> {
    let config = epichain_node::NodeConfig::read(config)?;
    init_logging();
    tracing::info!(name = %config.name, role = ?config.role, "starting");
    let bar = indicatif::ProgressBar::hidden();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "catching up {bar:40} {pos}/{len} blocks ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = move |height: u64, target: u64| {
        if target.saturating_sub(height) > PROGRESS_BAR_BLOCKS_BEHIND && bar.is_hidden() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.set_length(target);
        bar.set_position(height);
        if height >= target && !bar.is_hidden() {
            bar.finish_with_message("caught up");
        }
    };
    epichain_node::run_with_progress(config, Box::new(progress))?;
    Ok(())
}

/// `epichain status --node URL`.
pub fn status(url: &str) -> Result<()> {
    let status = runtime()?.block_on(super::client_for(url, None)?.status())?;
    println!("{}", serde_json::to_string_pretty(&status)?);
    Ok(())
}

/// `epichain submit --node URL FILE`.
pub fn submit(url: &str, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{}: not hex", file.display()))?;
    let transaction = SignedTransaction::from_bytes(&bytes)
        .with_context(|| format!("{}: not a signed transaction", file.display()))?;
    submit_and_wait(&super::client_for(url, None)?, &transaction)
}

/// `epichain report --node URL --key FILE …`: builds, signs and submits a case report, sealing
/// its details to the district authorities (and the reporter) and to the escrow key when given.
pub fn report(
    client: &Client,
    key: &Path,
    report: &ReportArgs,
    details: Option<&Path>,
    encryption_key: Option<&Path>,
) -> Result<()> {
    let key = KeyPair::read_pem_file(key)?;
    let runtime = runtime()?;
    let mut signer = runtime.block_on(client.signer(key))?;
    let pseudonym = match &report.national_id {
        Some(number) => Some(super::pseudonym::obtain_one(
            &runtime,
            client,
            &mut signer,
            report.region(),
            number,
        )?),
        None => None,
    };
    let mut body = report.to_report(pseudonym)?;
    if let Some(path) = details {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let details = epichain_core::sealed::CaseDetails::from_bytes(&text)?;
        let mine = encryption_key
            .map(epichain_core::sealed::EncryptionKeyPair::read_file)
            .transpose()?
            .map(|pair| (signer.public_key(), pair.public()));
        let case = epichain_core::case::case_id(&signer.public_key(), signer.next_nonce());
        let mine: Vec<_> = mine.into_iter().collect();
        body.sealed = runtime.block_on(epichain_client::seal::seal_case_details(
            client,
            signer.chain_id(),
            &case,
            0,
            body.region,
            &details,
            &mine,
        ))?;
    }
    let (transaction, case_id) = signer.report(body);
    println!("case {case_id}");
    submit_and_wait(client, &transaction)
}

/// `epichain enroll`: the key's certificate chain, signed by the key, on the network.
pub(super) fn enroll(url: &str, key: &Path, cert: &Path) -> Result<()> {
    let key = KeyPair::read_pem_file(key)?;
    let mut chain = super::ca::read_certificates(cert)?;
    if chain.is_empty() {
        bail!("{}: no certificate", cert.display());
    }
    let certificate = chain.remove(0);
    sign_on_network(url, key, |signer| signer.enroll(certificate, chain))
}

/// `epichain revoke`: revokes `target` on the network.
pub(super) fn revoke(
    url: &str,
    key: &Path,
    target: &Path,
    reason: epichain_core::RevocationReason,
) -> Result<()> {
    let key = KeyPair::read_pem_file(key)?;
    let target = super::keys::public_key_arg(target)?;
    sign_on_network(url, key, |signer| signer.revoke(target, reason))
}

/// Signs what `build` makes with `key`, continuing after its last finalized nonce on the
/// network, submits it and waits for it to apply.
fn sign_on_network(
    url: &str,
    key: KeyPair,
    build: impl FnOnce(&mut epichain_core::Signer) -> SignedTransaction,
) -> Result<()> {
    let client = super::client_for(url, None)?;
    let runtime = runtime()?;
    let height = runtime.block_on(async {
        let mut signer = client.signer(key).await?;
        let transaction = build(&mut signer);
        submit_and_confirm(&client, &transaction).await
    })?;
    println!("finalized at height {height} (applied)");
    Ok(())
}

pub(super) fn submit_and_wait(client: &Client, transaction: &SignedTransaction) -> Result<()> {
    let height = runtime()?.block_on(submit_and_confirm(client, transaction))?;
    println!("finalized at height {height} (applied)");
    Ok(())
}

/// Submits `transaction`, waits up to 30 s for it to be finalized and returns its height; an
/// error if it was refused, rejected or not finalized in time.
pub(super) async fn submit_and_confirm(
    client: &Client,
    transaction: &SignedTransaction,
) -> Result<u64> {
    let submission = client.submit(transaction).await?;
    println!("transaction {} {:?}", submission.id, submission.status);
    match client
        .finality(&transaction.id(), Duration::from_secs(30))
        .await?
    {
        Finality::Applied { height } => Ok(height),
        Finality::Rejected(rejection) => bail!(
            "transaction {} rejected ({}): {rejection}",
            submission.id,
            rejection.code()
        ),
        Finality::Pending => bail!("transaction {} not finalized within 30 s", submission.id),
    }
}

/// A node process of the devnet.
struct Process {
    name: String,
    child: Child,
}

fn spawn_node(config: &Path, log: &Path) -> Result<Child> {
    devnet::spawn_node(&std::env::current_exe()?, config, log)
        .with_context(|| format!("starting node {}", config.display()))
}

/// Asks a process to stop (SIGTERM), then waits; kills it if it does not stop in time.
fn stop(process: &mut Process) {
    let _ = Command::new("kill")
        .args(["-TERM", &process.child.id().to_string()])
        .status();
    for _ in 0..150 {
        if let Ok(Some(_)) = process.child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = process.child.kill();
    let _ = process.child.wait();
    eprintln!("{} did not stop in 15 s; killed", process.name);
}

/// `epichain devnet`.
pub fn devnet(directory: Option<PathBuf>, base_port: Option<u16>, outbreak: bool) -> Result<()> {
    let directory = directory.unwrap_or_else(|| PathBuf::from("devnet"));
    let mut devnet = Devnet::prepare(
        &directory,
        base_port.unwrap_or(DEFAULT_BASE_PORT),
        wall_clock_ms(),
    )?;
    println!("epichain devnet — chain {}", devnet.manifest.chain_id);
    println!(
        "directory: {} (genesis, keys, certificates, node configs, data, logs; rerun to resume)",
        directory.display()
    );
    let logs = directory.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut processes = Vec::new();
    for node in &devnet.nodes {
        let child = spawn_node(&node.config, &logs.join(format!("{}.log", node.name)))?;
        processes.push(Process {
            name: node.name.clone(),
            child,
        });
    }
    let result = runtime()?.block_on(drive(&mut devnet, outbreak));
    println!("\nstopping {} nodes…", processes.len());
    for process in &mut processes {
        stop(process);
    }
    println!(
        "stopped; rerun `epichain devnet --dir {}` to resume",
        directory.display()
    );
    result
}

/// Waits for the nodes, enrols the world and streams reports until Ctrl-C.
/// Waits until every node answers, then lists them.
async fn await_nodes(devnet: &Devnet, clients: &[Client]) -> Result<()> {
    for (client, node) in clients.iter().zip(&devnet.nodes) {
        if !devnet::wait_ready(client, Duration::from_secs(60)).await {
            bail!(
                "{} did not answer at {} (see logs/{}.log)",
                node.name,
                node.url,
                node.name
            );
        }
    }
    println!("\nnodes:");
    for node in &devnet.nodes {
        println!(
            "  {:<16} {:<38} {}  ({}/openapi.json, {}/metrics)",
            node.name, node.description, node.url, node.url, node.url
        );
    }
    let directory = devnet.directory.display();
    println!(
        "HTTPS with node certificates under the chain's root: for the CLI \
         `export {}={directory}/genesis.json`; for curl \
         `--cacert {directory}/keys/{}`",
        super::GENESIS_VARIABLE,
        devnet::ROOT_CERTIFICATE_FILE
    );
    Ok(())
}

async fn drive(devnet: &mut Devnet, outbreak: bool) -> Result<()> {
    let clients: Vec<Client> = devnet
        .nodes
        .iter()
        .map(|node| devnet.client(&node.url))
        .collect();
    await_nodes(devnet, &clients).await?;
    let validators: Vec<Client> = devnet
        .validator_urls()
        .iter()
        .map(|url| devnet.client(url))
        .collect();
    let first = validators.first().context("no validator")?.clone();
    devnet.resume_nonces(&first).await?;
    let enrolled = devnet::enrol_world(devnet, &first).await?;
    println!(
        "\nenrolled {enrolled} identities (national → province → city CA hierarchy); {} years of seasonal baselines imported at genesis",
        devnet::HISTORY_YEARS
    );
    let _pseudonym_services = devnet::start_pseudonym_services(devnet, &first).await?;
    println!(
        "pseudonym services of the Shenzhen and Guangzhou CDCs answer reporting sites' blinded requests (RFC 9497 VOPRF; no site holds a pseudonym key)"
    );
    match devnet.await_escrow(&first, Duration::from_secs(90)).await? {
        Some((threshold, holders)) => println!(
            "escrow key generated by the {holders} validators (distributed key generation on chain): any {threshold} of {holders} can release a record's data key, fewer can release nothing"
        ),
        None => println!(
            "the escrow key is not generated yet (see logs/validator-*.log): reports are sealed without an escrow wrap until it is"
        ),
    }
    if outbreak {
        inject_outbreak(devnet, &first).await?;
    }
    println!("streaming case reports (Ctrl-C to stop)");
    let mut tick: u64 = 0;
    loop {
        tokio::select! {
            () = interrupted() => return Ok(()),
            () = tokio::time::sleep(DEVNET_TICK) => {}
        }
        tick += 1;
        let day = Day::from_unix_ms(wall_clock_ms());
        if devnet.escrow.is_none() {
            // Late escrow key: wrap to it as soon as it exists (the chain then requires it).
            devnet.await_escrow(&first, Duration::ZERO).await?;
        }
        let batch = devnet::report_batch(devnet, day, DEVNET_REPORTS_PER_TICK, wall_clock_ms())?;
        let client = &validators[tick as usize % validators.len()];
        if let Err(error) = devnet::submit_all(client, &batch).await {
            eprintln!("submit to {}: {error}", client.base());
        }
        if tick.is_multiple_of(5) {
            print_progress(&first).await;
        }
    }
}

/// Injects an outbreak, waits for its signals and shows how to act on them.
async fn inject_outbreak(devnet: &mut Devnet, client: &Client) -> Result<()> {
    let day = Day::from_unix_ms(wall_clock_ms());
    let transactions = devnet::outbreak(devnet, day, OUTBREAK_DENGUE_CASES)?;
    println!(
        "\ninjecting an outbreak: {OUTBREAK_DENGUE_CASES} dengue reports in Futian (440304) and a cholera case in Yuexiu (440104)…"
    );
    let ids = devnet::submit_all(client, &transactions).await?;
    if let Some(last) = ids.last() {
        client.wait_finalized(last, Duration::from_secs(30)).await?;
    }
    let query = SignalQuery {
        limit: Some(20),
        ..SignalQuery::default()
    };
    // Listed as the national CDC sees them (its jurisdiction covers every region): anonymous
    // callers get signals without their statistics or cases.
    let national = devnet
        .world
        .identity("national-cdc-1")?
        .signer
        .key()
        .clone();
    let signals = client.signed_by(national).await?.signals(&query).await?;
    for signal in &signals {
        println!(
            "  signal {}  {} in {} by {}: statistic {} > threshold {:.2}, {} cases",
            signal.id,
            signal.disease,
            signal.region,
            signal.method,
            signal
                .statistic
                .map_or("(withheld)".to_string(), |value| value.to_string()),
            signal.threshold,
            signal.cases.len()
        );
    }
    let keys = devnet.directory.join("keys");
    let dengue = signals.iter().find(|signal| {
        signal.disease.as_str() == "DENGUE"
            && signal.region.to_string() == "440304"
            && signal.status == SignalStatus::Open
    });
    if let Some(signal) = dengue {
        disclose_outbreak(devnet, client, &signal.id).await?;
    }
    println!(
        "act on the cholera signal yourself, e.g.:\n  epichain signals act --node {} --key {} --signal <ID> --step verify --finding under-investigation --note \"…\"\n  epichain signals act --node {} --key {} --signal <ID> --step pathogen-analysis\n  epichain signals act --node {} --key {} --signal <ID> --step final-confirmation --outcome confirmed-outbreak",
        client.base(),
        keys.join("yuexiu-cdc.key.pem").display(),
        client.base(),
        keys.join("guangzhou-lab.key.pem").display(),
        client.base(),
        keys.join("guangdong-cdc.key.pem").display()
    );
    Ok(())
}

/// Confirms the Futian dengue signal through its workflow and shows a neighbouring hospital
/// reading one of the outbreak's sealed records through the grant the confirmation opens.
async fn disclose_outbreak(devnet: &mut Devnet, client: &Client, signal: &Hash) -> Result<()> {
    use epichain_core::warning::Step;
    println!("\nconfirming the Futian dengue signal {signal}:");
    println!(
        "  verify (Futian CDC) → regional consultation (Shenzhen CDC) → final confirmation: outbreak (Guangdong CDC)"
    );
    let confirmation = devnet::confirm_outbreak(
        devnet,
        client,
        signal,
        &[
            ("futian-cdc", Step::Verify),
            ("shenzhen-cdc", Step::RegionalConsultation),
        ],
        "guangdong-cdc",
    )
    .await?;
    let grant = &confirmation.grant;
    println!(
        "the confirmation opened disclosure grant {}:\n  {} reported in {} from {} to {}, to hospitals, labs and CDCs in {} and the CDCs of {}, for 30 days",
        grant.id,
        grant.scope.disease,
        grant.scope.region,
        grant.scope.first_day,
        grant.scope.last_day,
        regions(&grant.audience.neighbours),
        regions(&grant.audience.parents),
    );
    // A signal's cases are line-level metadata: the district CDC asks for them, signed.
    let district = devnet.world.identity("futian-cdc")?.signer.key().clone();
    let details = client.signed_by(district).await?.signal(signal).await?;
    let case = details
        .cases
        .unwrap_or_default()
        .first()
        .map(|case| case.case_id)
        .context("the signal lists no case")?;
    let outcome = devnet::read_when_disclosed(
        devnet,
        client,
        "nanshan-hospital",
        &case,
        Duration::from_secs(60),
    )
    .await?;
    let elapsed = confirmation.finalized_at.elapsed();
    let holders = match outcome.path {
        epichain_client::read::ReadPath::Grant { holders, .. } => holders,
        epichain_client::read::ReadPath::Reader => 0,
    };
    println!(
        "Nanshan People's Hospital (440305, a neighbouring district) decrypted case {case} on its own side {:.0} ms after the confirmation, combining the sealed shares of {holders} escrow holders (access logged at height {}):\n  {} · {} · {}",
        elapsed.as_secs_f64() * 1000.0,
        outcome.access_logged_at.unwrap_or(0),
        outcome.details.name,
        outcome.details.address,
        outcome.details.symptoms,
    );
    let keys = devnet.directory.join("keys");
    println!(
        "read it yourself:\n  epichain case show --node {} --key {} --encryption-key {} {case}\n(Guangzhou's hospitals hold the same ciphertext and shares sealed to others: they read nothing)",
        client.base(),
        keys.join("nanshan-hospital.key.pem").display(),
        keys.join("nanshan-hospital.enc").display(),
    );
    Ok(())
}

/// Region codes as `440305, 440306`.
fn regions(codes: &[epichain_core::RegionCode]) -> String {
    let codes: Vec<String> = codes.iter().map(ToString::to_string).collect();
    codes.join(", ")
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        if let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn print_progress(client: &Client) {
    match client.status().await {
        Ok(status) => println!(
            "height {:>6}  state root {}…  peers {}  mempool {}",
            status.height,
            status.state_root.to_hex().get(..16).unwrap_or(""),
            status.peers,
            status.mempool_transactions
        ),
        Err(ClientError::Http { .. }) => println!("validator not answering"),
        Err(error) => println!("{error}"),
    }
}
