//! Time every method on the 1,000 × 520-week negative binomial series that R was timed on, and
//! compare with R surveillance 1.20.3's seconds per series (`benches/data/r_timing_summary.csv`).
//!
//! Run: `cargo bench -p epichain-detect`. Set `DETECT_BENCH_SERIES=N` (or pass `--series N`)
//! to time only the first N series for a quick run; `--only TEXT` keeps the methods whose label
//! contains TEXT.

use epichain_detect::run;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

/// Weekly data.
const WEEKS_PER_YEAR: u32 = 52;

/// (label, R timing key, method, parameters)
type Case = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const CASES: &[Case] = &[
    ("ears-c1", Some("earsC1"), "ears-c1", &[]),
    ("ears-c2", Some("earsC2"), "ears-c2", &[]),
    ("ears-c3", Some("earsC3"), "ears-c3", &[]),
    ("cusum (standard)", Some("cusum"), "cusum", &[]),
    ("glrnb Poisson", Some("glrpois"), "glrnb", &[("alpha", "0")]),
    (
        "farrington-flexible default",
        Some("ff_default"),
        "farrington-flexible",
        &[],
    ),
    (
        "farrington-flexible noPeriods=10 nbPlugin",
        Some("ff_noufaily"),
        "farrington-flexible",
        &[
            ("noPeriods", "10"),
            ("pastWeeksNotIncluded", "26"),
            ("thresholdMethod", "nbPlugin"),
        ],
    ),
    (
        "farrington classic (264:520)",
        Some("farrington_classic"),
        "farrington",
        &[("range_start", "264")],
    ),
    ("glrnb NB (estimated alpha)", None, "glrnb", &[]),
    ("mpm (5y, P80)", None, "mpm", &[]),
    ("fixed (k=1)", None, "fixed", &[]),
];

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("benches/data")
        .join(name)
}

/// Series of `timing_series_1000x520.csv` (`"series","t","observed"`), in series order.
fn read_series() -> Vec<Vec<f64>> {
    let text =
        std::fs::read_to_string(data_path("timing_series_1000x520.csv")).expect("timing data");
    let mut by_id: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(',').map(|f| f.trim_matches('"')).collect();
        let id: u32 = fields[0].parse().expect("series id");
        by_id
            .entry(id)
            .or_default()
            .push(fields[2].parse().expect("count"));
    }
    by_id.into_values().collect()
}

/// R's seconds per series by algorithm key.
fn read_r_timings() -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(data_path("r_timing_summary.csv")).expect("R timings");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let algorithm = header
        .iter()
        .position(|h| *h == "algo")
        .expect("algo column");
    let seconds = header
        .iter()
        .position(|h| *h == "sec_per_series")
        .expect("sec column");
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            (
                fields[algorithm].to_string(),
                fields[seconds].parse().expect("seconds"),
            )
        })
        .collect()
}

/// Value following `flag` on the command line.
fn argument(flag: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != flag).nth(1)
}

fn series_limit() -> Option<usize> {
    let from_argument = argument("--series").and_then(|v| v.parse().ok());
    from_argument.or_else(|| std::env::var("DETECT_BENCH_SERIES").ok()?.parse().ok())
}

fn main() {
    let mut series = read_series();
    if let Some(limit) = series_limit() {
        series.truncate(limit.max(1));
    }
    let r_timings = read_r_timings();
    println!(
        "epichain-detect on {} series x {} weeks (one core, release profile)\n",
        series.len(),
        series.first().map_or(0, Vec::len)
    );
    println!(
        "| {:<42} | {:>14} | {:>12} | {:>10} |",
        "method", "ours ms/series", "R s/series", "R / ours"
    );
    println!("|{:-<44}|{:->16}|{:->14}|{:->12}|", "", "", "", "");
    let only = argument("--only");
    for (label, r_key, method, parameters) in CASES {
        if only.as_deref().is_some_and(|text| !label.contains(text)) {
            continue;
        }
        let parameters: Vec<(String, String)> = parameters
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let started = Instant::now();
        let mut rows = 0usize;
        for counts in &series {
            let output =
                run(method, &parameters, WEEKS_PER_YEAR, black_box(counts)).expect("method runs");
            rows += output.rows.len();
        }
        black_box(rows);
        let seconds_per_series = started.elapsed().as_secs_f64() / series.len() as f64;
        let r_seconds = r_key.and_then(|key| r_timings.get(key).copied());
        let (r_text, ratio_text) = match r_seconds {
            Some(r) => (format!("{r:.4}"), format!("{:.0}x", r / seconds_per_series)),
            None => ("-".to_string(), "-".to_string()),
        };
        println!(
            "| {:<42} | {:>14.4} | {:>12} | {:>10} |",
            label,
            seconds_per_series * 1e3,
            r_text,
            ratio_text
        );
    }
}
