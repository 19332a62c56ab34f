//! `epichain bench privacy`: (1) on one core, sealing and opening case details per second and
//! the escrow's costs (a holder's partial decryption, a grantee's release from k partials),
//! beside Ed25519 verifications per second measured in the same run; (2) on a running devnet,
//! the time from a confirmed outbreak's final confirmation to the first grantee's decryption,
//! and from a site's pseudonym request to its pseudonym (review H4: the CDC's VOPRF through the
//! chain).

use crate::devnet;
use crate::table::Table;
use epichain_client::api::signals::SignalQuery;
use epichain_client::read::ReadPath;
use epichain_core::keys::{KeyPair, SignedMessage, verify_many};
use epichain_core::sealed::{self, CaseDetails, EncryptionKeyPair, Envelope};
use epichain_core::warning::Step;
use epichain_core::{Day, Hash, PublicKey};
use std::time::{Duration, Instant};

/// Results.
#[derive(Clone, Debug)]
pub struct PrivacyBenchReport {
    /// Ed25519 signature verifications per second (one at a time), the reference.
    pub verify_per_second: f64,
    /// Seals per second (two HPKE readers + escrow wrap).
    pub seal_per_second: f64,
    /// Opens per second as a reader.
    pub open_per_second: f64,
    /// Partial decryptions per second (one holder).
    pub partial_per_second: f64,
    /// Releases per second (verify k partials, recover, decrypt, open).
    pub release_per_second: f64,
    /// Outbreaks confirmed on the devnet.
    pub outbreaks: usize,
    /// Final confirmation → k shares visible to the grantee, per outbreak, milliseconds.
    pub shares_ms: Vec<f64>,
    /// Final confirmation → details decrypted by the grantee (access log included), ms.
    pub read_ms: Vec<f64>,
    /// A site blinds one identity number (VOPRF client), per second.
    pub blind_per_second: f64,
    /// The CDC evaluates one blinded number with its proof, per second.
    pub evaluate_per_second: f64,
    /// A site checks the proof and unblinds one evaluation, per second.
    pub finalize_per_second: f64,
    /// Site request → pseudonym (request and answer finalized), per request, milliseconds.
    pub pseudonym_ms: Vec<f64>,
}

fn rate(iterations: usize, elapsed: Duration) -> f64 {
    iterations as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn maximum(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

impl PrivacyBenchReport {
    /// The printed table.
    pub fn table(&self) -> Table {
        let mut table = Table::new(&["measurement", "value", "vs Ed25519 verify"]);
        let relative = |value: f64| format!("{:.3}×", value / self.verify_per_second);
        table.row(vec![
            "Ed25519 signature verifications, one core (reference)".into(),
            format!("{:.0} /s", self.verify_per_second),
            "1×".into(),
        ]);
        for (name, value) in [
            (
                "seal case details (fresh data key, HPKE to 2 readers, escrow IBE wrap)",
                self.seal_per_second,
            ),
            (
                "open case details as a reader (HPKE unwrap + AEAD)",
                self.open_per_second,
            ),
            (
                "escrow holder: partial decryption of one record",
                self.partial_per_second,
            ),
            (
                "grantee: release a data key from 3 of 4 partials and open",
                self.release_per_second,
            ),
            (
                "reporting site: blind one identity number (RFC 9497 VOPRF)",
                self.blind_per_second,
            ),
            (
                "CDC: evaluate one blinded number with its proof",
                self.evaluate_per_second,
            ),
            (
                "reporting site: check the proof and unblind one pseudonym",
                self.finalize_per_second,
            ),
        ] {
            table.row(vec![name.into(), format!("{value:.0} /s"), relative(value)]);
        }
        if self.outbreaks > 0 {
            table.row(timing_row(
                &format!(
                    "devnet: final confirmation → k shares sealed to the grantee on chain ({} outbreaks), median / max",
                    self.outbreaks
                ),
                &self.shares_ms,
            ));
            table.row(timing_row(
                "devnet: final confirmation → first grantee decryption (access log finalized first), median / max",
                &self.read_ms,
            ));
        }
        if !self.pseudonym_ms.is_empty() {
            table.row(timing_row(
                &format!(
                    "devnet: site asks → pseudonym (request and CDC answer finalized, {} requests), median / max",
                    self.pseudonym_ms.len()
                ),
                &self.pseudonym_ms,
            ));
        }
        table
    }
}

/// A devnet timing: its name, median and maximum in milliseconds.
fn timing_row(name: &str, values_ms: &[f64]) -> Vec<String> {
    vec![
        name.to_string(),
        format!("{:.0} / {:.0} ms", median(values_ms), maximum(values_ms)),
        String::new(),
    ]
}

/// The VOPRF's three costs, `iterations` each: (blind, evaluate, finalize) per second.
fn pseudonym_rates(iterations: usize) -> Result<(f64, f64, f64), String> {
    use epichain_core::pseudonym::{PseudonymPurpose, PseudonymScope, PseudonymSecret, blind};
    let secret = PseudonymSecret::from_bytes([9; 32]);
    let scope = PseudonymScope {
        region: epichain_core::RegionCode::NATIONAL,
        purpose: PseudonymPurpose::CaseReporting,
    };
    let public_key = secret.public_key(&scope);
    let started = Instant::now();
    let mut blinded = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        blinded.push(blind(&["11010519491231002X"]).map_err(|error| error.to_string())?);
    }
    let blind_rate = rate(iterations, started.elapsed());
    let started = Instant::now();
    let mut evaluated = Vec::with_capacity(iterations);
    for (_, elements) in &blinded {
        evaluated.push(
            secret
                .evaluate(&scope, elements)
                .map_err(|error| error.to_string())?,
        );
    }
    let evaluate_rate = rate(iterations, started.elapsed());
    let started = Instant::now();
    for ((blinding, _), (elements, proof)) in blinded.iter().zip(&evaluated) {
        let pseudonyms = blinding
            .finalize(elements, proof, &public_key)
            .map_err(|error| error.to_string())?;
        std::hint::black_box(pseudonyms);
    }
    let finalize_rate = rate(iterations, started.elapsed());
    Ok((blind_rate, evaluate_rate, finalize_rate))
}

/// The local measurements, `iterations` each.
#[allow(clippy::too_many_lines)] // A table of micro-benchmarks; bench/ restructure with issue 12.
pub fn local(iterations: usize) -> Result<PrivacyBenchReport, String> {
    let iterations = iterations.max(1);
    let signer = KeyPair::from_seed([1; 32]);
    let message = vec![7u8; 200];
    let signature = signer.sign(&message);
    let key = signer.public_key();
    let started = Instant::now();
    for _ in 0..iterations * 4 {
        let verdict = verify_many(&[SignedMessage {
            key: &key,
            message: &message,
            signature: &signature,
        }]);
        std::hint::black_box(verdict);
    }
    let verify_per_second = rate(iterations * 4, started.elapsed());

    let chain_id = Hash([3; 32]);
    let case_id = Hash([4; 32]);
    let (sharing, shares) = epichain_escrow::trusted_deal(4, [5; 32]);
    let authority = (PublicKey([1; 32]), EncryptionKeyPair::from_seed([11; 32]));
    let reporter = (PublicKey([2; 32]), EncryptionKeyPair::from_seed([12; 32]));
    let readers = [
        (authority.0, authority.1.public()),
        (reporter.0, reporter.1.public()),
    ];
    let details = CaseDetails {
        name: "Patient 0001".into(),
        national_id: "440304199001011234".into(),
        phone: "+86 13800000000".into(),
        address: "Shennan Road No. 1, 440304".into(),
        occupation: "teacher".into(),
        symptoms: "fever 39.1°C, rash, retro-orbital pain".into(),
        lab_results: "NS1 antigen positive".into(),
        ..CaseDetails::default()
    }
    .to_bytes();
    let binding = sealed::binding(&chain_id, &case_id, 0);
    let target = sealed::escrow_target(&chain_id, &case_id, 0);
    let wrap = |data_key: &[u8; 32]| {
        epichain_escrow::wrap(&sharing, &chain_id, &target, data_key).unwrap_or_default()
    };
    let started = Instant::now();
    let mut envelope: Option<Envelope> = None;
    for _ in 0..iterations {
        envelope = Some(
            sealed::seal(&details, &readers, Some(&wrap), &binding)
                .map_err(|error| error.to_string())?,
        );
    }
    let seal_per_second = rate(iterations, started.elapsed());
    let envelope = envelope.ok_or("nothing sealed")?;

    let started = Instant::now();
    for _ in 0..iterations {
        let plain = envelope
            .open(&authority.0, &authority.1, &binding)
            .map_err(|error| error.to_string())?;
        std::hint::black_box(plain);
    }
    let open_per_second = rate(iterations, started.elapsed());

    let started = Instant::now();
    let mut partials = Vec::new();
    for index in 0..iterations {
        let share = &shares[index % shares.len()];
        let partial = epichain_escrow::partial_decryption(share, &chain_id, &target);
        if partials.len() < 3 && !partials.contains(&partial) {
            partials.push(partial);
        }
    }
    let partial_per_second = rate(iterations, started.elapsed());
    if partials.len() < 3 {
        return Err("need at least 3 iterations".into());
    }

    let started = Instant::now();
    for _ in 0..iterations {
        let data_key =
            epichain_escrow::release(&sharing, &chain_id, &target, &partials, &envelope.escrow)
                .map_err(|error| error.to_string())?;
        let plain = envelope
            .open_with_data_key(&data_key, &binding)
            .map_err(|error| error.to_string())?;
        std::hint::black_box(plain);
    }
    let release_per_second = rate(iterations, started.elapsed());
    let (blind_per_second, evaluate_per_second, finalize_per_second) = pseudonym_rates(iterations)?;
    Ok(PrivacyBenchReport {
        blind_per_second,
        evaluate_per_second,
        finalize_per_second,
        pseudonym_ms: Vec::new(),
        verify_per_second,
        seal_per_second,
        open_per_second,
        partial_per_second,
        release_per_second,
        outbreaks: 0,
        shares_ms: Vec::new(),
        read_ms: Vec::new(),
    })
}

/// On the devnet in `directory` (through `node`): `outbreaks` times, a Class A case raises a
/// signal, the provincial CDC and laboratory confirm it as an outbreak, and the provincial CDC
/// (a parent-level grantee, not a reader of the record) reads the record through the grant.
#[allow(clippy::too_many_lines)] // A devnet scenario timed step by step; bench/ restructure with issue 12.
pub async fn devnet_outbreaks(
    report: &mut PrivacyBenchReport,
    node: &str,
    directory: &std::path::Path,
    outbreaks: usize,
) -> Result<(), String> {
    let text = |error: devnet::DevnetError| error.to_string();
    let (client, mut devnet) = devnet::attach_bench(node, directory).await.map_err(text)?;
    let Some((threshold, _)) = devnet
        .await_escrow(&client, Duration::from_secs(60))
        .await
        .map_err(text)?
    else {
        return Err("the devnet has not generated its escrow key".into());
    };
    let status = client.status().await.map_err(|error| error.to_string())?;
    let day = Day::from_unix_ms(status.time_ms);
    let since = day.start_unix_ms().max(0) as u64;
    // Units under the Shenzhen and Guangzhou CDCs: their reports are sealed to those CDCs, so
    // the provincial CDC reads them only through the grant.
    let cities: Vec<epichain_core::RegionCode> = ["440300", "440100"]
        .iter()
        .filter_map(|code| code.parse().ok())
        .collect();
    let pairs = devnet::unsignalled_pairs(&client, &devnet, since, outbreaks, &cities)
        .await
        .map_err(text)?;
    let grantee = devnet
        .world
        .identity("guangdong-cdc")
        .map_err(|error| error.to_string())?
        .signer
        .public_key();
    for (disease, unit) in pairs {
        let mut case_report = devnet
            .world
            .case_report(day, &disease, &unit.to_string())
            .map_err(|error| error.to_string())?;
        case_report.sealed = devnet
            .seal("bench-provincial-hospital", &case_report)
            .map_err(text)?;
        let (transaction, case) = devnet
            .world
            .identity("bench-provincial-hospital")
            .map_err(|error| error.to_string())?
            .signer
            .report(case_report);
        client
            .submit(&transaction)
            .await
            .map_err(|error| error.to_string())?;
        client
            .wait_finalized(&transaction.id(), Duration::from_secs(30))
            .await
            .map_err(|error| error.to_string())?;
        let query = SignalQuery::newest(&disease, unit, since);
        let signals = client
            .signals(&query)
            .await
            .map_err(|error| error.to_string())?;
        let signal = signals
            .first()
            .map(|signal| signal.id)
            .ok_or_else(|| format!("no signal for {disease} in {unit}"))?;
        let confirmation = devnet::confirm_outbreak(
            &mut devnet,
            &client,
            &signal,
            &[
                ("guangdong-cdc", Step::Verify),
                ("bench-provincial-lab", Step::PathogenAnalysis),
            ],
            // Another institution, above the verifier (separation of duties).
            "national-cdc-1",
        )
        .await
        .map_err(text)?;
        let grant = confirmation.grant.id;
        loop {
            let postings = client
                .grant_shares(&grant, &grantee, None)
                .await
                .map_err(|error| error.to_string())?;
            let holders = postings
                .iter()
                .filter(|posting| {
                    posting
                        .batches
                        .iter()
                        .any(|batch| batch.records.iter().any(|record| record.case_id == case))
                })
                .count();
            if holders as u64 >= threshold {
                break;
            }
            if confirmation.finalized_at.elapsed() > Duration::from_secs(60) {
                return Err(format!("grant {grant}: no {threshold} shares after 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        report
            .shares_ms
            .push(confirmation.finalized_at.elapsed().as_secs_f64() * 1000.0);
        let outcome = devnet::read_when_disclosed(
            &mut devnet,
            &client,
            "guangdong-cdc",
            &case,
            Duration::from_secs(60),
        )
        .await
        .map_err(text)?;
        if !matches!(outcome.path, ReadPath::Grant { .. }) {
            return Err("the provincial CDC read the record without the grant".into());
        }
        report
            .read_ms
            .push(confirmation.finalized_at.elapsed().as_secs_f64() * 1000.0);
        report.outbreaks += 1;
    }
    devnet_pseudonyms(report, &client, &mut devnet, outbreaks).await
}

/// `count` times, a Futian doctor asks the Shenzhen CDC's service for a new number's pseudonym
/// through the chain; the time from submitting the request to the checked pseudonym.
async fn devnet_pseudonyms(
    report: &mut PrivacyBenchReport,
    client: &epichain_client::Client,
    devnet: &mut devnet::Devnet,
    count: usize,
) -> Result<(), String> {
    use epichain_core::pseudonym::PseudonymPurpose;
    let futian: epichain_core::RegionCode = "440304".parse().map_err(|_| "region")?;
    let signer = &mut devnet
        .world
        .identity("futian-doctor")
        .map_err(|error| error.to_string())?
        .signer;
    for index in 0..count {
        let number = format!("E{:08}", 10_000_000 + index);
        let started = Instant::now();
        epichain_client::pseudonym::obtain(
            client,
            signer,
            futian,
            PseudonymPurpose::CaseReporting,
            &[&number],
        )
        .await
        .map_err(|error| error.to_string())?;
        report
            .pseudonym_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(())
}
