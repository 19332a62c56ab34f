//! Reading a case's sealed details on the reader's machine: as one of the envelope's readers
//! (the district authority, the reporter), or through a disclosure grant by combining the sealed
//! decryption shares of at least k escrow holders. A read of a record the reader did not report
//! is logged on chain first.

use crate::{Client, ClientError, Finality};
use epichain_api::cases::CaseAnswer;
use epichain_api::disclosure::{GrantQuery, GrantStatus};
use epichain_core::disclosure::RecordVersion;
use epichain_core::sealed::{self, CaseDetails, EncryptionKeyPair, Envelope, SealError};
use epichain_core::transaction::{AccessLog, AccessPurpose};
use epichain_core::{Hash, KeyPair, Payload, PublicKey};
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

/// The case's latest sealed details: the envelope and the version that carried it (checked
/// against the case's proof by a verifying client).
async fn latest_envelope(
    client: &Client,
    id: &Hash,
) -> Result<(CaseAnswer, Envelope, u32), ReadError> {
    let case = client.case_history(id).await?;
    let details = case.record.details.ok_or(ReadError::NoSealedDetails)?;
    let version = case
        .history
        .iter()
        .find(|version| version.location == details.location)
        .map(|version| version.version)
        .ok_or_else(|| malformed("no version carries the latest sealed details"))?;
    let bytes =
        hex::decode(&case.record.sealed).map_err(|_| malformed("sealed details are not hex"))?;
    client.check_sealed(id, &bytes, version).await?;
    let envelope = Envelope::from_bytes(&bytes)?;
    Ok((case, envelope, version))
}

/// Reads case `id`'s latest sealed details as the holder of `signing` and `encryption`: as a
/// reader of the envelope, or else through a disclosure grant.
pub async fn read_case(
    client: &Client,
    id: &Hash,
    signing: &KeyPair,
    encryption: &EncryptionKeyPair,
    purpose: Option<AccessPurpose>,
) -> Result<ReadOutcome, ReadError> {
    // Case records are served to their readers only: every request is signed.
    let chain_id = client.status().await?.chain_id;
    let client = &client.signed_for(signing.clone(), chain_id);
    let (case, envelope, version) = match latest_envelope(client, id).await {
        // Outside the reader's jurisdiction and no grant admits it.
        Err(ReadError::Client(refused)) if refused.code() == Some("not_permitted") => {
            return Err(ReadError::NotPermitted);
        }
        other => other?,
    };
    let me = signing.public_key();
    if !envelope.is_reader(&me) {
        let record = RecordVersion {
            case_id: *id,
            version,
        };
        let me = Me {
            chain_id,
            signing,
            encryption,
        };
        return read_granted(client, &me, &envelope, record, purpose).await;
    }
    let access_logged_at = if case.record.reporter == me {
        None
    } else {
        let purpose = purpose.ok_or(ReadError::PurposeRequired)?;
        Some(log_access(client, signing, id, purpose).await?)
    };
    let binding = sealed::binding(&chain_id, id, version);
    let details = envelope.open(&me, encryption, &binding)?;
    Ok(ReadOutcome {
        details: CaseDetails::from_bytes(&details)?,
        path: ReadPath::Reader,
        access_logged_at,
    })
}

/// The reader: chain, signing and encryption keys.
struct Me<'a> {
    chain_id: Hash,
    signing: &'a KeyPair,
    encryption: &'a EncryptionKeyPair,
}

/// Opens `record` through the first grant that covers it, names the reader in its audience, and
/// has shares from at least k holders.
async fn read_granted(
    client: &Client,
    me: &Me<'_>,
    envelope: &Envelope,
    record: RecordVersion,
    purpose: Option<AccessPurpose>,
) -> Result<ReadOutcome, ReadError> {
    let identity = me.signing.public_key();
    let query = GrantQuery {
        case: Some(record.case_id.to_hex()),
        ..GrantQuery::default()
    };
    let grants = client.grants(&query).await?;
    let escrow = client.escrow().await?;
    let sharing = escrow.sharing_bytes().ok_or(ReadError::NotPermitted)?;
    let required = escrow.threshold as usize;
    let grantee = Grantee {
        chain_id: me.chain_id,
        sharing: &sharing,
        holders: escrow.holders.len(),
        identity,
        encryption: me.encryption,
    };
    let reader = client
        .identity(&identity)
        .await?
        .ok_or(ReadError::NotPermitted)?;
    let mut awaiting = None;
    for grant in grants {
        // Holders seal shares only to the grant's audience as it stood when the grant opened:
        // anyone else would wait forever.
        if !grant.audience.admits(
            grant.created_height,
            reader.role,
            reader.region,
            reader.claims_since_height,
        ) {
            continue;
        }
        let bundles = shares_for(client, &grant.id, &identity).await?;
        let partials = grantee.partials_for(&grant.id, &bundles, &record);
        if partials.len() < required {
            if !partials.is_empty() || grant.status == GrantStatus::Open {
                awaiting.get_or_insert(ReadError::AwaitingShares {
                    grant: grant.id,
                    posted: partials.len(),
                    required,
                });
            }
            continue;
        }
        let purpose = purpose.unwrap_or(AccessPurpose::OutbreakResponse);
        let access_logged_at =
            Some(log_access(client, me.signing, &record.case_id, purpose).await?);
        let details = grantee.open(envelope, &record, &partials)?;
        return Ok(ReadOutcome {
            details: CaseDetails::from_bytes(&details)?,
            path: ReadPath::Grant {
                grant: grant.id,
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
    let mut bundles = Vec::new();
    let mut pages = vec![None];
    while let Some(page) = pages.pop() {
        for posting in client.grant_shares(grant, grantee, page).await? {
            for batch in posting.batches {
                let sealed = hex::decode(&batch.sealed)
                    .map_err(|_| malformed("sealed shares are not hex"))?;
                bundles.push(SealedBundle {
                    holder: posting.holder,
                    sealed,
                });
            }
            if let Some(next) = posting.next {
                pages.push(Some((posting.holder, next)));
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
    purpose: AccessPurpose,
) -> Result<u64, ReadError> {
    let mut signer = client.signer(signing.clone()).await?;
    let log = signer.sign(Payload::AccessLog(AccessLog {
        case_id: *case,
        purpose,
    }));
    client.submit(&log).await?;
    match client.finality(&log.id(), Duration::from_secs(30)).await? {
        Finality::Applied { height } => Ok(height),
        Finality::Rejected(rejection) => Err(ReadError::AccessLog(format!(
            "{} ({rejection})",
            rejection.code()
        ))),
        Finality::Pending => Err(ReadError::AccessLog("not finalized in 30 s".to_string())),
    }
}
