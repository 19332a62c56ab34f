//! The HTTP API on a real socket: submission (idempotent, stateless checks, replay check,
//! backpressure), transaction status, batch submission, status, blocks with certificates,
//! OpenAPI document, JSON errors.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

use epichain_core::{Hash, Payload, SignedTransaction, Transaction};
use epichain_ledger::Ledger;
use epichain_node::api::{self, ApiState, NodeRole};
use epichain_node::chain::{BlockLimits, Chain};
use epichain_node::mempool::MempoolLimits;
use epichain_world::DemoWorld;
use std::sync::Arc;

/// 2026-11-01T00:00:00+08:00.
const GENESIS_MS: u64 = 1_793_462_400_000;

struct Server {
    base: String,
    chain: Arc<Chain>,
    world: DemoWorld,
    _directory: tempfile::TempDir,
}

async fn server(mempool_transactions_max: usize) -> Server {
    let world = DemoWorld::new(GENESIS_MS, Vec::new()).expect("world");
    let directory = tempfile::tempdir().expect("temp dir");
    let ledger =
        Ledger::open(&directory.path().join("ledger.redb"), &world.genesis).expect("ledger");
    let chain = Arc::new(Chain::new(
        ledger,
        MempoolLimits {
            transactions_max: mempool_transactions_max,
            ..MempoolLimits::default()
        },
        BlockLimits::default(),
    ));
    let state = ApiState::new(chain.clone(), NodeRole::Validator, "test".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, api::router(state)).await;
    });
    Server {
        base,
        chain,
        world,
        _directory: directory,
    }
}

async fn post(base: &str, transaction: &SignedTransaction) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/v1/transactions"))
        .json(&serde_json::json!({ "transaction": hex::encode(transaction.to_bytes()) }))
        .send()
        .await
        .expect("post")
}

/// GETs `path` and parses the JSON answer.
async fn get_json(base: &str, path: &str) -> serde_json::Value {
    reqwest::get(format!("{base}{path}"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn submission_is_checked_idempotent_and_bounded() {
    let mut server = server(3).await;
    let enrolments = server.world.enrolments();

    let accepted = post(&server.base, &enrolments[0]).await;
    assert_eq!(accepted.status(), 202);
    let body: serde_json::Value = accepted.json().await.expect("json");
    assert_eq!(body["id"], enrolments[0].id().to_hex());
    assert_eq!(body["status"], "pending");
    // Idempotent: the same transaction again gives the same id.
    let again: serde_json::Value = post(&server.base, &enrolments[0])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["id"], body["id"]);
    assert_eq!(server.chain.mempool_size().0, 1);

    // A flipped signature bit.
    let mut forged = enrolments[1].clone();
    forged.signature.0[0] ^= 1;
    let refused = post(&server.base, &forged).await;
    assert_eq!(refused.status(), 400);
    let error: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(error["code"], "bad_signature");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty())
    );

    // Another chain.
    let mut other_chain = enrolments[1].transaction.clone();
    other_chain.chain_id = Hash([9; 32]);
    let signed = other_chain.sign(server.world.identities[1].signer.key());
    let refused = post(&server.base, &signed).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<serde_json::Value>().await.expect("json")["code"],
        "wrong_chain"
    );

    // Malformed bodies.
    let refused = reqwest::Client::new()
        .post(format!("{}/v1/transactions", server.base))
        .json(&serde_json::json!({ "transaction": "00ff" }))
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<serde_json::Value>().await.expect("json")["code"],
        "malformed"
    );
    let refused = reqwest::Client::new()
        .post(format!("{}/v1/transactions", server.base))
        .body("not json")
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 400);

    // Backpressure: the mempool holds 3.
    assert_eq!(post(&server.base, &enrolments[1]).await.status(), 202);
    assert_eq!(post(&server.base, &enrolments[2]).await.status(), 202);
    let full = post(&server.base, &enrolments[3]).await;
    assert_eq!(full.status(), 503);
    assert_eq!(
        full.headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()),
        Some("1")
    );
    assert_eq!(
        full.json::<serde_json::Value>().await.expect("json")["code"],
        "mempool_full"
    );
}

#[tokio::test]
async fn status_transactions_blocks_and_openapi() {
    let mut server = server(1_000).await;
    let http = reqwest::Client::new();
    let enrolments = server.world.enrolments();
    let first = enrolments[0].id();
    // Batch submission.
    let batch = serde_json::json!({
        "transactions": enrolments.iter().map(|transaction| hex::encode(transaction.to_bytes())).collect::<Vec<_>>()
    });
    let results: serde_json::Value = http
        .post(format!("{}/v1/transactions/batch", server.base))
        .json(&batch)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(
        results["results"].as_array().map(Vec::len),
        Some(enrolments.len())
    );
    assert!(
        results["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|item| item["status"] == "pending")
    );
    let pending: serde_json::Value =
        get_json(&server.base, &format!("/v1/transactions/{first}")).await;
    assert_eq!(pending["status"], "pending");

    // A block built from the mempool (what a proposer does), committed as final.
    let genesis = epichain_node::block::ChainBlock::genesis(server.chain.chain_id());
    let block = server
        .chain
        .propose(&[genesis], GENESIS_MS + 60_000)
        .expect("propose");
    server
        .chain
        .apply_finalized(&block, Some(b"certificate"), Box::new(|| ()))
        .expect("apply");
    let finalized: serde_json::Value =
        get_json(&server.base, &format!("/v1/transactions/{first}")).await;
    assert_eq!(finalized["status"], "finalized");
    assert_eq!(finalized["height"], 1);
    assert_eq!(finalized["outcome"]["status"], "applied");
    // The receipt is also kept in memory for the blocks a pipelined writer may still be writing.
    let (height, receipt) = server.chain.recent_receipt(&first).expect("recent");
    assert_eq!(
        (height, receipt.outcome),
        (1, epichain_core::TransactionOutcome::Applied)
    );
    // Replaying a finalized transaction answers its height, and a stale nonce is refused.
    let replay = post(&server.base, &enrolments[0]).await;
    assert_eq!(replay.status(), 200);
    let mut stale_signer = server.world.identities[0].signer.clone();
    let stale = Transaction {
        nonce: 1,
        ..stale_signer
            .sign(Payload::RevokeIdentity(epichain_core::RevokeIdentity {
                key: stale_signer.public_key(),
                reason: epichain_core::RevocationReason::Unspecified,
            }))
            .transaction
    }
    .sign(stale_signer.key());
    let refused = post(&server.base, &stale).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<serde_json::Value>().await.expect("json")["code"],
        "stale_nonce"
    );

    let status: serde_json::Value = get_json(&server.base, "/v1/status").await;
    assert_eq!(status["height"], 1);
    assert_eq!(status["chain_id"], server.chain.chain_id().to_hex());
    let block_view: serde_json::Value = get_json(&server.base, "/v1/blocks/1").await;
    assert_eq!(block_view["certificate"], hex::encode(b"certificate"));
    assert_eq!(
        block_view["transactions"].as_array().map(Vec::len),
        Some(enrolments.len())
    );
    let missing = http
        .get(format!("{}/v1/blocks/99", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<serde_json::Value>().await.expect("json")["code"],
        "not_found"
    );

    let document: serde_json::Value = get_json(&server.base, "/openapi.json").await;
    for path in [
        "/v1/transactions",
        "/v1/transactions/batch",
        "/v1/transactions/{id}",
        "/v1/status",
        "/v1/blocks/{height}",
        "/v1/cases/{id}",
        "/v1/identities/{key}",
        "/metrics",
    ] {
        assert!(
            document["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn every_client_error_is_json_and_the_privacy_endpoints_answer() {
    let server = server(1_000).await;
    let http = reqwest::Client::new();
    let zero = "0".repeat(64);
    let bad = [
        ("GET", "/v1/blocks/abc".to_string(), 400),
        ("GET", "/v1/signals?limit=many".to_string(), 400),
        (
            "GET",
            "/v1/identities?role=nurse&region=440304".to_string(),
            400,
        ),
        ("GET", "/v1/grants?status=pending".to_string(), 400),
        ("GET", "/v1/grants?case=xyz".to_string(), 400),
        ("GET", format!("/v1/grants?case={zero}"), 404),
        ("GET", "/v1/grants/xyz".to_string(), 400),
        ("GET", format!("/v1/grants/{zero}"), 404),
        ("GET", format!("/v1/grants/{zero}/shares/not-a-key"), 400),
        ("GET", "/v1/no-such-route".to_string(), 404),
        ("DELETE", "/v1/status".to_string(), 405),
        ("POST", "/v1/transactions".to_string(), 400),
    ];
    for (method, path, expected) in bad {
        let request = match method {
            "DELETE" => http.delete(format!("{}{path}", server.base)),
            "POST" => http
                .post(format!("{}{path}", server.base))
                .header("content-type", "application/json")
                .body("{not json"),
            _ => http.get(format!("{}{path}", server.base)),
        };
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), expected, "{method} {path}");
        let body: serde_json::Value = response
            .json()
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: not JSON: {error}"));
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{method} {path}: {body}"
        );
    }
    // A chain without validators has no escrow holders, no key and no grants.
    let escrow: serde_json::Value = get_json(&server.base, "/v1/escrow").await;
    assert_eq!(escrow["status"], "none");
    assert!(escrow["sharing"].is_null());
    let grants: serde_json::Value = get_json(&server.base, "/v1/grants?status=open").await;
    assert_eq!(grants, serde_json::json!([]));
}

/// Review C3: transactions from keys nobody enrolled never reach the mempool, let alone a block;
/// enrolments do only when their certificate chain verifies; a signer's share of the mempool is
/// bounded. Honest submissions still get in.
#[tokio::test]
async fn strangers_cannot_fill_the_mempool_or_the_chain() {
    let mut server = server(200).await;
    let chain_id = server.chain.chain_id();
    let http = reqwest::Client::new();
    // 300 fresh keys, each with a 60 KB report: more than the mempool holds.
    let junk: Vec<String> = (0..300u32)
        .map(|index| {
            let mut seed = [7u8; 32];
            seed[..4].copy_from_slice(&index.to_le_bytes());
            let key = epichain_core::KeyPair::from_seed(seed);
            let transaction = Transaction {
                chain_id,
                signer: key.public_key(),
                nonce: 1,
                payload: Payload::ReportCase(epichain_core::CaseReport {
                    disease: epichain_core::DiseaseCode::new("DENGUE").expect("code"),
                    region: epichain_core::RegionCode::NATIONAL,
                    status: epichain_core::CaseStatus::Suspected,
                    patient: epichain_core::PatientRef::Pseudonym(Hash::ZERO),
                    onset_day: epichain_core::Day(20_000),
                    diagnosis_day: epichain_core::Day(20_000),
                    age_band: 0,
                    sex: epichain_core::Sex::Unknown,
                    sealed: vec![0x5A; 60_000],
                }),
            }
            .sign(&key);
            hex::encode(transaction.to_bytes())
        })
        .collect();
    for chunk in junk.chunks(50) {
        let results: serde_json::Value = http
            .post(format!("{}/v1/transactions/batch", server.base))
            .json(&serde_json::json!({ "transactions": chunk }))
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        let items = results["results"].as_array().expect("results");
        assert!(items.iter().all(|item| item["code"] == "unknown_signer"));
    }
    let single = post(&server.base, &server.world.enrolments()[0].clone()).await;
    assert_eq!(single.status(), 202, "honest enrolment still admitted");
    let stranger = Transaction {
        chain_id,
        signer: epichain_core::KeyPair::from_seed([8; 32]).public_key(),
        nonce: 1,
        payload: Payload::RevokeIdentity(epichain_core::RevokeIdentity {
            key: epichain_core::KeyPair::from_seed([8; 32]).public_key(),
            reason: epichain_core::RevocationReason::Unspecified,
        }),
    }
    .sign(&epichain_core::KeyPair::from_seed([8; 32]));
    let refused = post(&server.base, &stranger).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<serde_json::Value>().await.expect("json")["code"],
        "unknown_signer"
    );
    // An enrolment whose certificate does not parse is refused at admission.
    let mut garbage =
        epichain_core::Signer::new(epichain_core::KeyPair::from_seed([9; 32]), chain_id, 0);
    let refused = post(
        &server.base,
        &garbage.enroll(vec![0x30, 3, 1, 2, 3], vec![]),
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<serde_json::Value>().await.expect("json")["code"],
        "certificate.malformed"
    );
    assert_eq!(
        server.chain.mempool_size().0,
        1,
        "only the honest enrolment"
    );
    // A transaction that follows a pending enrolment is admitted with it, and both land in one
    // block; a nonce two ahead waits for its predecessor.
    let identity = &mut server.world.identities[0].signer;
    let publish = identity.sign(Payload::AccessLog(epichain_core::transaction::AccessLog {
        case_id: Hash::ZERO,
        purpose: epichain_core::transaction::AccessPurpose::Audit,
    }));
    assert_eq!(post(&server.base, &publish).await.status(), 202);
    let genesis = epichain_node::block::ChainBlock::genesis(chain_id);
    let block = server
        .chain
        .propose(&[genesis], GENESIS_MS + 60_000)
        .expect("propose");
    assert_eq!(block.block().expect("block").transactions.len(), 2);
}

/// Issue 12 §4: the OpenAPI document types every JSON body it declares: each one is a named
/// schema of `epichain-api` (or a list of them), and every named schema exists, so a client
/// generated from the document knows every field.
#[tokio::test]
async fn the_openapi_document_names_a_type_for_every_json_body() {
    let server = server(1_000).await;
    let document: serde_json::Value = get_json(&server.base, "/openapi.json").await;
    let schemas = &document["components"]["schemas"];
    let named = |schema: &serde_json::Value| -> Option<String> {
        let reference = schema["$ref"]
            .as_str()
            .or_else(|| schema["items"]["$ref"].as_str())?;
        let name = reference.strip_prefix("#/components/schemas/")?;
        schemas[name].is_object().then(|| name.to_string())
    };
    let mut bodies = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operation") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let Some(schema) = response["content"]["application/json"].get("schema") else {
                    continue;
                };
                bodies += 1;
                assert!(
                    named(schema).is_some(),
                    "{method} {path} {status}: untyped body {schema}"
                );
            }
            if let Some(body) =
                operation["requestBody"]["content"]["application/json"].get("schema")
            {
                assert!(named(body).is_some(), "{method} {path}: untyped request");
            }
        }
    }
    // Every reference anywhere in the document (bodies, parameters, nested fields) resolves.
    let mut pending = vec![&document];
    while let Some(value) = pending.pop() {
        if let Some(reference) = value.get("$ref").and_then(serde_json::Value::as_str) {
            let name = reference.trim_start_matches("#/components/schemas/");
            assert!(schemas[name].is_object(), "unresolvable {reference}");
        }
        match value {
            serde_json::Value::Object(map) => pending.extend(map.values()),
            serde_json::Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    // 20 operations, each with at least its answer and the limit responses.
    assert!(bodies > 60, "only {bodies} JSON bodies declared");
    for name in [
        "CaseAnswer",
        "SignalDetail",
        "GrantDetail",
        "EscrowView",
        "IdentityView",
    ] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
}

/// Review C3: certificate-chain checks at admission are budgeted per node. Enrolments past the
/// burst wait (429 `enrolments_busy`) whatever their certificates, so junk enrolments cannot
/// make a node verify chains without bound; the budget refills at `ENROLMENTS_PER_SECOND`.
#[tokio::test]
async fn enrolments_are_checked_within_a_per_node_budget() {
    use epichain_node::chain::{ENROLMENT_BURST, ENROLMENTS_PER_SECOND, SubmitError};
    let mut server = server(100_000).await;
    let chain_id = server.chain.chain_id();
    let junk = |seed: u32| {
        let mut bytes = [9u8; 32];
        bytes[..4].copy_from_slice(&seed.to_le_bytes());
        let mut stranger =
            epichain_core::Signer::new(epichain_core::KeyPair::from_seed(bytes), chain_id, 0);
        stranger.enroll(vec![0x30, 0x03, 0x02, 0x01, 0x01], Vec::new())
    };
    let now_ms = GENESIS_MS + 60_000;
    let flood: Vec<Vec<u8>> = (0..ENROLMENT_BURST + 10)
        .map(|seed| junk(seed).to_bytes())
        .collect();
    let items: Vec<&[u8]> = flood.iter().map(Vec::as_slice).collect();
    let outcomes = server.chain.submit_many(&items, now_ms);
    let busy = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(SubmitError::EnrolmentsBusy)))
        .count();
    let checked = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(SubmitError::Refused(_))))
        .count();
    assert_eq!((checked, busy), (ENROLMENT_BURST as usize, 10));
    // An honest enrolment waits too, until the budget refills.
    let honest = server.world.enrolments()[0].to_bytes();
    assert!(matches!(
        server.chain.submit(&honest, now_ms),
        Err(SubmitError::EnrolmentsBusy)
    ));
    let later = now_ms + 1_000 / u64::from(ENROLMENTS_PER_SECOND);
    assert!(server.chain.submit(&honest, later).is_ok());
}

/// Proposes a block from the mempool at `time_ms` on top of `parent` and commits it as final.
fn commit(
    server: &Server,
    parent: epichain_node::block::ChainBlock,
    time_ms: u64,
) -> epichain_node::block::ChainBlock {
    let block = server.chain.propose(&[parent], time_ms).expect("propose");
    server
        .chain
        .apply_finalized(&block, Some(b"certificate"), Box::new(|| ()))
        .expect("apply");
    block
}

/// A demo identity's signing key.
fn key_of(world: &mut DemoWorld, handle: &str) -> epichain_core::KeyPair {
    world
        .identity(handle)
        .expect("identity")
        .signer
        .key()
        .clone()
}

/// Enrols the server's world in the first block; returns it.
async fn enrol_world(server: &mut Server) -> epichain_node::block::ChainBlock {
    for transaction in server.world.enrolments() {
        post(&server.base, &transaction).await;
    }
    let genesis = epichain_node::block::ChainBlock::genesis(server.chain.chain_id());
    commit(server, genesis, GENESIS_MS + 60_000)
}

/// A GET signed as `key` at `time_ms` (the signature over `signed_path`, normally the path).
async fn signed_response(
    server: &Server,
    key: &epichain_core::KeyPair,
    path: &str,
    signed_path: &str,
    time_ms: u64,
) -> reqwest::Response {
    let headers = epichain_api::read_signature_headers(
        key,
        &server.chain.chain_id(),
        "GET",
        signed_path,
        time_ms,
    );
    let mut request = reqwest::Client::new().get(format!("{}{path}", server.base));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.expect("get")
}

/// [`signed_response`]'s status and JSON body.
async fn signed_get(
    server: &Server,
    key: &epichain_core::KeyPair,
    path: &str,
    signed_path: &str,
    time_ms: u64,
) -> (u16, serde_json::Value) {
    let response = signed_response(server, key, path, signed_path, time_ms).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[allow(clippy::disallowed_methods)]
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

/// Review H3: anonymous callers get aggregates (small cells suppressed, signals without cases);
/// case records and patients need a request signed by an enrolled identity whose jurisdiction
/// covers them, with a fresh time and a signature over the exact request.
#[tokio::test]
async fn line_level_reads_need_a_signed_request_from_the_jurisdiction() {
    let mut server = server(1_000).await;
    // A pharmacy in each reporting district: in the region, but not a role that reads cases.
    for (district, issuer) in [("440304", 2), ("440305", 2), ("440104", 3), ("440111", 3)] {
        server
            .world
            .add_identity(
                &format!("pharmacy-{district}"),
                "District pharmacy",
                epichain_core::Role::Pharmacy,
                district.parse().expect("region"),
                issuer,
                &format!("pharmacy-{district}"),
            )
            .expect("pharmacy");
    }
    let first = enrol_world(&mut server).await;
    let day = epichain_core::Day::from_unix_ms(GENESIS_MS + 120_000);
    let (report, case) = server.world.reports(day, 1, 9).expect("report").remove(0);
    assert_eq!(post(&server.base, &report).await.status(), 202);
    commit(&server, first, GENESIS_MS + 120_000);
    let record = server
        .chain
        .reader()
        .expect("reader")
        .case(&case)
        .expect("read")
        .expect("case");
    let region = record.region;
    let district = key_of(&mut server.world, district_cdc(region));
    let outsider = key_of(&mut server.world, "yuexiu-hospital");
    let patient = key_of(&mut server.world, "patient-zhang");
    let path = format!("/v1/cases/{case}");
    let now = now_ms();

    let anonymous = reqwest::get(format!("{}{path}", server.base))
        .await
        .expect("get");
    assert_eq!(anonymous.status(), 401);
    let (status, body) = signed_get(&server, &district, &path, &path, now).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = signed_get(&server, &outsider, &path, &path, now).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_permitted"))
    );
    let pharmacy = key_of(&mut server.world, &format!("pharmacy-{region}"));
    let (status, body) = signed_get(&server, &pharmacy, &path, &path, now).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_permitted")),
        "a pharmacy of the district does not read case records"
    );
    // A signature over another request, or too old, or by a stranger, is refused.
    let other = format!("/v1/cases/{case}/access");
    let (status, body) = signed_get(&server, &district, &path, &other, now).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("bad_signature"))
    );
    let stale = now - epichain_core::request::READ_REQUEST_SKEW_MS_MAX - 1_000;
    let (status, body) = signed_get(&server, &district, &path, &path, stale).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("request_expired"))
    );
    let stranger = epichain_core::KeyPair::from_seed([3; 32]);
    let (status, body) = signed_get(&server, &stranger, &path, &path, now).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unknown_signer"))
    );
    // Access logs follow the case; a patient's identity is not public, a hospital's is.
    let (status, _) = signed_get(&server, &district, &other, &other, now).await;
    assert_eq!(status, 200);
    let patient_path = format!("/v1/identities/{}", patient.public_key());
    let anonymous = reqwest::get(format!("{}{patient_path}", server.base))
        .await
        .expect("get");
    assert_eq!(anonymous.status(), 401);
    let (status, _) = signed_get(&server, &patient, &patient_path, &patient_path, now).await;
    assert_eq!(status, 200, "a patient sees itself");
    let hospital = format!("/v1/identities/{}", outsider.public_key());
    assert_eq!(get_json(&server.base, &hospital).await["role"], "hospital");

    // Counts: one case is a small cell for anonymous callers; the district sees it by status.
    let counts = format!(
        "/v1/counts?disease={}&region={region}&from={day}&to={day}",
        record.disease
    );
    let public = get_json(&server.base, &counts).await;
    assert!(
        public[0]["total"].is_null() && public[0]["suspected"].is_null(),
        "{public}"
    );
    let (status, signed) = signed_get(&server, &district, &counts, &counts, now).await;
    assert_eq!(status, 200);
    assert_eq!(signed[0]["total"], 1, "{signed}");
}

/// Review H3: a whole block carries every case's line-level metadata, so it goes only to signed
/// requests of CDCs and nodes; a replica follows as its own node identity, and a follower whose
/// identity is refused says so instead of waiting for blocks forever.
#[tokio::test]
async fn whole_blocks_go_to_cdcs_and_nodes_only() {
    use epichain_node::sync::{Follower, SyncError};
    let mut server = server(1_000).await;
    server
        .world
        .add_identity(
            "node-futian",
            "Futian district CDC replica",
            epichain_core::Role::Validator,
            "440304".parse().expect("region"),
            2,
            "futian-cdc",
        )
        .expect("node identity");
    enrol_world(&mut server).await;
    let node = key_of(&mut server.world, "node-futian");
    let cdc = key_of(&mut server.world, "futian-cdc");
    let hospital = key_of(&mut server.world, "futian-hospital");
    let path = "/v1/blocks/1/raw";
    let now = now_ms();
    let anonymous = reqwest::get(format!("{}{path}", server.base))
        .await
        .expect("get");
    assert_eq!(anonymous.status(), 401);
    let (status, body) = signed_get(&server, &hospital, path, path, now).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_permitted"))
    );
    for key in [&node, &cdc] {
        let response = signed_response(&server, key, path, path, now).await;
        assert_eq!(response.status(), 200);
    }
    // The block JSON (header, ids, receipts, certificate) stays public for verification.
    assert!(get_json(&server.base, "/v1/blocks/1").await["hash"].is_string());

    let follow = |key: epichain_core::KeyPair| {
        let directory = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(&directory.path().join("ledger.redb"), &server.world.genesis)
            .expect("ledger");
        let chain = Arc::new(Chain::new(
            ledger,
            MempoolLimits::default(),
            BlockLimits::default(),
        ));
        let follower = Follower::new(
            chain,
            server.world.genesis.clone(),
            vec![server.base.clone()],
            key,
        );
        (follower, directory)
    };
    let (refused, _kept) = follow(hospital);
    assert!(matches!(refused.step().await, Err(SyncError::Refused(_))));
    // The node identity gets the block; this test chain's certificate is not a real one, so
    // the follower stops at checking it.
    let (admitted, _kept) = follow(node);
    assert!(matches!(
        admitted.step().await,
        Err(SyncError::Invalid { height: 1, .. })
    ));
}

/// Review H3 (issue 13 §4): k-anonymity of everything an anonymous caller can read. A day of
/// reports leaves some districts with 1 to 4 cases beside siblings with more; a city's total used
/// to be served whole, so subtracting its disclosed districts gave the withheld one away. Now
/// totals above a district are sums of disclosed cells, onset counts need the jurisdiction and
/// signals come without cases or statistic: the smallest number of cases the caller can pin
/// anywhere is at least 5.
#[tokio::test]
async fn an_anonymous_caller_cannot_pin_fewer_than_five_cases_anywhere() {
    use epichain_api::signals::SMALL_CELL_MAX;
    use epichain_ledger::state::CountBasis;
    let mut server = server(10_000).await;
    let first = enrol_world(&mut server).await;
    let day = epichain_core::Day::from_unix_ms(GENESIS_MS + 120_000);
    for (report, _) in server.world.reports(day, 100, 5).expect("reports") {
        assert_eq!(post(&server.base, &report).await.status(), 202);
    }
    commit(&server, first, GENESIS_MS + 120_000);
    let regions = server.world.genesis.regions.clone();
    let diseases: Vec<epichain_core::DiseaseCode> = epichain_world::DEMO_DISEASES
        .iter()
        .map(|code| code.parse().expect("disease"))
        .collect();
    // The data is a real test: some city has withheld districts holding 1 to 4 cases together
    // beside disclosed ones.
    let reader = server.chain.reader().expect("reader");
    let total = |disease, region| {
        reader
            .count(disease, region, CountBasis::Report, day)
            .expect("count")
            .total()
    };
    let exposing = diseases.iter().any(|disease| {
        ["440300", "440100"].iter().any(|city| {
            let city = city.parse().expect("region");
            let small: u32 = regions
                .children(city)
                .map(|district| total(disease, district))
                .filter(|cases| (1..=SMALL_CELL_MAX).contains(cases))
                .sum();
            (1..=SMALL_CELL_MAX).contains(&small) && total(disease, city) > SMALL_CELL_MAX
        })
    });
    assert!(
        exposing,
        "pick reports that leave a small district beside a large one"
    );

    let anonymous = epichain_client::Client::new(&server.base);
    let audit = epichain_client::audit::audit_anonymous(&anonymous, &regions, &diseases, day, day)
        .await
        .expect("audit");
    assert!(audit.disclosed_positive > 0, "counts still load: {audit:?}");
    let k = audit.k().expect("something is disclosed");
    assert!(k > SMALL_CELL_MAX, "k = {k}: {:?}", audit.smallest);
    assert!(audit.onset_answered.is_empty());
    assert!(audit.revealing_signals.is_empty());
    // The city's answer says how many districts it leaves out.
    for disease in &diseases {
        let city: epichain_core::RegionCode = "440300".parse().expect("region");
        let points = anonymous
            .counts(&epichain_api::signals::CountQuery {
                disease: disease.to_string(),
                region: city.to_string(),
                basis: None,
                from: day.to_string(),
                to: day.to_string(),
            })
            .await
            .expect("counts");
        let small = regions
            .children(city)
            .filter(|district| (1..=SMALL_CELL_MAX).contains(&total(disease, *district)))
            .count() as u32;
        assert_eq!(points[0].suppressed_regions, small);
    }
}

/// The handle of the world's CDC for a reporting district.
fn district_cdc(region: epichain_core::RegionCode) -> &'static str {
    match region.to_string().as_str() {
        "440304" => "futian-cdc",
        "440305" => "nanshan-cdc",
        "440104" => "yuexiu-cdc",
        _ => "guangzhou-cdc",
    }
}
