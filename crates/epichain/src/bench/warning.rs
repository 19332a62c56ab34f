//! `epichain bench warning`: (1) on a running devnet, the time from submitting a report that
//! crosses a threshold to its signal being visible through the API; (2) on one core, the time to
//! evaluate every series of a national-scale day with the default rules.

use crate::bench::percentile;
use crate::devnet;
use crate::table::Table;
use epichain_client::api::signals::SignalQuery;
use epichain_core::warning::{Period, WarningRule};
use epichain_core::{Catalogue, Day, Level};
use epichain_detect::MethodConfig;
use epichain_ledger::warning::method_of;
use std::time::{Duration, Instant};

/// Districts of the national-scale evaluation.
pub const NATIONAL_DISTRICTS: usize = 3_000;
/// Cities of the national-scale evaluation.
pub const NATIONAL_CITIES: usize = 340;
/// Provinces of the national-scale evaluation.
pub const NATIONAL_PROVINCES: usize = 31;

/// Results.
#[derive(Clone, Debug)]
pub struct WarningBenchReport {
    /// Triggers measured.
    pub triggers: usize,
    /// Report → signal visible, p50 and p99, milliseconds.
    pub trigger_ms: (f64, f64),
    /// Series evaluated in the national-scale day.
    pub series: usize,
    /// Time to evaluate them on one core.
    pub national_day: Duration,
}

impl WarningBenchReport {
    /// The printed table.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&["measurement", "value", "target"]);
        table.row(vec![
            format!(
                "report → signal visible via the API ({} triggers), p50 / p99",
                self.triggers
            ),
            format!("{:.0} / {:.0} ms", self.trigger_ms.0, self.trigger_ms.1),
            "p99 ≤ 1,000 ms".into(),
        ]);
        table.row(vec![
            format!(
                "evaluate a national-scale day: {} series ({NATIONAL_DISTRICTS} districts, {NATIONAL_CITIES} cities, {NATIONAL_PROVINCES} provinces, nation × 41 diseases), one core",
                self.series
            ),
            format!("{:.0} ms", self.national_day.as_secs_f64() * 1000.0),
            "≤ 1,000 ms".into(),
        ]);
        table
    }
}

/// A seasonal daily series of `length` days with mean around `level` (deterministic).
fn synthetic_series(seed: u64, length: usize, level: u64) -> Vec<f64> {
    (0..length)
        .map(|day| (crate::world::splitmix(seed ^ (day as u64) << 20) % (2 * level + 1)) as f64)
        .collect()
}

/// Evaluates every series of one national-scale day with `rules`: daily rules on every series
/// at their level, weekly rules as when a week closes. Returns (series evaluated, time).
pub fn national_day(rules: &[WarningRule], catalogue: &Catalogue) -> (usize, Duration) {
    let regions_per_level = |level: Level| match level {
        Level::District => NATIONAL_DISTRICTS,
        Level::City => NATIONAL_CITIES,
        Level::Province => NATIONAL_PROVINCES,
        Level::National => 1,
    };
    // Build the inputs first (not timed): one series per rule, region and disease. Rules are
    // parsed once, as the ledger does per block.
    let mut work: Vec<(MethodConfig, Vec<f64>)> = Vec::new();
    for rule in rules {
        let Ok((method, length)) = method_of(rule) else {
            continue;
        };
        let level_mean = match rule.level {
            Level::District => 1,
            Level::City => 5,
            Level::Province => 40,
            Level::National => 400,
        };
        let per_period = if rule.period == Period::Weekly { 7 } else { 1 };
        for region in 0..regions_per_level(rule.level) {
            for disease in catalogue
                .iter()
                .filter(|disease| rule.diseases.covers(&disease.code, catalogue))
            {
                let seed =
                    (region as u64) << 32 ^ u64::from(disease.code.as_str().len() as u32) << 8;
                work.push((
                    method.clone(),
                    synthetic_series(seed, length, level_mean * per_period),
                ));
            }
        }
    }
    let started = Instant::now();
    let mut alarms = 0usize;
    for (method, series) in &work {
        if method
            .evaluate_last(series)
            .is_ok_and(|evaluation| evaluation.alarm)
        {
            alarms += 1;
        }
    }
    let elapsed = started.elapsed();
    std::hint::black_box(alarms);
    (work.len(), elapsed)
}

/// Runs both measurements; `triggers` reports are sent to `node` of the devnet in `directory`.
pub async fn run(
    node: &str,
    directory: &std::path::Path,
    triggers: usize,
) -> Result<WarningBenchReport, String> {
    let (client, mut devnet) = devnet::attach_bench(node, directory)
        .await
        .map_err(|error| error.to_string())?;
    let catalogue = devnet.world.genesis.catalogue.clone();
    let status = client.status().await.map_err(|error| error.to_string())?;
    let today_ms = status.time_ms;
    let day = Day::from_unix_ms(today_ms);
    let since = day.start_unix_ms().max(0) as u64;
    let pairs = devnet::unsignalled_pairs(&client, &devnet, since, triggers, &[])
        .await
        .map_err(|error| error.to_string())?;
    let mut latencies = Vec::new();
    for (disease, unit) in &pairs {
        let query = SignalQuery::newest(disease, unit, since);
        let report = devnet
            .world
            .case_report(day, disease, &unit.to_string())
            .map_err(|error| error.to_string())?;
        let transaction = devnet
            .world
            .identity("bench-provincial-hospital")
            .map_err(|error| error.to_string())?
            .signer
            .report(report)
            .0;
        let started = Instant::now();
        client
            .submit(&transaction)
            .await
            .map_err(|error| error.to_string())?;
        loop {
            let found = client
                .signals(&query)
                .await
                .map_err(|error| error.to_string())?;
            if !found.is_empty() {
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("no signal for {disease} in {unit} after 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    latencies.sort_by(f64::total_cmp);
    let (series, national) = national_day(&WarningRule::defaults(), &catalogue);
    Ok(WarningBenchReport {
        triggers: latencies.len(),
        trigger_ms: (percentile(&latencies, 0.5), percentile(&latencies, 0.99)),
        series,
        national_day: national,
    })
}
