//! `epichain genesis`.

use super::ca::read_certificates;
use super::wall_clock_ms;
use anyhow::{Context, Result, bail};
use epichain_core::genesis::GENESIS_FORMAT_VERSION;
use epichain_core::governance::Approver;
use epichain_core::{Catalogue, Genesis, Institution, KeyPair, RegionSet};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum GenesisCommand {
    /// Write DIR/genesis.json: chain name, root CA, the national disease catalogue, the region set
    /// with adjacency, and the governance approvers with their threshold.
    Init {
        /// Output directory (created if missing); genesis.json must not exist in it.
        #[arg(long)]
        out: PathBuf,
        /// Root CA certificate (PEM). Without it, a new root key and certificate are created in DIR.
        #[arg(long)]
        root_cert: Option<PathBuf>,
        /// Chain name.
        #[arg(long, default_value = "epichain")]
        chain_name: String,
        /// An approving key of an institution that approves governance proposals, as
        /// INSTITUTION=KEY (KEY: 64 hex digits or a key file); repeat for every key and every
        /// institution, e.g. --approver china-cdc=cdc.key --approver nhc=nhc.key.
        #[arg(long = "approver", required = true, value_name = "INSTITUTION=KEY")]
        approvers: Vec<String>,
        /// Approver institutions a governance proposal needs: a majority of them up to all
        /// (default: a simple majority).
        #[arg(long)]
        approval_threshold: Option<u16>,
        /// Regions CSV (code,name_zh,name_en,level,parent_code); default: shipped Guangdong.
        #[arg(long, requires = "adjacency")]
        regions: Option<PathBuf>,
        /// Adjacency CSV (code_a,code_b).
        #[arg(long, requires = "regions")]
        adjacency: Option<PathBuf>,
        /// Disease catalogue CSV; default: the shipped national catalogue.
        #[arg(long)]
        catalogue: Option<PathBuf>,
    },
}

/// Groups `INSTITUTION=KEY` arguments by institution, in the order institutions first appear.
fn approver_list(arguments: &[String]) -> Result<Vec<Approver>> {
    let mut approvers: Vec<Approver> = Vec::new();
    for argument in arguments {
        let Some((institution, key)) = argument.split_once('=') else {
            bail!("--approver {argument}: expected INSTITUTION=KEY");
        };
        let institution: Institution = institution
            .parse()
            .with_context(|| format!("--approver {argument}"))?;
        let key = super::keys::public_key_arg(Path::new(key))
            .with_context(|| format!("--approver {argument}"))?;
        match approvers
            .iter_mut()
            .find(|approver| approver.institution == institution)
        {
            Some(approver) => approver.keys.push(key),
            None => approvers.push(Approver {
                institution,
                keys: vec![key],
            }),
        }
    }
    Ok(approvers)
}

/// Creates a root CA key and certificate in `out` (for a chain without an existing CA).
fn new_root(out: &Path) -> Result<Vec<u8>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let key_path = out.join("root-ca.key.pem");
    let key = KeyPair::generate()?;
    key.write_pem_file(&key_path)?;
    let validity =
        epichain_core::cert::Validity::days_from((wall_clock_ms() / 1000) as i64 - 3_600, 3_650);
    let certificate = epichain_core::cert::create_root(
        &key,
        "epichain National Root CA",
        "national-root-ca".parse()?,
        validity,
    )?;
    std::fs::write(
        out.join("root-ca.cert.pem"),
        epichain_core::cert::to_pem(&certificate),
    )?;
    println!("created root CA in {}", out.display());
    Ok(certificate)
}

pub fn run(command: GenesisCommand) -> Result<()> {
    let GenesisCommand::Init {
        out,
        root_cert,
        chain_name,
        approvers,
        approval_threshold,
        regions,
        adjacency,
        catalogue,
    } = command;
    let approvers = approver_list(&approvers)?;
    let approval_threshold = approval_threshold
        .unwrap_or_else(|| epichain_core::governance::threshold_bounds(approvers.len()).0);
    let genesis_path = out.join("genesis.json");
    if genesis_path.exists() {
        bail!("{} exists; refusing to overwrite", genesis_path.display());
    }
    let root_certificates = match root_cert {
        Some(path) => read_certificates(&path)?,
        None => vec![new_root(&out)?],
    };
    let regions = match (regions, adjacency) {
        (Some(regions), Some(adjacency)) => RegionSet::from_csv(
            &std::fs::read_to_string(&regions)
                .with_context(|| format!("reading {}", regions.display()))?,
            &std::fs::read_to_string(&adjacency)
                .with_context(|| format!("reading {}", adjacency.display()))?,
        )?,
        _ => RegionSet::shipped_guangdong()?,
    };
    let catalogue = match catalogue {
        Some(path) => Catalogue::from_csv(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?,
        None => Catalogue::shipped()?,
    };
    let genesis = Genesis {
        format_version: GENESIS_FORMAT_VERSION,
        chain_name,
        time_ms: wall_clock_ms(),
        root_certificates,
        catalogue,
        regions,
        approval_threshold,
        approvers,
        validators: Vec::new(),
        warning_rules: epichain_core::warning::WarningRule::defaults(),
        history: Vec::new(),
    };
    genesis.validate()?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(&genesis_path, genesis.to_json())
        .with_context(|| format!("writing {}", genesis_path.display()))?;
    println!("chain id {}", genesis.chain_id());
    println!("wrote {}", genesis_path.display());
    Ok(())
}
