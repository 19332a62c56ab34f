//! Prometheus metrics (via the `metrics` facade): height, finalization latency, transactions,
//! mempool, peers, proposal build time.

use epichain_ledger::BlockOutcome;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::time::Duration;

/// Finalization latency buckets, seconds.
const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
];

/// Installs the Prometheus recorder for this process (once) and returns its handle.
pub fn install() -> Option<PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("seconds".to_string()),
            LATENCY_BUCKETS_SECONDS,
        )
        .ok()?
        .install_recorder()
        .ok()
}

/// A block was committed at `now_ms`.
pub fn block_finalized(outcome: &BlockOutcome, now_ms: u64) {
    let header = &outcome.header;
    metrics::gauge!("epichain_height").set(header.height as f64);
    metrics::counter!("epichain_blocks_total").increment(1);
    metrics::counter!("epichain_transactions_total").increment(outcome.receipts.len() as u64);
    let rejected = outcome
        .receipts
        .iter()
        .filter(|receipt| !matches!(receipt.outcome, epichain_core::TransactionOutcome::Applied))
        .count();
    metrics::counter!("epichain_transactions_rejected_total").increment(rejected as u64);
    let latency_ms = now_ms.saturating_sub(header.time_ms);
    metrics::histogram!("epichain_finalization_latency_seconds").record(latency_ms as f64 / 1000.0);
}

/// Mempool size.
pub fn mempool(transactions: usize, bytes: usize) {
    metrics::gauge!("epichain_mempool_transactions").set(transactions as f64);
    metrics::gauge!("epichain_mempool_bytes").set(bytes as f64);
}

/// Connected peers.
pub fn peers(count: usize) {
    metrics::gauge!("epichain_peers").set(count as f64);
}

/// Time to build a proposal.
pub fn proposal_built(elapsed: Duration) {
    metrics::histogram!("epichain_proposal_build_seconds").record(elapsed.as_secs_f64());
}

/// A submission was accepted or refused.
pub fn submission(accepted: bool) {
    let outcome = if accepted { "accepted" } else { "refused" };
    metrics::counter!("epichain_submissions_total", "outcome" => outcome).increment(1);
}
