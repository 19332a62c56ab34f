//! Reading a case's sealed details on the reader's machine: as one of the envelope's readers
//! (the district authority, the reporter), or through a disclosure grant by combining the sealed
//! decryption shares of at least k escrow holders. A read of a record the reader did not report
//! is logged on chain first.

use crate::client::{Client, ClientError};
use epichain_core::disclosure::{Audience, RecordVersion};
use epichain_core::sealed::{self, CaseDetails, EncryptionKeyPair, Envelope, SealError};
use epichain_core::transaction::AccessLog;
use epichain_core::{Hash, KeyPair, Payload, PublicKey, RegionCode, Role};
use epichain_escrow::EscrowError;
use epichain_escrow::disclosure::{Grantee, SealedBundle};
use std::time::Duration;

/// How the details were opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadPath {
    /// The data key was wrapped to the reader.
    Reader,
    /// Through a disclosure grant, from this many holders' shares.
    Grant {
        /// The grant.
        grant: Hash,
        /// Holders whose shares were combined.
        holders: usize,
    },
}

/// Opened details.
#[derive(Clone, Debug)]
pub struct ReadOutcome {
    /// The details.
    pub details: CaseDetails,
    /// How.
    pub path: ReadPath,
    /// Height of the access log, if one was required.
    pub access_logged_at: Option<u64>,
}

/// Why the details could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The case has no sealed details.
    #[error("this case carries no sealed details")]
    NoSealedDetails,
    /// Neither a reader nor a grantee.
    #[error(
        "you are not a reader of this record and no disclosure grant gave you shares for it: public metadata only"
    )]
    NotPermitted,
    /// A grant covers the record but not enough holders have posted shares yet.
    #[error(
        "grant {grant}: {posted} of the {required} escrow holders needed have posted shares for you so far; try again shortly"
    )]
    AwaitingShares {
        /// Grant.
        grant: Hash,
        /// Holders that posted.
        posted: usize,
        /// Threshold.
        required: usize,
    },
    /// An access log is needed and no purpose was given.
    #[error("reading a record you did not report is logged on chain: give a purpose")]
    PurposeRequired,
    /// The access log was not applied.
    #[error("access log not recorded: {0}")]
    AccessLog(String),
    /// The node's answer is not what was expected.
    #[error("unexpected answer from the node: {0}")]
    Malformed(String),
    /// HTTP.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Opening.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The escrow release.
    #[error(transparent)]
    Escrow(#[from] EscrowError),
}

fn malformed(what: &str) -> ReadError {
    ReadError::Malformed(what.to_string())
}

/// Reads case `id`'s latest sealed details as the holder of `signing` and `encryption`.
#[allow(clippy::too_many_lines)] // Two read paths over the untyped API; split with the typed API client (issue 12).
pub async fn read_case(
    client: &Client,
    id: &Hash,
    signing: &KeyPair,
    encryption: &EncryptionKeyPair,
    purpose: Option<String>,
) -> Result<ReadOutcome, ReadError> {
    let case = client.case(id).await?;
    let record = &case["record"];
    let sealed_hex = record["sealed"].as_str().unwrap_or("");
    if sealed_hex.is_empty() {
        return Err(ReadError::NoSealedDetails);
    }
    let envelope = Envelope::from_bytes(
        &hex::decode(sealed_hex).map_err(|_| malformed("sealed details are not hex"))?,
    )?;
    let version = sealed_version(&case["history"]).ok_or(ReadError::NoSealedDetails)?;
    let status = client.status().await?;
    let chain_id = status["chain_id"]
        .as_str()
        .and_then(|text| Hash::from_hex(text).ok())
        .ok_or_else(|| malformed("status without chain id"))?;
    let me = signing.public_key();
    let binding = sealed::binding(&chain_id, id, version);
    if envelope.is_reader(&me) {
        let reporter = record["reporter"].as_str().unwrap_or("");
        let access_logged_at = if reporter == me.to_hex() {
            None
        } else {
            let purpose = purpose.ok_or(ReadError::PurposeRequired)?;
            Some(log_access(client, signing, id, purpose).await?)
        };
        let details = envelope.open(&me, encryption, &binding)?;
        return Ok(ReadOutcome {
            details: CaseDetails::from_bytes(&details)?,
            path: ReadPath::Reader,
            access_logged_at,
        });
    }
    let record_version = RecordVersion {
        case_id: *id,
        version,
    };
    let grants: serde_json::Value = client.get_json(&format!("/v1/grants?case={id}")).await?;
    let escrow = client.escrow().await?;
    let sharing = escrow.sharing_bytes().ok_or(ReadError::NotPermitted)?;
    let holders = escrow.holders.len();
    let required = escrow.threshold as usize;
    let grantee = Grantee {
        chain_id,
        sharing: &sharing,
        holders,
        identity: me,
        encryption,
    };
    let identity = client.identity(&me).await?.ok_or(ReadError::NotPermitted)?;
    let role: Role = serde_json::from_value(identity["role"].clone())
        .map_err(|_| malformed("identity without a role"))?;
    let region: RegionCode = serde_json::from_value(identity["region"].clone())
        .map_err(|_| malformed("identity without a region"))?;
    let mut awaiting = None;
    for grant in grants.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(grant_id) = grant["id"]
            .as_str()
            .and_then(|text| Hash::from_hex(text).ok())
        else {
            continue;
        };
        // Holders seal shares only to the grant's audience: anyone else would wait forever.
        let audience: Option<Audience> = serde_json::from_value(grant["audience"].clone()).ok();
        if !audience.is_some_and(|audience| audience.includes(role, region)) {
            continue;
        }
        let bundles = shares_for(client, &grant_id, &me).await?;
        let partials = grantee.partials_for(&grant_id, &bundles, &record_version);
        if partials.len() < required {
            if !partials.is_empty() || grant["status"] == "open" {
                awaiting.get_or_insert(ReadError::AwaitingShares {
                    grant: grant_id,
                    posted: partials.len(),
                    required,
                });
            }
            continue;
        }
        let purpose = purpose.clone().unwrap_or_else(|| {
            format!(
                "disclosure grant {grant_id}: {}",
                grant["purpose"].as_str().unwrap_or("outbreak")
            )
        });
        let access_logged_at = Some(log_access(client, signing, id, purpose).await?);
        let details = grantee.open(&envelope, &record_version, &partials)?;
        return Ok(ReadOutcome {
            details: CaseDetails::from_bytes(&details)?,
            path: ReadPath::Grant {
                grant: grant_id,
                holders: partials.len(),
            },
            access_logged_at,
        });
    }
    Err(awaiting.unwrap_or(ReadError::NotPermitted))
}

/// The sealed bundles every holder posted for `grantee` under `grant`, page by page.
async fn shares_for(
    client: &Client,
    grant: &Hash,
    grantee: &PublicKey,
) -> Result<Vec<SealedBundle>, ReadError> {
    let base = format!("/v1/grants/{grant}/shares/{grantee}");
    let mut bundles = Vec::new();
    let mut pages: Vec<String> = vec![base.clone()];
    while let Some(page) = pages.pop() {
        let postings: serde_json::Value = client.get_json(&page).await?;
        for posting in postings.as_array().map(Vec::as_slice).unwrap_or_default() {
            let holder = posting["holder"]
                .as_str()
                .and_then(|text| PublicKey::from_hex(text).ok())
                .ok_or_else(|| malformed("posting without holder"))?;
            for batch in posting["batches"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let sealed = batch["sealed"]
                    .as_str()
                    .and_then(|text| hex::decode(text).ok())
                    .ok_or_else(|| malformed("batch without sealed shares"))?;
                bundles.push(SealedBundle { holder, sealed });
            }
            if let Some(next) = posting["next"].as_u64() {
                pages.push(format!("{base}?holder={holder}&from={next}"));
            }
        }
    }
    Ok(bundles)
}

/// Records on chain that the signer reads `case` and why; returns the height.
async fn log_access(
    client: &Client,
    signing: &KeyPair,
    case: &Hash,
    purpose: String,
) -> Result<u64, ReadError> {
    let mut signer = client.signer(signing.clone()).await?;
    let log = signer.sign(Payload::AccessLog(AccessLog {
        case_id: *case,
        purpose,
    }));
    client.submit(&log).await?;
    let outcome = client
        .wait_finalized(&log.id(), Duration::from_secs(30))
        .await?;
    if outcome["outcome"]["status"] != "applied" {
        return Err(ReadError::AccessLog(
            outcome["outcome"]["message"]
                .as_str()
                .unwrap_or("not finalized in 30 s")
                .to_string(),
        ));
    }
    outcome["height"]
        .as_u64()
        .ok_or_else(|| malformed("finalized without height"))
}

/// The number of the latest version that carried sealed details.
pub fn sealed_version(history: &serde_json::Value) -> Option<u32> {
    history.as_array()?.iter().rev().find_map(|version| {
        let sealed = version["change"]["value"]["sealed"].as_str()?;
        (!sealed.is_empty()).then(|| version["version"].as_u64().map(|number| number as u32))?
    })
}
