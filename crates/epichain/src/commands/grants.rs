//! `epichain grants list`: disclosure grants on a running network, as a table or CSV.

use anyhow::Result;
use epichain::table::{Format, Table};
use epichain_client::api::disclosure::{GrantQuery, GrantSource, GrantStatus};
use epichain_core::{Hash, KeyPair};
use std::path::PathBuf;

/// Most grants one listing asks for (the API's page maximum).
const GRANTS_LISTED_MAX: usize = 1_000;

#[derive(Debug, clap::Subcommand)]
pub enum GrantsCommand {
    /// List disclosure grants, newest first: why each opened, which records, until when.
    List {
        /// Node API URL.
        #[arg(long, default_value = "https://127.0.0.1:18000")]
        node: String,
        /// Read as this enrolled key (PKCS#8 PEM).
        #[arg(long)]
        key: Option<PathBuf>,
        /// open, expired or revoked.
        #[arg(long)]
        status: Option<GrantStatus>,
        /// Only grants covering this case.
        #[arg(long)]
        case: Option<Hash>,
        /// Most rows (at most 1,000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// table, or csv (RFC 4180, for spreadsheets and data frames).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

pub fn run(command: GrantsCommand) -> Result<()> {
    let GrantsCommand::List {
        node,
        key,
        status,
        case,
        limit,
        format,
    } = command;
    if limit == 0 || limit > GRANTS_LISTED_MAX {
        anyhow::bail!("--limit must be 1 to {GRANTS_LISTED_MAX}");
    }
    let client = super::client_for(&node, None)?;
    let query = GrantQuery {
        status,
        case: case.map(|case| case.to_hex()),
        limit: Some(limit),
        cursor: None,
    };
    let grants = super::network::runtime()?.block_on(async {
        let client = match key {
            Some(path) => client.signed_by(KeyPair::read_pem_file(&path)?).await?,
            None => client,
        };
        anyhow::Ok(client.grants(&query).await?)
    })?;
    let mut table = Table::new(&[
        "created (CST)",
        "source",
        "disease",
        "region",
        "first_day",
        "last_day",
        "purpose",
        "status",
        "expires (CST)",
        "id",
    ]);
    for grant in grants {
        let source = match grant.source {
            GrantSource::Outbreak { signal } => format!("signal {}", signal.to_hex()),
            GrantSource::Governance { sequence } => format!("governance {sequence}"),
        };
        table.row(vec![
            epichain::demo::format_time(grant.created_time_ms),
            source,
            grant.scope.disease.to_string(),
            grant.scope.region.to_string(),
            grant.scope.first_day.to_string(),
            grant.scope.last_day.to_string(),
            grant.purpose.to_string(),
            grant.status.to_string(),
            epichain::demo::format_time(grant.expires_time_ms),
            grant.id.to_hex(),
        ]);
    }
    print!("{}", table.render_as(format));
    Ok(())
}
