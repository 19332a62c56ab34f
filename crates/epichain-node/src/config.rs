//! The node's configuration file (TOML).

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Validator or replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Votes in consensus (needs a key named in genesis).
    Validator,
    /// Follows finalized blocks from validators over HTTP and serves local queries.
    Replica,
}

/// A validator's p2p address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAddress {
    /// Validator key (hex), as in genesis.
    pub key: String,
    /// Its p2p address.
    pub address: SocketAddr,
}

/// Limits of blocks and the mempool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most transactions per block.
    pub block_transactions_max: usize,
    /// Most transaction bytes per block.
    pub block_bytes_max: usize,
    /// Most pending transactions.
    pub mempool_transactions_max: usize,
    /// Most pending bytes.
    pub mempool_bytes_max: usize,
    /// Make every n-th block durable (1 = every block).
    pub sync_interval_blocks: u64,
    /// Write blocks on a background thread, overlapping the next block's execution (blocks are
    /// acknowledged to consensus only once durable either way).
    pub pipelined_writes: bool,
}

impl Default for Limits {
    fn default() -> Self {
        let block = crate::chain::BlockLimits::default();
        let mempool = crate::mempool::MempoolLimits::default();
        Limits {
            block_transactions_max: block.transactions_max,
            block_bytes_max: block.bytes_max,
            mempool_transactions_max: mempool.transactions_max,
            mempool_bytes_max: mempool.bytes_max,
            sync_interval_blocks: 1,
            pipelined_writes: true,
        }
    }
}

/// A node's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Name shown in status and logs.
    pub name: String,
    /// Validator or replica.
    pub role: Role,
    /// Genesis file.
    pub genesis: PathBuf,
    /// Data directory (ledger and consensus storage).
    pub data_dir: PathBuf,
    /// HTTP API address.
    pub http_listen: SocketAddr,
    /// The node's key (PKCS#8 PEM). Validators: the consensus and p2p key. Replicas: the key of
    /// the node's enrolled identity (role `validator`, of the operating CDC's institution), which
    /// signs its block fetches.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Validators: the escrow holder key (PKCS#8 PEM) genesis names for this validator, apart
    /// from the consensus key; its enrolled identity signs the escrow's transactions.
    #[serde(default)]
    pub holder_key: Option<PathBuf>,
    /// Validators: p2p listen address.
    #[serde(default)]
    pub p2p_listen: Option<SocketAddr>,
    /// Validators: every validator's p2p address, including this one's.
    #[serde(default)]
    pub validator_addresses: Vec<PeerAddress>,
    /// Replicas: validator API URLs to follow and to forward submissions to.
    #[serde(default)]
    pub upstream: Vec<String>,
    /// Allow plain HTTP beyond this machine: an API without `tls` on a non-loopback address,
    /// and `http://` upstreams on other machines. Requests and answers then travel readable.
    #[serde(default)]
    pub plain_http: bool,
    /// HTTPS for the API: the node's TLS certificate and key. Without it the API speaks plain
    /// HTTP, allowed only on a loopback address unless `plain_http`.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
}

/// The files of a node's HTTPS identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain (PEM, leaf first, then its CAs up to but not including the root): a
    /// node TLS certificate (`epichain ca issue --role validator --server-name ADDRESS`).
    pub certificate: PathBuf,
    /// The certificate's key (PKCS#8 PEM): the node's identity key.
    pub key: PathBuf,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable file.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML of the expected shape.
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Inconsistent settings.
    #[error("{0}")]
    Invalid(String),
}

impl NodeConfig {
    /// Reads and checks a configuration file. Relative paths are relative to the file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut config: NodeConfig = toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.genesis = base.join(&config.genesis);
        config.data_dir = base.join(&config.data_dir);
        config.key = config.key.map(|key| base.join(key));
        config.holder_key = config.holder_key.map(|key| base.join(key));
        config.tls = config.tls.map(|tls| TlsFiles {
            certificate: base.join(tls.certificate),
            key: base.join(tls.key),
        });
        config.check()?;
        Ok(config)
    }

    /// The TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_string()));
        match self.role {
            Role::Validator => {
                if self.key.is_none() || self.holder_key.is_none() || self.p2p_listen.is_none() {
                    return invalid("a validator needs `key`, `holder_key` and `p2p_listen`");
                }
                if self.validator_addresses.is_empty() {
                    return invalid("a validator needs `validator_addresses`");
                }
            }
            Role::Replica => {
                if self.upstream.is_empty() {
                    return invalid("a replica needs at least one `upstream` validator URL");
                }
                if self.key.is_none() {
                    return invalid(
                        "a replica needs `key`: its enrolled identity signs block fetches",
                    );
                }
            }
        }
        if !self.plain_http {
            if self.tls.is_none() && !self.http_listen.ip().is_loopback() {
                return invalid(
                    "the API listens beyond loopback without `tls`: configure `[tls]` (or set \
                     `plain_http = true` to serve readable traffic)",
                );
            }
            if let Some(url) = self
                .upstream
                .iter()
                .find(|url| epichain_tls::is_remote_plain_http(url))
            {
                return Err(ConfigError::Invalid(format!(
                    "upstream {url} is plain HTTP to another machine: use https (or set \
                     `plain_http = true`)"
                )));
            }
        }
        if self.limits.block_transactions_max == 0 || self.limits.sync_interval_blocks == 0 {
            return invalid("limits must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_config_round_trips_and_is_checked() {
        let config = NodeConfig {
            name: "validator-0".into(),
            role: Role::Validator,
            genesis: "genesis.json".into(),
            data_dir: "validator-0".into(),
            http_listen: "127.0.0.1:8000".parse().expect("address"),
            key: Some("keys/validator-0.consensus.pem".into()),
            holder_key: Some("keys/validator-0.key.pem".into()),
            p2p_listen: Some("127.0.0.1:9000".parse().expect("address")),
            validator_addresses: vec![PeerAddress {
                key: "00".repeat(32),
                address: "127.0.0.1:9000".parse().expect("address"),
            }],
            upstream: vec![],
            plain_http: false,
            tls: None,
            limits: Limits::default(),
        };
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("node.toml");
        std::fs::write(&path, config.to_toml()).expect("write");
        let read = NodeConfig::read(&path).expect("read");
        assert_eq!(read.genesis, directory.path().join("genesis.json"));
        assert_eq!(read.role, Role::Validator);
        std::fs::write(&path, config.to_toml().replace("validator", "replica")).expect("write");
        assert!(
            NodeConfig::read(&path).is_err(),
            "a replica without upstream is refused"
        );
        std::fs::write(&path, "name = 3").expect("write");
        assert!(matches!(
            NodeConfig::read(&path),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn plain_http_only_on_loopback_unless_asked() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("node.toml");
        let replica = |listen: &str, upstream: &str, plain_http: bool| NodeConfig {
            name: "replica".into(),
            role: Role::Replica,
            genesis: "genesis.json".into(),
            data_dir: "replica".into(),
            http_listen: listen.parse().expect("address"),
            key: Some("replica.key.pem".into()),
            holder_key: None,
            p2p_listen: None,
            validator_addresses: vec![],
            upstream: vec![upstream.into()],
            plain_http,
            tls: None,
            limits: Limits::default(),
        };
        let read = |config: NodeConfig| {
            std::fs::write(&path, config.to_toml()).expect("write");
            NodeConfig::read(&path)
        };
        assert!(read(replica("127.0.0.1:8000", "http://127.0.0.1:8001", false)).is_ok());
        assert!(matches!(
            read(replica("0.0.0.0:8000", "https://10.0.0.2:8443", false)),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            read(replica("127.0.0.1:8000", "http://10.0.0.2:8000", false)),
            Err(ConfigError::Invalid(_))
        ));
        assert!(read(replica("0.0.0.0:8000", "http://10.0.0.2:8000", true)).is_ok());
        let mut with_tls = replica("0.0.0.0:8000", "https://10.0.0.2:8443", false);
        with_tls.tls = Some(TlsFiles {
            certificate: "tls.pem".into(),
            key: "replica.key.pem".into(),
        });
        let read_back = read(with_tls).expect("https everywhere");
        assert_eq!(
            read_back.tls.map(|tls| tls.certificate),
            Some(directory.path().join("tls.pem"))
        );
    }
}
