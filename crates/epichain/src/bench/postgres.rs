//! What a user would pick instead: the same case reports (same fields, a disease × region ×
//! onset-day index, the case id as primary key) loaded into a local PostgreSQL in durable
//! 1,000-row transactions (`COPY … FROM STDIN (FORMAT binary)`, `synchronous_commit = on`,
//! `fsync = on`), timed like the ledger. It starts its own server on a Unix socket in a
//! temporary directory (Debian's `postgresql` package) and stops it; it reports clearly when
//! none is installed.
//!
//! PostgreSQL here verifies no signature, keeps no Merkle state, no version chains and no
//! counts: it is the floor of "a durable indexed table", not an equivalent system.

use epichain_core::case::case_id;
use epichain_core::{Payload, SignedTransaction, encoding};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Where Debian installs PostgreSQL's server programs (one directory per major version).
const POSTGRESQL_LIB_DIR: &str = "/usr/lib/postgresql";

/// The account Debian's package creates; the server refuses to run as root.
const POSTGRES_USER: &str = "postgres";

/// What the PostgreSQL run produced.
#[derive(Clone, Debug)]
pub enum PostgresOutcome {
    /// Rows loaded per second, over this many rows, by this server version.
    Measured {
        /// Rows per second, wall clock, including every commit's fsync.
        rows_per_second: f64,
        /// Rows loaded.
        rows: usize,
        /// Server major version.
        version: String,
    },
    /// Nothing measured, and why.
    Unavailable(String),
}

impl PostgresOutcome {
    /// Adds its rows to a benchmark table.
    pub(crate) fn rows(&self, row: &mut impl FnMut(String, f64)) {
        if let PostgresOutcome::Measured {
            rows_per_second,
            version,
            ..
        } = self
        {
            row(
                format!(
                    "PostgreSQL {version}: same reports, COPY in 1,000-row durable transactions"
                ),
                *rows_per_second,
            );
        }
    }
}

/// Loads the reports of `blocks` into a fresh local PostgreSQL.
pub fn run(blocks: &[Vec<SignedTransaction>]) -> PostgresOutcome {
    let Some(bin) = server_programs() else {
        return PostgresOutcome::Unavailable(format!(
            "PostgreSQL is not installed (no {POSTGRESQL_LIB_DIR}/*/bin/initdb; Debian: apt-get install postgresql)"
        ));
    };
    match measure(&bin, blocks) {
        Ok(outcome) => outcome,
        Err(reason) => PostgresOutcome::Unavailable(reason),
    }
}

/// The newest installed version's `bin` directory.
fn server_programs() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(POSTGRESQL_LIB_DIR)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A server started in a temporary directory, stopped when dropped.
struct Server {
    bin: PathBuf,
    directory: tempfile::TempDir,
    as_postgres: bool,
}

impl Server {
    fn data(&self) -> PathBuf {
        self.directory.path().join("data")
    }

    fn start(bin: &Path) -> Result<Server, String> {
        let directory =
            tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
        let as_postgres = running_as_root();
        let server = Server {
            bin: bin.to_path_buf(),
            directory,
            as_postgres,
        };
        if as_postgres {
            run_command(
                Command::new("chown")
                    .arg(format!("{POSTGRES_USER}:{POSTGRES_USER}"))
                    .arg(server.directory.path()),
            )?;
        }
        let data = server.data();
        server.program(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-A",
                "trust",
                "-U",
                POSTGRES_USER,
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        )?;
        let options = format!(
            "-c listen_addresses='' -k {} -c fsync=on -c synchronous_commit=on -c full_page_writes=on",
            server.directory.path().display()
        );
        let log = server.directory.path().join("server.log");
        server.program(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        )?;
        Ok(server)
    }

    /// Runs one of the server's programs, as the postgres account when we are root.
    fn program(&self, name: &str, arguments: &[&str]) -> Result<(), String> {
        let program = self.bin.join(name);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", POSTGRES_USER, "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        run_command(command.args(arguments))
    }

    fn connect(&self) -> Result<postgres::Client, String> {
        postgres::Config::new()
            .host_path(self.directory.path())
            .user(POSTGRES_USER)
            .dbname("postgres")
            .connect(postgres::NoTls)
            .map_err(|error| format!("cannot connect to the benchmark PostgreSQL: {error}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.program(
            "pg_ctl",
            &["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"],
        );
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

fn run_command(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("cannot run {:?}: {error}", command.get_program()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

const SCHEMA: &str = "CREATE TABLE case_reports (
    case_id bytea PRIMARY KEY,
    disease text NOT NULL,
    region integer NOT NULL,
    onset_day integer NOT NULL,
    diagnosis_day integer NOT NULL,
    age_band smallint NOT NULL,
    sex smallint NOT NULL,
    status smallint NOT NULL,
    patient bytea NOT NULL,
    reporter bytea NOT NULL,
    nonce bigint NOT NULL,
    sealed bytea NOT NULL,
    signature bytea NOT NULL
);
CREATE INDEX case_reports_disease_region_day ON case_reports (disease, region, onset_day);";

const COLUMN_TYPES: [Type; 13] = [
    Type::BYTEA,
    Type::TEXT,
    Type::INT4,
    Type::INT4,
    Type::INT4,
    Type::INT2,
    Type::INT2,
    Type::INT2,
    Type::BYTEA,
    Type::BYTEA,
    Type::INT8,
    Type::BYTEA,
    Type::BYTEA,
];

fn measure(bin: &Path, blocks: &[Vec<SignedTransaction>]) -> Result<PostgresOutcome, String> {
    let server = Server::start(bin)?;
    let mut client = server.connect()?;
    let failed = |error: postgres::Error| format!("PostgreSQL: {error}");
    client.batch_execute(SCHEMA).map_err(failed)?;
    let version: String = client
        .query_one("SHOW server_version", &[])
        .map_err(failed)?
        .get(0);
    let started = Instant::now();
    let mut rows = 0;
    for block in blocks {
        let mut transaction = client.transaction().map_err(failed)?;
        let sink = transaction
            .copy_in("COPY case_reports FROM STDIN (FORMAT binary)")
            .map_err(failed)?;
        let mut writer = BinaryCopyInWriter::new(sink, &COLUMN_TYPES);
        for signed in block {
            let Payload::ReportCase(report) = &signed.transaction.payload else {
                continue;
            };
            let id = case_id(&signed.transaction.signer, signed.transaction.nonce);
            let disease = report.disease.as_str().to_string();
            let values: [&(dyn ToSql + Sync); 13] = [
                &id.0.as_slice(),
                &disease,
                &(report.region.value() as i32),
                &(report.onset_day.0 as i32),
                &(report.diagnosis_day.0 as i32),
                &i16::from(report.age_band),
                &(report.sex as i16),
                &(report.status as i16),
                &encoding::encode(&report.patient),
                &signed.transaction.signer.0.as_slice(),
                &(signed.transaction.nonce as i64),
                &report.sealed,
                &signed.signature.0.as_slice(),
            ];
            writer.write(&values).map_err(failed)?;
            rows += 1;
        }
        writer.finish().map_err(failed)?;
        transaction.commit().map_err(failed)?;
    }
    let elapsed = started.elapsed();
    Ok(PostgresOutcome::Measured {
        rows_per_second: rows as f64 / elapsed.as_secs_f64(),
        rows,
        version: version.split_whitespace().next().unwrap_or("").to_string(),
    })
}
