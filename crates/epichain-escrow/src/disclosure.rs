//! Disclosure under a grant, both ends: a holder seals its partial decryptions of granted
//! records to one grantee; the grantee opens the bundles of at least k holders, recovers each
//! record's data key and opens the sealed details. Nobody else learns a partial: each bundle is
//! HPKE-sealed to the grantee and bound to the chain, grant, grantee and holder.

use crate::{EscrowError, EscrowShare, decode_sharing, partial_decryption, release};
use epichain_core::PublicKey;
use epichain_core::disclosure::{PartialDecryption, RecordVersion, shares_binding};
use epichain_core::encoding::{self, Hash};
use epichain_core::sealed::{self, EncryptionKeyPair, EncryptionPublicKey, Envelope};

/// Seals this holder's partial decryptions of `records` for `grantee`.
pub fn seal_partials(
    share: &EscrowShare,
    chain_id: &Hash,
    grant: &Hash,
    grantee: (&PublicKey, &EncryptionPublicKey),
    holder: &PublicKey,
    records: &[RecordVersion],
) -> Result<Vec<u8>, EscrowError> {
    let partials: Vec<PartialDecryption> = records
        .iter()
        .map(|record| PartialDecryption {
            case_id: record.case_id,
            version: record.version,
            partial: partial_decryption(
                share,
                chain_id,
                &sealed::escrow_target(chain_id, &record.case_id, record.version),
            ),
        })
        .collect();
    sealed::seal_to(
        grantee.1,
        &encoding::encode(&partials),
        &shares_binding(chain_id, grant, grantee.0, holder),
    )
    .map_err(|error| EscrowError::Malformed(error.to_string()))
}

/// One holder's sealed bundle as the grantee fetched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBundle {
    /// The holder that posted it.
    pub holder: PublicKey,
    /// The sealed partials.
    pub sealed: Vec<u8>,
}

/// The grantee's side of a grant: its keys and the escrow key's public sharing.
#[derive(Debug)]
pub struct Grantee<'a> {
    /// Chain id.
    pub chain_id: Hash,
    /// The escrow key's public sharing.
    pub sharing: &'a [u8],
    /// Number of holders.
    pub holders: usize,
    /// The grantee's identity key.
    pub identity: PublicKey,
    /// The grantee's encryption key.
    pub encryption: &'a EncryptionKeyPair,
}

impl Grantee<'_> {
    /// Opens bundles (those that fail to open are skipped) and returns the partials for one
    /// record version, one per holder.
    pub fn partials_for(
        &self,
        grant: &Hash,
        bundles: &[SealedBundle],
        record: &RecordVersion,
    ) -> Vec<Vec<u8>> {
        let mut partials = Vec::new();
        for bundle in bundles {
            let binding = shares_binding(&self.chain_id, grant, &self.identity, &bundle.holder);
            let Ok(bytes) = sealed::open_from(self.encryption, &bundle.sealed, &binding) else {
                continue;
            };
            let Ok(opened) = encoding::decode::<Vec<PartialDecryption>>(&bytes) else {
                continue;
            };
            if let Some(partial) = opened
                .into_iter()
                .find(|item| item.case_id == record.case_id && item.version == record.version)
            {
                partials.push(partial.partial);
            }
        }
        partials
    }

    /// Recovers a record version's data key from the holders' partials and opens its details.
    pub fn open(
        &self,
        envelope: &Envelope,
        record: &RecordVersion,
        partials: &[Vec<u8>],
    ) -> Result<Vec<u8>, EscrowError> {
        if envelope.escrow.is_empty() {
            return Err(EscrowError::Release(
                "this record was sealed without an escrow wrap".into(),
            ));
        }
        let sharing = decode_sharing(self.sharing, self.holders)?;
        let target = sealed::escrow_target(&self.chain_id, &record.case_id, record.version);
        let data_key = release(
            &sharing,
            &self.chain_id,
            &target,
            partials,
            &envelope.escrow,
        )?;
        envelope
            .open_with_data_key(
                &data_key,
                &sealed::binding(&self.chain_id, &record.case_id, record.version),
            )
            .map_err(|error| EscrowError::Release(error.to_string()))
    }
}
