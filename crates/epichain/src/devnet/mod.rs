//! `epichain devnet`: four validators (national and three provincial CDCs) and three replicas
//! operated by city and district CDCs, each its own process with its own data directory and
//! loopback ports; the demo world is enrolled and case reports stream in. Each replica follows
//! as its own node identity (role `validator`, its CDC's institution): whole blocks are served
//! to CDCs and nodes only.

use crate::world::{DemoWorld, validator_key, validators};
use epichain_client::api::disclosure::{GrantQuery, GrantSource, GrantStatus, GrantView};
use epichain_client::api::signals::SignalQuery;
use epichain_client::api::transactions::BatchStatus;
use epichain_client::{Client, ClientError};
use epichain_core::{Day, Hash, SignedTransaction};
use epichain_node::config::{Limits, NodeConfig, PeerAddress, Role, TlsFiles};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Operators of the four validators.
pub const VALIDATOR_NAMES: [&str; 4] = [
    "China CDC (national)",
    "Guangdong Provincial CDC",
    "Guangxi Zhuang Autonomous Region CDC",
    "Hunan Provincial CDC",
];

/// A replica of the devnet and the CDC that operates it.
pub struct ReplicaSpec {
    /// Node name (also its identity's handle, `keys/NAME.key.pem`).
    pub name: &'static str,
    /// What it is (its identity's common name).
    pub description: &'static str,
    /// The operating CDC's institution.
    pub institution: &'static str,
    /// The operating CDC's region.
    pub region: &'static str,
    /// The demo CA that certifies it (see `DemoWorld::add_identity`).
    pub issuer: usize,
}

/// Replicas, one per remaining level: a city and two districts.
pub const REPLICAS: [ReplicaSpec; 3] = [
    ReplicaSpec {
        name: "city-shenzhen",
        description: "Shenzhen municipal CDC replica",
        institution: "shenzhen-cdc",
        region: "440300",
        issuer: 2,
    },
    ReplicaSpec {
        name: "district-futian",
        description: "Futian district CDC replica",
        institution: "futian-cdc",
        region: "440304",
        issuer: 2,
    },
    ReplicaSpec {
        name: "district-yuexiu",
        description: "Yuexiu district CDC replica",
        institution: "yuexiu-cdc",
        region: "440104",
        issuer: 3,
    },
];

/// The CDCs' pseudonym services (review H4): for each scope, an identity of the city CDC
/// (its own key, one purpose) that publishes the scope's key and answers requests, with the
/// CDC's seed in `keys/HANDLE.seed`: (handle, scope region, institution, issuing demo CA).
pub const PSEUDONYM_SERVICES: [(&str, &str, &str, usize); 2] = [
    ("shenzhen-cdc-pseudonyms", "440300", "shenzhen-cdc", 2),
    ("guangzhou-cdc-pseudonyms", "440100", "guangzhou-cdc", 3),
];

/// Default first port: validators' HTTP APIs at 18000–18003, replicas' at 18004–18006, p2p at
/// 19000–19003.
pub const DEFAULT_BASE_PORT: u16 = 18_000;

/// Years of seasonal history the devnet imports at genesis (baselines for the warning methods).
pub const HISTORY_YEARS: u32 = 3;

/// Offset from the HTTP base port to the p2p ports.
const P2P_PORT_OFFSET: u16 = 1_000;

/// Why the devnet could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// Files.
    #[error("{path}: {message}")]
    Files {
        /// Path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The world.
    #[error(transparent)]
    World(#[from] crate::world::WorldError),
    /// A node's API.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The stored devnet does not match what this version builds.
    #[error("{0}")]
    Mismatch(String),
    /// A workflow step or a read did not go through.
    #[error("{0}")]
    Scenario(String),
    /// Reading sealed details.
    #[error(transparent)]
    Read(#[from] epichain_client::read::ReadError),
}

fn files(path: &Path, error: impl ToString) -> DevnetError {
    DevnetError::Files {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

/// Persistent facts of a devnet directory (so a rerun rebuilds the same world).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DevnetManifest {
    /// Genesis time, Unix milliseconds.
    pub genesis_ms: u64,
    /// First HTTP port.
    pub base_port: u16,
    /// Chain id.
    pub chain_id: String,
}

/// One node of the devnet.
#[derive(Clone, Debug)]
pub struct DevnetNode {
    /// Node name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Its configuration file.
    pub config: PathBuf,
    /// Its API URL.
    pub url: String,
    /// Validator or replica.
    pub role: Role,
}

/// A prepared devnet directory.
pub struct Devnet {
    /// Directory.
    pub directory: PathBuf,
    /// Manifest.
    pub manifest: DevnetManifest,
    /// The demo world (keys, certificates, genesis).
    pub world: DemoWorld,
    /// Nodes, validators first.
    pub nodes: Vec<DevnetNode>,
    /// The escrow key's public sharing, once the validators have generated it.
    pub escrow: Option<Vec<u8>>,
}

impl Devnet {
    /// Prepares `directory`: on first use writes genesis, keys, certificates and node
    /// configurations; later reuses them (the world is rebuilt from the stored genesis time).
    pub fn prepare(directory: &Path, base_port: u16, now_ms: u64) -> Result<Self, DevnetError> {
        std::fs::create_dir_all(directory).map_err(|error| files(directory, error))?;
        let manifest_path = directory.join("devnet.json");
        let manifest = if manifest_path.exists() {
            let text = std::fs::read_to_string(&manifest_path)
                .map_err(|error| files(&manifest_path, error))?;
            serde_json::from_str::<DevnetManifest>(&text)
                .map_err(|error| files(&manifest_path, error))?
        } else {
            DevnetManifest {
                genesis_ms: now_ms,
                base_port,
                chain_id: String::new(),
            }
        };
        let mut world = DemoWorld::with_history(
            manifest.genesis_ms,
            validators(&VALIDATOR_NAMES),
            crate::world::seasonal_history(manifest.genesis_ms, HISTORY_YEARS)?,
        )?;
        add_operator_identities(&mut world)?;
        let chain_id = world.genesis.chain_id().to_hex();
        if !manifest.chain_id.is_empty() && manifest.chain_id != chain_id {
            return Err(DevnetError::Mismatch(format!(
                "{} holds chain {}, but this version builds {chain_id}; use a new directory",
                directory.display(),
                manifest.chain_id
            )));
        }
        let manifest = DevnetManifest {
            chain_id,
            ..manifest
        };
        // The holder keys are the validator identities' (keys/validator-N.key.pem, from the
        // world); the consensus keys are apart (review M11).
        world.write_files(directory)?;
        for index in 0..VALIDATOR_NAMES.len() {
            let path = directory
                .join("keys")
                .join(format!("validator-{index}.consensus.pem"));
            if !path.exists() {
                validator_key(index)
                    .write_pem_file(&path)
                    .map_err(|error| files(&path, error))?;
            }
        }
        std::fs::write(
            &manifest_path,
            serde_json::to_string_pretty(&manifest).unwrap_or_default(),
        )
        .map_err(|error| files(&manifest_path, error))?;
        let nodes = write_configs(directory, &world, manifest.base_port)?;
        Ok(Devnet {
            directory: directory.to_path_buf(),
            manifest,
            world,
            nodes,
            escrow: None,
        })
    }

    /// A client of the node at `url` that trusts this devnet's TLS certificates.
    pub fn client(&self, url: &str) -> Client {
        Client::new(url).trusting(epichain_client::NodeTrust::from_genesis(
            &self.world.genesis,
        ))
    }

    /// API URLs of the validators.
    pub fn validator_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|node| node.role == Role::Validator)
            .map(|node| node.url.clone())
            .collect()
    }

    /// Waits until the validators have generated the escrow key (they do it by themselves once
    /// enrolled); returns its threshold and number of holders.
    pub async fn await_escrow(
        &mut self,
        client: &Client,
        timeout: Duration,
    ) -> Result<Option<(u64, usize)>, DevnetError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let escrow = client.escrow().await?;
            if let Some(sharing) = escrow.sharing_bytes() {
                self.escrow = Some(sharing);
                return Ok(Some((u64::from(escrow.threshold), escrow.holders.len())));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Seals `report` (about to be signed by `reporter`) to the district authority, the reporter
    /// and, once generated, the escrow key.
    pub fn seal(
        &self,
        reporter: &str,
        report: &epichain_core::CaseReport,
    ) -> Result<Vec<u8>, DevnetError> {
        let wrap = self.escrow_wrap();
        Ok(self.world.seal_details(reporter, report, Some(&wrap))?)
    }

    /// Wraps a record's data key to the escrow key (nothing before it is generated).
    pub fn escrow_wrap(&self) -> impl Fn(&[u8; 32], &[u8]) -> Vec<u8> + use<> {
        let sharing = self.escrow.as_ref().and_then(|bytes| {
            epichain_escrow::decode_sharing(bytes, self.world.genesis.validators.len()).ok()
        });
        epichain_escrow::wrapper(sharing, self.world.genesis.chain_id())
    }

    /// Continues every demo signer after its last finalized nonce (a rerun).
    pub async fn resume_nonces(&mut self, client: &Client) -> Result<(), DevnetError> {
        for identity in &mut self.world.identities {
            let key = identity.signer.key().clone();
            identity.signer = client.signer(key).await?;
        }
        Ok(())
    }
}

#[allow(clippy::too_many_lines)] // Devnet start-up in order; the devnet moves to its own folder with the binary restructure (issue 12).
fn write_configs(
    directory: &Path,
    world: &DemoWorld,
    base_port: u16,
) -> Result<Vec<DevnetNode>, DevnetError> {
    let genesis = &world.genesis;
    let localhost = [127, 0, 0, 1];
    let http = |offset: u16| std::net::SocketAddr::from((localhost, base_port + offset));
    let p2p =
        |offset: u16| std::net::SocketAddr::from((localhost, base_port + P2P_PORT_OFFSET + offset));
    let validator_addresses: Vec<PeerAddress> = genesis
        .validators
        .iter()
        .enumerate()
        .map(|(index, validator)| PeerAddress {
            key: validator.key.to_hex(),
            address: p2p(index as u16),
        })
        .collect();
    let mut nodes = Vec::new();
    let mut configs = Vec::new();
    for (index, name) in VALIDATOR_NAMES.iter().enumerate() {
        let node_name = format!("validator-{index}");
        configs.push((
            NodeConfig {
                name: node_name.clone(),
                role: Role::Validator,
                genesis: "genesis.json".into(),
                data_dir: format!("data/{node_name}").into(),
                http_listen: http(index as u16),
                key: Some(format!("keys/validator-{index}.consensus.pem").into()),
                holder_key: Some(format!("keys/validator-{index}.key.pem").into()),
                p2p_listen: Some(p2p(index as u16)),
                validator_addresses: validator_addresses.clone(),
                upstream: Vec::new(),
                plain_http: false,
                tls: Some(tls_files(directory, world, &node_name)?),
                limits: Limits::default(),
            },
            name.to_string(),
        ));
    }
    let upstream: Vec<String> = (0..VALIDATOR_NAMES.len())
        .map(|index| format!("https://{}", http(index as u16)))
        .collect();
    for (offset, replica) in REPLICAS.iter().enumerate() {
        let name = replica.name;
        configs.push((
            NodeConfig {
                name: name.to_string(),
                role: Role::Replica,
                genesis: "genesis.json".into(),
                data_dir: format!("data/{name}").into(),
                http_listen: http((VALIDATOR_NAMES.len() + offset) as u16),
                key: Some(format!("keys/{name}.key.pem").into()),
                holder_key: None,
                p2p_listen: None,
                validator_addresses: Vec::new(),
                upstream: upstream.clone(),
                plain_http: false,
                tls: Some(tls_files(directory, world, name)?),
                limits: Limits::default(),
            },
            replica.description.to_string(),
        ));
    }
    std::fs::create_dir_all(directory.join("config")).map_err(|error| files(directory, error))?;
    for (config, description) in configs {
        let path = directory
            .join("config")
            .join(format!("{}.toml", config.name));
        // Paths in the file are relative to the file: one level up is the devnet directory.
        let mut relative = config.clone();
        relative.genesis = Path::new("..").join(&config.genesis);
        relative.data_dir = Path::new("..").join(&config.data_dir);
        relative.key = config.key.as_ref().map(|key| Path::new("..").join(key));
        relative.holder_key = config
            .holder_key
            .as_ref()
            .map(|key| Path::new("..").join(key));
        relative.tls = config.tls.as_ref().map(|tls| TlsFiles {
            certificate: Path::new("..").join(&tls.certificate),
            key: Path::new("..").join(&tls.key),
        });
        std::fs::write(&path, relative.to_toml()).map_err(|error| files(&path, error))?;
        nodes.push(DevnetNode {
            name: config.name.clone(),
            description,
            url: format!("https://{}", config.http_listen),
            config: path,
            role: config.role,
        });
    }
    Ok(nodes)
}

/// The national root certificate's file under `keys/` (a CA bundle for curl or Python).
pub const ROOT_CERTIFICATE_FILE: &str = "epichain-national-root-ca.cert.pem";

/// Addresses every devnet node's TLS certificate names.
const DEVNET_SERVER_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// Writes the TLS certificate of the node identity `handle` (`keys/HANDLE.tls.pem`, from the
/// CA that issued its identity) and names the files, relative to the devnet directory.
fn tls_files(directory: &Path, world: &DemoWorld, handle: &str) -> Result<TlsFiles, DevnetError> {
    let names: Vec<epichain_core::cert::ServerName> = DEVNET_SERVER_NAMES
        .iter()
        .map(|name| name.parse())
        .collect::<Result<_, _>>()
        .map_err(crate::world::WorldError::from)?;
    let certificate = Path::new("keys").join(format!("{handle}.tls.pem"));
    let path = directory.join(&certificate);
    let pem = world.server_certificate(handle, &names)?;
    std::fs::write(&path, pem).map_err(|error| files(&path, error))?;
    Ok(TlsFiles {
        certificate,
        key: Path::new("keys").join(format!("{handle}.key.pem")),
    })
}

/// Starts `executable node --config CONFIG` with its output in `log`.
pub fn spawn_node(
    executable: &Path,
    config: &Path,
    log: &Path,
) -> std::io::Result<std::process::Child> {
    let log_file = std::fs::File::create(log)?;
    let error_file = log_file.try_clone()?;
    std::process::Command::new(executable)
        .args(["node", "--config"])
        .arg(config)
        .stdin(std::process::Stdio::null())
        .stdout(log_file)
        .stderr(error_file)
        .spawn()
}

/// Waits until the node answers, or `timeout` passes.
pub async fn wait_ready(client: &Client, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if client.status().await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Transactions per batch request.
pub const SUBMIT_BATCH_MAX: usize = 256;

/// Times a whole batch turned away for now is sent again.
const WHOLE_BATCH_RETRIES_MAX: usize = 30;

/// Refusals that mean "not now" (the node answers 429 or 503 with `Retry-After`).
pub const RETRY_LATER_CODES: [&str; 4] = [
    "mempool_full",
    "signer_busy",
    "enrolments_busy",
    "journal_unavailable",
];

/// Submits transactions in batches, retrying those refused for now (see [`RETRY_LATER_CODES`]); returns
/// the accepted ids. Any other refusal is an error.
pub async fn submit_all(
    client: &Client,
    transactions: &[SignedTransaction],
) -> Result<Vec<Hash>, ClientError> {
    let mut ids = Vec::with_capacity(transactions.len());
    let mut attempts = 0;
    for chunk in transactions.chunks(SUBMIT_BATCH_MAX) {
        let mut pending: Vec<SignedTransaction> = chunk.to_vec();
        while !pending.is_empty() {
            let results = match client.submit_batch(&pending).await {
                Ok(results) => results,
                // The whole request was turned away for now (overloaded, rate limited).
                Err(ClientError::Refused {
                    retry_after_seconds: Some(seconds),
                    ..
                }) if attempts < WHOLE_BATCH_RETRIES_MAX => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_secs(seconds.clamp(1, 5))).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            let mut retry = Vec::new();
            for (transaction, result) in pending.into_iter().zip(results) {
                match (result.status, result.code.as_deref()) {
                    (BatchStatus::Refused, Some(code)) if RETRY_LATER_CODES.contains(&code) => {
                        retry.push(transaction);
                    }
                    (BatchStatus::Refused, code) => {
                        return Err(ClientError::Refused {
                            status: 400,
                            code: code.unwrap_or("refused").to_string(),
                            message: result.message.unwrap_or_default(),
                            retry_after_seconds: None,
                        });
                    }
                    _ => ids.push(transaction.id()),
                }
            }
            if !retry.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            pending = retry;
        }
    }
    Ok(ids)
}

/// Enrols every demo identity not enrolled yet, publishes missing encryption keys, and waits
/// for finality. Returns how many were enrolled.
pub async fn enrol_world(devnet: &mut Devnet, client: &Client) -> Result<usize, DevnetError> {
    let mut pending = Vec::new();
    let mut enrolled = 0;
    let chain_id = devnet.world.genesis.chain_id();
    for identity in &mut devnet.world.identities {
        let known = client.own_identity(identity.signer.key(), chain_id).await?;
        if known.is_none() {
            enrolled += 1;
            pending.push(
                identity
                    .signer
                    .enroll(identity.certificate.clone(), identity.chain.clone()),
            );
        }
        // A validator's escrow agent publishes its own key (review M11: kept beside its share,
        // replaced once the share exists); a replica's node identity reads nothing.
        if identity.role != epichain_core::Role::Validator
            && known
                .as_ref()
                .is_none_or(|view| view.encryption_key.is_none())
        {
            let public = identity.encryption.public();
            pending.push(
                identity
                    .signer
                    .sign(epichain_core::Payload::PublishEncryptionKey(public)),
            );
        }
    }
    let ids = submit_all(client, &pending).await?;
    for id in &ids {
        client.wait_finalized(id, Duration::from_secs(60)).await?;
    }
    Ok(enrolled)
}

/// The devnet's own identities beside the demo world's: each replica's node identity and each
/// CDC pseudonym service's (one key per purpose).
fn add_operator_identities(world: &mut DemoWorld) -> Result<(), DevnetError> {
    for (handle, region, institution, issuer) in PSEUDONYM_SERVICES {
        world.add_identity(
            handle,
            &format!("{institution} pseudonym service"),
            epichain_core::Role::Authority,
            region.parse().map_err(crate::world::WorldError::from)?,
            issuer,
            institution,
        )?;
    }
    for replica in &REPLICAS {
        world.add_identity(
            replica.name,
            replica.description,
            epichain_core::Role::Validator,
            replica
                .region
                .parse()
                .map_err(crate::world::WorldError::from)?,
            replica.issuer,
            replica.institution,
        )?;
    }
    Ok(())
}

/// Starts the CDCs' pseudonym services: each publishes its scope's key (from its seed, made on
/// first use) and answers the scope's requests in a task until dropped.
pub async fn start_pseudonym_services(
    devnet: &mut Devnet,
    client: &Client,
) -> Result<Vec<tokio::task::JoinHandle<()>>, DevnetError> {
    use epichain_client::pseudonym::Evaluator;
    use epichain_core::pseudonym::{PseudonymPurpose, PseudonymScope, PseudonymSecret};
    let mut tasks = Vec::new();
    for (handle, region, _, _) in PSEUDONYM_SERVICES {
        let path = devnet.directory.join("keys").join(format!("{handle}.seed"));
        let seed = epichain_core::keys::secret_file(&path).map_err(|error| files(&path, error))?;
        let key = devnet.world.identity(handle)?.signer.key().clone();
        let signer = client.signer(key).await?;
        let scope = PseudonymScope {
            region: region.parse().map_err(crate::world::WorldError::from)?,
            purpose: PseudonymPurpose::CaseReporting,
        };
        let mut evaluator = Evaluator::new(PseudonymSecret::from_bytes(seed), scope, signer);
        evaluator
            .publish(client)
            .await
            .map_err(|error| DevnetError::Scenario(format!("{handle}: {error}")))?;
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            evaluator
                .run(&client, |error| tracing::warn!(%error, "pseudonym service"))
                .await;
        }));
    }
    Ok(tasks)
}

/// An injected outbreak: a burst of dengue reports in Futian (a moving-percentile signal) and a
/// cholera case in Yuexiu (a fixed-threshold signal). Returns the transactions.
pub fn outbreak(
    devnet: &mut Devnet,
    day: Day,
    dengue_cases: usize,
) -> Result<Vec<SignedTransaction>, DevnetError> {
    let mut transactions = Vec::new();
    let cases = std::iter::repeat_n(("futian-hospital", "DENGUE", "440304"), dengue_cases)
        .chain(std::iter::once(("yuexiu-hospital", "CHOLERA", "440104")));
    for (reporter, disease, region) in cases {
        let mut report = devnet.world.case_report(day, disease, region)?;
        report.sealed = devnet.seal(reporter, &report)?;
        transactions.push(devnet.world.identity(reporter)?.signer.report(report).0);
    }
    Ok(transactions)
}

/// A batch of demo reports for `day`.
pub fn report_batch(
    devnet: &mut Devnet,
    day: Day,
    count: usize,
    salt: u64,
) -> Result<Vec<SignedTransaction>, DevnetError> {
    let wrap = devnet.escrow_wrap();
    Ok(devnet
        .world
        .sealed_reports(day, count, salt, Some(&wrap))?
        .into_iter()
        .map(|(transaction, _)| transaction)
        .collect())
}

/// A signal walked through its workflow to a confirmed outbreak.
#[derive(Clone, Debug)]
pub struct Confirmation {
    /// When the final confirmation was seen finalized.
    pub finalized_at: std::time::Instant,
    /// The grant it opened.
    pub grant: GrantView,
}

/// Takes the workflow `steps` (handle of the authority or lab, step) on `signal`, the last one
/// being the final confirmation as an outbreak by `confirmer`; returns the grant it opened.
pub async fn confirm_outbreak(
    devnet: &mut Devnet,
    client: &Client,
    signal: &Hash,
    steps: &[(&str, epichain_core::warning::Step)],
    confirmer: &str,
) -> Result<Confirmation, DevnetError> {
    use epichain_core::warning::{SignalAction, SignalOutcome, Step, StepFinding};
    let final_step = (confirmer, Step::FinalConfirmation);
    for (handle, step) in steps.iter().chain(std::iter::once(&final_step)) {
        let outcome =
            (*step == Step::FinalConfirmation).then_some(SignalOutcome::ConfirmedOutbreak);
        let transaction =
            devnet
                .world
                .identity(handle)?
                .signer
                .sign(epichain_core::Payload::SignalAction(SignalAction {
                    signal: *signal,
                    step: *step,
                    outcome,
                    finding: StepFinding::ClusterConfirmed,
                    sealed_note: Vec::new(),
                }));
        client.submit(&transaction).await?;
        let status = client
            .wait_finalized(&transaction.id(), Duration::from_secs(30))
            .await?;
        if let Some(failure) = status.not_applied() {
            return Err(DevnetError::Scenario(format!(
                "{step} by {handle}: {failure}"
            )));
        }
    }
    let finalized_at = std::time::Instant::now();
    let query = GrantQuery {
        status: Some(GrantStatus::Open),
        ..GrantQuery::default()
    };
    let grant = client
        .grants(&query)
        .await?
        .into_iter()
        .find(|grant| grant.source == GrantSource::Outbreak { signal: *signal })
        .ok_or_else(|| DevnetError::Scenario("the confirmation opened no grant".into()))?;
    Ok(Confirmation {
        finalized_at,
        grant,
    })
}

/// `reader` (a demo identity) reads `case` as a reader or grantee (see [`epichain_client::read::read_case`]);
/// the demo signer continues after the access log the read may sign.
pub async fn read_as(
    devnet: &mut Devnet,
    client: &Client,
    reader: &str,
    case: &Hash,
    purpose: Option<epichain_core::transaction::AccessPurpose>,
) -> Result<Result<epichain_client::read::ReadOutcome, epichain_client::read::ReadError>, DevnetError>
{
    let identity = devnet.world.identity(reader)?;
    let (signing, encryption) = (identity.signer.key().clone(), identity.encryption.clone());
    let outcome =
        epichain_client::read::read_case(client, case, &signing, &encryption, purpose).await;
    if outcome
        .as_ref()
        .is_ok_and(|outcome| outcome.access_logged_at.is_some())
    {
        devnet.world.identity(reader)?.signer = client.signer(signing).await?;
    }
    Ok(outcome)
}

/// `reader` (a demo identity) reads `case` through a disclosure grant as soon as enough escrow
/// holders have posted shares; waits up to `timeout`.
pub async fn read_when_disclosed(
    devnet: &mut Devnet,
    client: &Client,
    reader: &str,
    case: &Hash,
    timeout: Duration,
) -> Result<epichain_client::read::ReadOutcome, DevnetError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match read_as(devnet, client, reader, case, None).await? {
            Ok(outcome) => return Ok(outcome),
            Err(epichain_client::read::ReadError::AwaitingShares { .. })
            | Err(epichain_client::read::ReadError::NotPermitted)
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Attaches a benchmark to the running devnet in `directory` through `node`: checks it is that
/// devnet, adds a provincial hospital and a provincial laboratory (they may report and analyse
/// anywhere in Guangdong), enrols them and continues every demo signer.
pub async fn attach_bench(node: &str, directory: &Path) -> Result<(Client, Devnet), DevnetError> {
    let mut devnet = Devnet::prepare(directory, DEFAULT_BASE_PORT, 0)?;
    let client = devnet.client(node);
    let status = client.status().await?;
    if status.chain_id.to_hex() != devnet.manifest.chain_id {
        return Err(DevnetError::Mismatch(format!(
            "{node} does not run the devnet in {}",
            directory.display()
        )));
    }
    let province: epichain_core::RegionCode =
        "440000"
            .parse()
            .map_err(|error: epichain_core::region::RegionError| {
                DevnetError::Scenario(error.to_string())
            })?;
    devnet.world.add_identity(
        "bench-provincial-hospital",
        "Guangdong Provincial People's Hospital (bench)",
        epichain_core::Role::Hospital,
        province,
        1,
        "guangdong-provincial-peoples-hospital",
    )?;
    devnet.world.add_identity(
        "bench-provincial-lab",
        "Guangdong Provincial CDC Laboratory (bench)",
        epichain_core::Role::Lab,
        province,
        1,
        "guangdong-cdc-laboratory",
    )?;
    devnet.resume_nonces(&client).await?;
    enrol_world(&mut devnet, &client).await?;
    Ok((client, devnet))
}

/// Up to `count` (Class A or B-managed-as-A disease, reporting unit) pairs without a signal
/// since `since_ms`, with units within one of `within` (empty: anywhere): one report of each
/// raises a fresh fixed-threshold signal.
pub async fn unsignalled_pairs(
    client: &Client,
    devnet: &Devnet,
    since_ms: u64,
    count: usize,
    within: &[epichain_core::RegionCode],
) -> Result<Vec<(String, epichain_core::RegionCode)>, DevnetError> {
    let catalogue = &devnet.world.genesis.catalogue;
    let regions = &devnet.world.genesis.regions;
    let diseases: Vec<String> = catalogue
        .iter()
        .filter(|disease| disease.managed_as_a && !disease.retired)
        .map(|disease| disease.code.to_string())
        .collect();
    let units: Vec<epichain_core::RegionCode> = regions
        .iter()
        .map(|info| info.code)
        .filter(|code| code.level() >= epichain_core::Level::City && !regions.has_children(*code))
        .filter(|code| within.is_empty() || within.iter().any(|area| code.is_within(*area)))
        .collect();
    let mut pairs = Vec::new();
    for disease in &diseases {
        for unit in &units {
            if pairs.len() >= count {
                return Ok(pairs);
            }
            let query = SignalQuery::newest(disease, unit, since_ms);
            if client.signals(&query).await?.is_empty() {
                pairs.push((disease.clone(), *unit));
            }
        }
    }
    Ok(pairs)
}
