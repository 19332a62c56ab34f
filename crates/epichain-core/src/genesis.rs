//! Genesis: the document every node starts from. Its hash is the chain id.
//!
//! On disk it is JSON ([`GenesisFile`]); what is hashed is the canonical encoding of [`Genesis`].

use crate::cert::{self, CertError};
use crate::disease::{Catalogue, Disease, DiseaseError};
use crate::encoding::{Hash, hash_value, tag};
use crate::governance::Approver;
use crate::region::{RegionCode, RegionError, RegionInfo, RegionSet};
use crate::warning::{HistoricalSeries, WarningRule};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Version of the genesis format.
pub const GENESIS_FORMAT_VERSION: u16 = 3;

/// Errors building or reading genesis.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// Not valid JSON of the expected shape.
    #[error("genesis file: {0}")]
    Json(#[from] serde_json::Error),
    /// Unsupported version.
    #[error("genesis format version {0} is not supported (expected {GENESIS_FORMAT_VERSION})")]
    Version(u16),
    /// Region data.
    #[error("genesis regions: {0}")]
    Region(#[from] RegionError),
    /// Disease data.
    #[error("genesis catalogue: {0}")]
    Disease(#[from] DiseaseError),
    /// Root certificate.
    #[error("genesis root certificate: {0}")]
    Certificate(#[from] CertError),
    /// Inconsistent settings.
    #[error("genesis: {0}")]
    Invalid(String),
}

/// A consensus validator named in genesis: its Ed25519 key signs votes and finality
/// certificates, so a certificate is checkable offline with the genesis alone. Its escrow holder
/// key is another (review M11): the key its escrow agent enrols and signs with, so the consensus
/// key, which must stay online, signs no transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Validator {
    /// Consensus key (also its p2p identity: commonware addresses participants by it).
    pub key: crate::keys::PublicKey,
    /// Operator, e.g. "China CDC" or "Guangdong CDC".
    pub name: String,
    /// Escrow holder key: an identity of role validator that takes part in the escrow key
    /// generation and posts decryption shares.
    pub holder: crate::keys::PublicKey,
}

/// The genesis state of a chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Genesis {
    /// [`GENESIS_FORMAT_VERSION`].
    pub format_version: u16,
    /// Human-readable chain name.
    pub chain_name: String,
    /// Genesis time, Unix milliseconds; block times start after it.
    pub time_ms: u64,
    /// Trusted national root CA certificates (DER).
    pub root_certificates: Vec<Vec<u8>>,
    /// Notifiable-disease catalogue.
    pub catalogue: Catalogue,
    /// Regions and their adjacency.
    pub regions: RegionSet,
    /// Number of approver institutions a governance proposal needs.
    pub approval_threshold: u16,
    /// The institutions that approve governance proposals, with their approving keys.
    pub approvers: Vec<Approver>,
    /// Consensus validators (empty for a ledger on one machine).
    pub validators: Vec<Validator>,
    /// Early-warning rules.
    pub warning_rules: Vec<WarningRule>,
    /// Case counts imported from the legacy system (baselines for the detection methods).
    pub history: Vec<HistoricalSeries>,
}

impl Genesis {
    /// The chain id: hash of the canonical genesis.
    pub fn chain_id(&self) -> Hash {
        hash_value(tag::GENESIS, self)
    }

    /// Checks internal consistency.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.format_version != GENESIS_FORMAT_VERSION {
            return Err(GenesisError::Version(self.format_version));
        }
        crate::governance::check_approvers(&self.approvers, self.approval_threshold)
            .map_err(|problem| GenesisError::Invalid(format!("approvers: {problem}")))?;
        if self.root_certificates.is_empty() {
            return Err(GenesisError::Invalid(
                "at least one root certificate is required".to_string(),
            ));
        }
        let mut keys = std::collections::BTreeSet::new();
        if !self
            .validators
            .iter()
            .all(|validator| keys.insert(validator.key) && keys.insert(validator.holder))
        {
            return Err(GenesisError::Invalid(
                "a validator's consensus or holder key appears twice (each is its own key)"
                    .to_string(),
            ));
        }
        for der in &self.root_certificates {
            let root = cert::parse_certificate(der)?;
            if !root.is_ca || root.claims.region != RegionCode::NATIONAL {
                return Err(GenesisError::Invalid(
                    "root certificates must be national CA certificates".to_string(),
                ));
            }
        }
        Ok(())
    }

    /// Parses and validates the JSON form.
    pub fn from_json(text: &str) -> Result<Self, GenesisError> {
        let file: GenesisFile = serde_json::from_str(text)?;
        let genesis = file.into_genesis()?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        let file = GenesisFile::from_genesis(self);
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }
}

/// JSON shape of a genesis file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisFile {
    /// Format version.
    pub format_version: u16,
    /// Chain name.
    pub chain_name: String,
    /// Unix milliseconds.
    pub time_ms: u64,
    /// Root certificates, PEM.
    pub root_certificates_pem: Vec<String>,
    /// Catalogue entries.
    pub diseases: Vec<Disease>,
    /// Regions.
    pub regions: Vec<RegionInfo>,
    /// Neighbour pairs.
    pub adjacency: Vec<[RegionCode; 2]>,
    /// Governance approval threshold.
    pub approval_threshold: u16,
    /// Institutions that approve governance proposals, with their approving keys.
    pub approvers: Vec<Approver>,
    /// Consensus validators.
    #[serde(default)]
    pub validators: Vec<Validator>,
    /// Early-warning rules (default: the CIDARS-like rules).
    #[serde(default = "WarningRule::defaults")]
    pub warning_rules: Vec<WarningRule>,
    /// Imported historical counts.
    #[serde(default)]
    pub history: Vec<HistoricalSeries>,
}

impl GenesisFile {
    fn into_genesis(self) -> Result<Genesis, GenesisError> {
        let mut root_certificates = Vec::new();
        for pem in &self.root_certificates_pem {
            root_certificates.extend(cert::certificates_from_pem_or_der(pem.as_bytes())?);
        }
        let mut catalogue = Catalogue::default();
        for disease in self.diseases {
            catalogue.insert(disease);
        }
        let regions = RegionSet::new(
            self.regions,
            self.adjacency.into_iter().map(|[a, b]| (a, b)),
        )?;
        Ok(Genesis {
            format_version: self.format_version,
            chain_name: self.chain_name,
            time_ms: self.time_ms,
            root_certificates,
            catalogue,
            regions,
            approval_threshold: self.approval_threshold,
            approvers: self.approvers,
            validators: self.validators,
            warning_rules: self.warning_rules,
            history: self.history,
        })
    }

    fn from_genesis(genesis: &Genesis) -> Self {
        GenesisFile {
            format_version: genesis.format_version,
            chain_name: genesis.chain_name.clone(),
            time_ms: genesis.time_ms,
            root_certificates_pem: genesis
                .root_certificates
                .iter()
                .map(|der| cert::to_pem(der))
                .collect(),
            diseases: genesis.catalogue.iter().cloned().collect(),
            regions: genesis.regions.iter().cloned().collect(),
            adjacency: genesis.regions.adjacency().map(|(a, b)| [a, b]).collect(),
            approval_threshold: genesis.approval_threshold,
            approvers: genesis.approvers.clone(),
            validators: genesis.validators.clone(),
            warning_rules: genesis.warning_rules.clone(),
            history: genesis.history.clone(),
        }
    }
}
