//! `epichain ca`: the national root and certificate issuance.

use super::wall_clock_ms;
use anyhow::{Context, Result, bail};
use epichain_core::cert::{self, Claims, IssueRequest, Validity};
use epichain_core::keys::read_public_key_file;
use epichain_core::{Genesis, Institution, KeyPair, RegionCode, RegionSet, Role};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum CaCommand {
    /// Create the self-signed national root CA certificate.
    Init {
        /// Root key (PKCS#8 PEM); generated with mode 0600 if the file does not exist.
        #[arg(long)]
        key: PathBuf,
        /// Output certificate (PEM); must not exist.
        #[arg(long)]
        out: PathBuf,
        /// Common name.
        #[arg(long, default_value = "epichain National Root CA")]
        name: String,
        /// The organisation running the root (letters, digits, '-' and '.').
        #[arg(long, default_value = "national-root-ca")]
        institution: Institution,
        /// Validity in days from now.
        #[arg(long, default_value_t = 3650)]
        days: i64,
    },
    /// Issue a certificate binding a key to a role and home region.
    Issue {
        /// Issuing CA certificate (PEM; may be followed by the CAs above it).
        #[arg(long)]
        ca_cert: PathBuf,
        /// Issuing CA key (PKCS#8 PEM).
        #[arg(long)]
        ca_key: PathBuf,
        /// Role: patient, doctor, hospital, lab, pharmacy, device, data-provider, authority,
        /// validator, or ca (a subordinate certificate authority).
        #[arg(long)]
        role: Role,
        /// Home region (GB/T 2260 code, e.g. 440304; 000000 is national).
        #[arg(long)]
        region: RegionCode,
        /// The organisation the holder acts for: every key of one hospital, laboratory or CDC
        /// names the same id (e.g. its unified social credit code; letters, digits, '-', '.').
        #[arg(long)]
        institution: Institution,
        /// The holder's key: private key PEM, public key PEM, or 64 hex digits.
        #[arg(long)]
        subject_key: PathBuf,
        /// Output: the new certificate followed by the issuing chain without the root (PEM).
        #[arg(long)]
        out: PathBuf,
        /// Holder's name (default: role and region; refused for patients, whose certificates
        /// carry no name).
        #[arg(long)]
        name: Option<String>,
        /// Validity in days from now.
        #[arg(long, default_value_t = 730)]
        days: i64,
        /// Check the region against this genesis (default: the shipped Guangdong region set).
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// A node's TLS server certificate: an address (DNS name or IP) the node serves HTTPS
        /// on (repeatable; role validator only). Clients check it against the address they dial.
        #[arg(long = "server-name", value_name = "ADDRESS")]
        server_names: Vec<cert::ServerName>,
    },
}

pub fn run(command: CaCommand) -> Result<()> {
    match command {
        CaCommand::Init {
            key,
            out,
            name,
            institution,
            days,
        } => init(&key, &out, &name, institution, days),
        CaCommand::Issue {
            ca_cert,
            ca_key,
            role,
            region,
            institution,
            subject_key,
            out,
            name,
            days,
            genesis,
            server_names,
        } => {
            let regions = match genesis {
                Some(path) => read_genesis(&path)?.regions,
                None => RegionSet::shipped_guangdong()?,
            };
            regions.require(region)?;
            // A patient's certificate carries no name: enrolled certificates are public.
            let name = match (name, role) {
                (Some(_), Role::Patient) => {
                    bail!("a patient's certificate carries no name (--name is refused)")
                }
                (None, Role::Patient) => String::new(),
                (name, _) => name.unwrap_or_else(|| format!("{role} {region}")),
            };
            refuse_existing(&out)?;
            let request = IssueRequest {
                subject_key: read_public_key_file(&subject_key)?,
                claims: Claims {
                    role,
                    region,
                    institution,
                },
                common_name: &name,
                validity: validity(days)?,
            };
            issue(&ca_cert, &ca_key, &request, &server_names, &out)
        }
    }
}

fn validity(days: i64) -> Result<Validity> {
    if days <= 0 {
        bail!("--days must be positive");
    }
    // Valid from an hour ago, to tolerate clock skew between the CA and the chain.
    Ok(Validity::days_from(
        (wall_clock_ms() / 1000) as i64 - 3_600,
        days,
    ))
}

fn init(
    key_path: &Path,
    out: &Path,
    name: &str,
    institution: Institution,
    days: i64,
) -> Result<()> {
    refuse_existing(out)?;
    let key = if key_path.exists() {
        KeyPair::read_pem_file(key_path)?
    } else {
        let key = KeyPair::generate()?;
        key.write_pem_file(key_path)?;
        println!("generated root key {}", key_path.display());
        key
    };
    let certificate = cert::create_root(&key, name, institution, validity(days)?)?;
    write_new(out, &cert::to_pem(&certificate))?;
    println!("root CA {} → {}", key.public_key(), out.display());
    Ok(())
}

fn issue(
    ca_cert: &Path,
    ca_key: &Path,
    request: &IssueRequest<'_>,
    server_names: &[cert::ServerName],
    out: &Path,
) -> Result<()> {
    let chain = read_certificates(ca_cert)?;
    let ca_key = KeyPair::read_pem_file(ca_key)?;
    let certificate = if server_names.is_empty() {
        cert::issue(&chain[0], &ca_key, request)?
    } else {
        cert::issue_server(&chain[0], &ca_key, request, server_names)?
    };
    let (claims, subject) = (&request.claims, &request.subject_key);
    // The bundle a holder enrols with: the new certificate, then the intermediates (never roots).
    let mut pem = cert::to_pem(&certificate);
    for der in &chain {
        let parsed = cert::parse_certificate(der)?;
        if parsed.claims.region != RegionCode::NATIONAL {
            pem.push_str(&cert::to_pem(der));
        }
    }
    write_new(out, &pem)?;
    println!(
        "{} {} {} {subject} → {}",
        claims.role,
        claims.region,
        claims.institution,
        out.display()
    );
    Ok(())
}

/// Reads every certificate of a PEM (or DER) file.
pub fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    cert::certificates_from_pem_or_der(&bytes).with_context(|| format!("{}", path.display()))
}

/// Reads and validates a genesis file.
pub fn read_genesis(path: &Path) -> Result<Genesis> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Genesis::from_json(&text).with_context(|| format!("{}", path.display()))
}

fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() {
        bail!("{} exists; refusing to overwrite", path.display());
    }
    Ok(())
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    refuse_existing(path)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
