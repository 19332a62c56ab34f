//! `epichain demo`: a four-level world applied as blocks to an on-disk ledger, then summarised:
//! counts by region and disease, one record's full version history, the state root.

use crate::table::Table;
use crate::world::DemoWorld;
use anyhow::{Context, Result, bail};
use epichain_core::{
    CaseChange, CaseStatus, Day, Hash, Outcome, RegionCode, SignedTransaction, TransactionOutcome,
};
use epichain_ledger::state::{CaseRecord, verify_version_chain};
use epichain_ledger::{Ledger, LedgerReader};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Days of reporting in the demo.
pub const DEMO_DAYS: u32 = 14;
/// Reports per day.
pub const DEMO_REPORTS_PER_DAY: usize = 3;

/// What the demo produced.
#[derive(Debug)]
pub struct DemoSummary {
    /// Blocks applied.
    pub height: u64,
    /// Final state root.
    pub state_root: Hash,
    /// Cases reported.
    pub cases: usize,
    /// Transactions rejected (the demo sends a few on purpose).
    pub rejected: usize,
}

/// Runs the demo in `directory`, with genesis `DEMO_DAYS + 1` days before `now_ms`.
#[allow(clippy::too_many_lines)] // A narrated scenario printed step by step.
pub fn run(directory: &Path, now_ms: u64, out: &mut impl Write) -> Result<DemoSummary> {
    let today = Day::from_unix_ms(now_ms);
    let first_day = Day(today.0 - DEMO_DAYS - 1);
    let genesis_ms = first_day.start_unix_ms() as u64;
    let ledger_path = directory.join("ledger.redb");
    if ledger_path.exists() {
        bail!(
            "{} already holds a ledger; run the demo in a new directory",
            ledger_path.display()
        );
    }
    let mut world = DemoWorld::new(genesis_ms, Vec::new())?;
    world.write_files(directory)?;
    let mut ledger = Ledger::open(&ledger_path, &world.genesis).context("opening the ledger")?;
    writeln!(out, "epichain demo — chain {}", world.genesis.chain_id())?;
    writeln!(out, "data directory: {}", directory.display())?;
    writeln!(out)?;

    let mut rejected = 0;
    let mut cases = Vec::new();
    let mut first_report: Option<SignedTransaction> = None;
    let mut enrolments = world.enrolments();
    enrolments.extend(world.publications());
    rejected += apply(&mut ledger, genesis_ms + 3_600_000, enrolments, out)?;
    writeln!(
        out,
        "block 1: enrolled {} identities under a national → province → city CA hierarchy",
        world.identities.len()
    )?;

    for offset in 1..=DEMO_DAYS {
        let day = Day(first_day.0 + offset);
        let morning = day.start_unix_ms() as u64 + 9 * 3_600_000;
        let reports = world.sealed_reports(day, DEMO_REPORTS_PER_DAY, u64::from(day.0), None)?;
        cases.extend(reports.iter().map(|(_, id)| *id));
        let transactions: Vec<SignedTransaction> = reports
            .into_iter()
            .map(|(transaction, _)| transaction)
            .collect();
        if first_report.is_none() {
            first_report = transactions.first().cloned();
        }
        rejected += apply(&mut ledger, morning, transactions, out)?;
        let afternoon = morning + 6 * 3_600_000;
        let updates = follow_up(&mut world, &ledger.reader()?, &cases, offset)?;
        rejected += apply(&mut ledger, afternoon, updates, out)?;
    }

    // Transactions the ledger must refuse: a Shenzhen hospital reporting in Guangzhou, a
    // laboratory trying to report, and the very first report replayed.
    let evening = today.start_unix_ms() as u64 + 20 * 3_600_000;
    let mut refused = Vec::new();
    let mut outside = world.case_report(today, "DENGUE", "440104")?;
    refused.push(
        world
            .identity("futian-hospital")?
            .signer
            .report(outside.clone())
            .0,
    );
    outside.region = "440304".parse()?;
    refused.push(world.identity("shenzhen-lab")?.signer.report(outside).0);
    refused.extend(first_report);
    rejected += apply(&mut ledger, evening, refused, out)?;

    let reader = ledger.reader()?;
    writeln!(out)?;
    print_counts(&reader, out)?;
    writeln!(out)?;
    print_history(&reader, &cases, out)?;
    let tip = ledger.tip();
    writeln!(out)?;
    writeln!(out, "height      {}", tip.height)?;
    writeln!(out, "tip hash    {}", tip.hash)?;
    writeln!(out, "state root  {}", tip.state_root)?;
    writeln!(
        out,
        "re-checked  state root recomputed from the stored tree: {}",
        if reader.state_root(tip.height)? == tip.state_root {
            "matches"
        } else {
            "MISMATCH"
        }
    )?;
    Ok(DemoSummary {
        height: tip.height,
        state_root: tip.state_root,
        cases: cases.len(),
        rejected,
    })
}

/// Appends one block and prints each rejection; returns how many were rejected.
fn apply(
    ledger: &mut Ledger,
    time_ms: u64,
    transactions: Vec<SignedTransaction>,
    out: &mut impl Write,
) -> Result<usize> {
    let kinds: Vec<&'static str> = transactions
        .iter()
        .map(|transaction| transaction.transaction.payload.kind())
        .collect();
    let ids: Vec<Hash> = transactions.iter().map(SignedTransaction::id).collect();
    let outcome = ledger.append(time_ms, transactions)?;
    let mut rejected = 0;
    let refused = outcome.unauthenticated.iter().map(|refused| {
        (
            refused.id,
            kinds[refused.position],
            "left out",
            &refused.rejection,
        )
    });
    let receipts = outcome
        .receipts
        .iter()
        .filter_map(|receipt| match &receipt.outcome {
            TransactionOutcome::Rejected(rejection) => {
                let position = ids.iter().position(|id| *id == receipt.transaction_id)?;
                Some((
                    receipt.transaction_id,
                    kinds[position],
                    "rejected",
                    rejection,
                ))
            }
            TransactionOutcome::Applied => None,
        });
    for (id, kind, verdict, rejection) in receipts.chain(refused) {
        rejected += 1;
        writeln!(
            out,
            "block {}: {verdict} {kind} {}: {}: {rejection}",
            outcome.header.height,
            &id.to_hex()[..12],
            rejection.code()
        )?;
    }
    Ok(rejected)
}

/// The afternoon's work on earlier cases: laboratories confirm, district CDCs exclude, hospitals
/// record outcomes, and one record is closed.
fn follow_up(
    world: &mut DemoWorld,
    reader: &LedgerReader,
    cases: &[Hash],
    day_offset: u32,
) -> Result<Vec<SignedTransaction>> {
    let mut updates = Vec::new();
    let from = cases.len().saturating_sub(2 * DEMO_REPORTS_PER_DAY);
    for (index, id) in cases.iter().enumerate().skip(from) {
        let record = reader.case(id)?.context("reported case missing")?;
        if record.state.closed || record.state.status == CaseStatus::Excluded {
            continue;
        }
        let step = (index as u32 + day_offset) % 5;
        let (handle, change) = match (record.state.status, step) {
            (CaseStatus::LabConfirmed, 0 | 1) => (
                reporter_handle(&record)?,
                CaseChange::Outcome(Outcome::Recovered),
            ),
            (CaseStatus::LabConfirmed, 2) => (district_cdc(record.region)?, CaseChange::Close),
            (_, 0 | 2) => (
                lab_handle(record.region)?,
                CaseChange::Status(CaseStatus::LabConfirmed),
            ),
            (CaseStatus::Suspected, 1) => (
                clinician_handle(&record)?,
                CaseChange::Status(CaseStatus::ClinicallyDiagnosed),
            ),
            (CaseStatus::Suspected | CaseStatus::ClinicallyDiagnosed, 3) => (
                district_cdc(record.region)?,
                CaseChange::Status(CaseStatus::Excluded),
            ),
            _ => continue,
        };
        let signer = &mut world.identity(handle)?.signer;
        updates.push(signer.update(*id, record.head, change, Vec::new()));
    }
    Ok(updates)
}

fn reporter_handle(record: &CaseRecord) -> Result<&'static str> {
    Ok(match record.region.to_string().as_str() {
        "440304" => "futian-hospital",
        "440305" => "nanshan-hospital",
        "440104" => "yuexiu-hospital",
        "440111" => "baiyun-hospital",
        other => bail!("no demo hospital in {other}"),
    })
}

/// The Futian doctor diagnoses Futian cases; elsewhere the reporting hospital does.
fn clinician_handle(record: &CaseRecord) -> Result<&'static str> {
    if record.region == "440304".parse::<RegionCode>()? {
        Ok("futian-doctor")
    } else {
        reporter_handle(record)
    }
}

fn lab_handle(region: RegionCode) -> Result<&'static str> {
    Ok(if region.is_within("440300".parse()?) {
        "shenzhen-lab"
    } else {
        "guangzhou-lab"
    })
}

fn district_cdc(region: RegionCode) -> Result<&'static str> {
    Ok(match region.to_string().as_str() {
        "440304" => "futian-cdc",
        "440305" => "nanshan-cdc",
        "440104" => "yuexiu-cdc",
        _ => "guangzhou-cdc",
    })
}

/// Counts by district and disease, per status, from the ledger's disease × region index.
#[allow(clippy::too_many_lines)] // A narrated scenario printed step by step.
fn print_counts(reader: &LedgerReader, out: &mut impl Write) -> Result<()> {
    let config = reader.config()?;
    let mut counts: BTreeMap<(RegionCode, String), [usize; 4]> = BTreeMap::new();
    for disease in config.catalogue.iter() {
        let ids = reader.store().cases_by_disease(
            &disease.code,
            RegionCode::NATIONAL,
            0,
            u32::MAX,
            usize::MAX,
        )?;
        for id in ids {
            let record = reader.case(&id)?.context("indexed case missing")?;
            let row = counts
                .entry((record.region, disease.code.to_string()))
                .or_default();
            row[record.state.status as usize] += 1;
        }
    }
    let mut table = Table::new(&[
        "region",
        "name",
        "disease",
        "suspected",
        "clinical",
        "confirmed",
        "excluded",
    ]);
    for ((region, disease), row) in &counts {
        let name = config
            .regions
            .get(*region)
            .map(|info| info.name_en.clone())
            .unwrap_or_default();
        table.row(vec![
            region.to_string(),
            name,
            disease.clone(),
            row[0].to_string(),
            row[1].to_string(),
            row[2].to_string(),
            row[3].to_string(),
        ]);
    }
    writeln!(out, "Cases by district and disease (current status):")?;
    write!(out, "{}", table.render())?;

    // The same counts rolled up the four levels: district → city → province → nation.
    let mut rolled: BTreeMap<RegionCode, [usize; 4]> = BTreeMap::new();
    for ((region, _), row) in &counts {
        for level in region.lineage() {
            let total = rolled.entry(level).or_default();
            for (sum, count) in total.iter_mut().zip(row) {
                *sum += count;
            }
        }
    }
    let mut table = Table::new(&["region", "level", "name", "active", "confirmed", "excluded"]);
    for (region, row) in &rolled {
        let name = if *region == RegionCode::NATIONAL {
            "China".to_string()
        } else {
            config
                .regions
                .get(*region)
                .map(|info| info.name_en.clone())
                .unwrap_or_default()
        };
        table.row(vec![
            region.to_string(),
            region.level().to_string(),
            name,
            (row[0] + row[1] + row[2]).to_string(),
            row[2].to_string(),
            row[3].to_string(),
        ]);
    }
    writeln!(out)?;
    writeln!(out, "All diseases, rolled up the four levels:")?;
    write!(out, "{}", table.render())?;
    Ok(())
}

/// The full version history of the case with the most versions, with its hash chain checked.
fn print_history(reader: &LedgerReader, cases: &[Hash], out: &mut impl Write) -> Result<()> {
    let mut best: Option<CaseRecord> = None;
    for id in cases {
        if let Some(record) = reader.case(id)?
            && best
                .as_ref()
                .is_none_or(|current| record.version > current.version)
        {
            best = Some(record);
        }
    }
    let Some(record) = best else {
        return Ok(());
    };
    let history = reader.case_history(&record.case_id)?;
    writeln!(
        out,
        "Version history of case {} ({} in {}):",
        record.case_id, record.disease, record.region
    )?;
    let mut table = Table::new(&[
        "version",
        "block",
        "time (CST)",
        "by",
        "change",
        "status",
        "hash",
    ]);
    for view in &history {
        let version = &view.version;
        let signer = reader
            .identity(&version.signer)?
            .map(|identity| identity.name)
            .unwrap_or_else(|| version.signer.short());
        let change = match &view.change {
            epichain_ledger::state::VersionChange::Report(_) => "reported".to_string(),
            epichain_ledger::state::VersionChange::Update { change, .. } => match change {
                CaseChange::Status(status) => format!("status → {status}"),
                CaseChange::Outcome(outcome) => format!("outcome {outcome:?}").to_lowercase(),
                CaseChange::Close => "closed".to_string(),
                CaseChange::Amend => "amended details".to_string(),
            },
        };
        table.row(vec![
            version.version.to_string(),
            version.location.height.to_string(),
            format_time(version.time_ms),
            signer,
            change,
            version.state.status.to_string(),
            version.hash().to_hex()[..16].to_string(),
        ]);
    }
    write!(out, "{}", table.render())?;
    let versions: Vec<_> = history.into_iter().map(|view| view.version).collect();
    let verdict = match verify_version_chain(&versions, &record.head) {
        Ok(()) => {
            "unbroken: every version names its predecessor and the head names the last".to_string()
        }
        Err(error) => format!("BROKEN: {error}"),
    };
    writeln!(out, "hash chain: {verdict}")?;
    Ok(())
}

/// `YYYY-MM-DD HH:MM` in China Standard Time.
pub fn format_time(time_ms: u64) -> String {
    let day = Day::from_unix_ms(time_ms);
    let minutes = ((time_ms as i64 - day.start_unix_ms()) / 60_000) as u64;
    format!("{day} {:02}:{:02}", minutes / 60, minutes % 60)
}
