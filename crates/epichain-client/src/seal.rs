//! Sealing on the reporter's machine: whom a case's details are sealed to (the authorities over
//! its district, found on chain, and optionally the sealer itself) and the escrow wrap, so that a
//! report or an update carries what the ledger's sealing rule asks for. A verifying client
//! ([`Client::verifying`]) checks every reader's key and the escrow key against proofs first.

use crate::{Client, ClientError};
use epichain_core::sealed::{self, CaseDetails, EncryptionPublicKey, SealError};
use epichain_core::{Hash, PublicKey, RegionCode, Role};

/// Why details could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    /// No authority over the region has published an encryption key.
    #[error("no authority over {0} has published an encryption key: nobody could read the details")]
    NoAuthority(RegionCode),
    /// HTTP.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Sealing.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// A reader: identity key and encryption key.
pub type Reader = (PublicKey, EncryptionPublicKey);

/// The readers of details about a case in `region`: the unrevoked authorities of the district
/// with a published encryption key or, if it has none, of the nearest level above that has.
pub async fn authorities_over(
    client: &Client,
    region: RegionCode,
) -> Result<Vec<Reader>, SealingError> {
    for level in region.lineage() {
        let authorities = client.identities(Role::Authority, level).await?;
        let readers: Vec<Reader> = authorities
            .into_iter()
            .filter(|authority| authority.revoked.is_none())
            .filter_map(|authority| {
                let encryption = authority.encryption_key_bytes()?;
                Some((authority.key, EncryptionPublicKey(encryption)))
            })
            .collect();
        for reader in &readers {
            client
                .check_reader(reader, Some((Role::Authority, level)))
                .await?;
        }
        if !readers.is_empty() {
            return Ok(readers);
        }
    }
    Err(SealingError::NoAuthority(region))
}

/// The escrow wrap from the node's escrow key (no wrap before the validators have generated it).
pub async fn escrow_wrap(
    client: &Client,
    chain_id: Hash,
) -> Result<impl Fn(&[u8; 32], &[u8]) -> Vec<u8> + use<>, SealingError> {
    let escrow = client.escrow().await?;
    client.check_escrow(&escrow).await?;
    Ok(epichain_escrow::wrapper(
        crate::escrow_sharing(&escrow),
        chain_id,
    ))
}

/// An identity as a reader: its key and published encryption key (`None` if it has published
/// none, or is unknown or revoked).
pub async fn reader_of(client: &Client, key: &PublicKey) -> Result<Option<Reader>, ClientError> {
    let reader = client
        .identity(key)
        .await?
        .filter(|identity| identity.revoked.is_none())
        .and_then(|identity| {
            let encryption = identity.encryption_key_bytes()?;
            Some((identity.key, EncryptionPublicKey(encryption)))
        });
    if let Some(reader) = &reader {
        client.check_reader(reader, None).await?;
    }
    Ok(reader)
}

/// Seals `details` for version `version` of case `case_id` in `region`: to the authorities over
/// the region, to `also` (e.g. the sealer, to stay a reader, and a case's reporter, whom the
/// ledger requires among the readers of details someone else replaces), and to the escrow key.
pub async fn seal_case_details(
    client: &Client,
    chain_id: Hash,
    case_id: &Hash,
    version: u32,
    region: RegionCode,
    details: &CaseDetails,
    also: &[Reader],
) -> Result<Vec<u8>, SealingError> {
    let readers = readers_over(client, region, also).await?;
    let binding = sealed::binding(&chain_id, case_id, version);
    let target = sealed::escrow_target(&chain_id, case_id, version);
    let wrap = escrow_wrap(client, chain_id).await?;
    let escrow = move |data_key: &[u8; 32]| wrap(data_key, &target);
    Ok(sealed::seal(&details.to_bytes(), &readers, Some(&escrow), &binding)?.to_bytes())
}

/// The authorities over `region` and the `also` readers, each once.
async fn readers_over(
    client: &Client,
    region: RegionCode,
    also: &[Reader],
) -> Result<Vec<Reader>, SealingError> {
    let mut readers = authorities_over(client, region).await?;
    for reader in also {
        if !readers.contains(reader) {
            readers.push(*reader);
        }
    }
    Ok(readers)
}

/// Seals a note (a workflow step's words, a grant request's) to the authorities over `region`
/// and the `also` readers, bound to `subject` and `number` (`sealed::note_binding`); no escrow
/// wrap: a note is for the authorities, not for disclosure grants.
pub async fn seal_note(
    client: &Client,
    chain_id: Hash,
    subject: &Hash,
    number: u32,
    region: RegionCode,
    text: &str,
    also: &[Reader],
) -> Result<Vec<u8>, SealingError> {
    let readers = readers_over(client, region, also).await?;
    let binding = sealed::note_binding(&chain_id, subject, number);
    Ok(sealed::seal(text.as_bytes(), &readers, None, &binding)?.to_bytes())
}
