//! The block as the consensus engine sees it: our ledger block (or the genesis marker) with
//! commonware's codec, digest and height traits. The digest is our header hash, so a finality
//! certificate over the digest certifies the header — and through it the transactions, receipts
//! and state root.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use commonware_consensus::{Heightable, types::Height};
use commonware_cryptography::{Digestible, sha256::Digest};
use epichain_core::{Block, Hash};
use std::sync::Arc;

/// Largest encoded block the network carries (codec bound).
pub const BLOCK_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Converts our hash to the engine's digest type.
pub fn digest_of(hash: &Hash) -> Digest {
    Digest(hash.0)
}

/// Converts the engine's digest to our hash.
pub fn hash_of(digest: &Digest) -> Hash {
    Hash(digest.0)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Body {
    /// Height 0: stands for genesis; its digest is the chain id (what block 1 names as parent).
    Genesis(Hash),
    /// A ledger block and its canonical bytes.
    Block(Arc<Block>, Arc<Vec<u8>>),
}

/// A block for the consensus engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBlock {
    body: Body,
    digest: Digest,
}

impl ChainBlock {
    /// The genesis marker of a chain.
    pub fn genesis(chain_id: Hash) -> Self {
        ChainBlock {
            body: Body::Genesis(chain_id),
            digest: digest_of(&chain_id),
        }
    }

    /// Wraps a ledger block.
    pub fn new(block: Block) -> Self {
        let bytes = block.to_bytes();
        let digest = digest_of(&block.header.hash());
        ChainBlock {
            body: Body::Block(Arc::new(block), Arc::new(bytes)),
            digest,
        }
    }

    /// The ledger block, or `None` for the genesis marker.
    pub fn block(&self) -> Option<&Block> {
        match &self.body {
            Body::Genesis(_) => None,
            Body::Block(block, _) => Some(block),
        }
    }

    /// Our hash of the block (its digest).
    pub fn hash(&self) -> Hash {
        hash_of(&self.digest)
    }

    /// Canonical bytes of the ledger block (empty for genesis).
    pub fn block_bytes(&self) -> &[u8] {
        match &self.body {
            Body::Genesis(_) => &[],
            Body::Block(_, bytes) => bytes,
        }
    }
}

const TAG_GENESIS: u8 = 0;
const TAG_BLOCK: u8 = 1;

impl Write for ChainBlock {
    fn write(&self, buffer: &mut impl BufMut) {
        match &self.body {
            Body::Genesis(chain_id) => {
                TAG_GENESIS.write(buffer);
                chain_id.0.write(buffer);
            }
            Body::Block(_, bytes) => {
                TAG_BLOCK.write(buffer);
                bytes.as_slice().write(buffer);
            }
        }
    }
}

impl EncodeSize for ChainBlock {
    fn encode_size(&self) -> usize {
        match &self.body {
            Body::Genesis(chain_id) => TAG_GENESIS.encode_size() + chain_id.0.encode_size(),
            Body::Block(_, bytes) => TAG_BLOCK.encode_size() + bytes.as_slice().encode_size(),
        }
    }
}

impl Read for ChainBlock {
    /// Largest accepted block encoding.
    type Cfg = usize;

    fn read_cfg(buffer: &mut impl Buf, bytes_max: &usize) -> Result<Self, CodecError> {
        match u8::read(buffer)? {
            TAG_GENESIS => Ok(ChainBlock::genesis(Hash(<[u8; 32]>::read(buffer)?))),
            TAG_BLOCK => {
                let bytes = Vec::<u8>::read_cfg(buffer, &(RangeCfg::new(..=*bytes_max), ()))?;
                let block = Block::from_bytes(&bytes)
                    .map_err(|_| CodecError::Invalid("epichain block", "not a canonical block"))?;
                Ok(ChainBlock::new(block))
            }
            tag => Err(CodecError::InvalidEnum(tag)),
        }
    }
}

impl Digestible for ChainBlock {
    type Digest = Digest;
    fn digest(&self) -> Digest {
        self.digest
    }
}

impl Heightable for ChainBlock {
    fn height(&self) -> Height {
        Height::new(self.block().map_or(0, |block| block.header.height))
    }
}

impl commonware_consensus::Block for ChainBlock {
    fn parent(&self) -> Digest {
        match &self.body {
            Body::Genesis(_) => Digest([0; 32]),
            Body::Block(block, _) => digest_of(&block.header.parent),
        }
    }
}

impl commonware_consensus::BoundedBlock for ChainBlock {
    fn max_encode_size(bytes_max: &usize) -> usize {
        // tag + varint length (≤ 5 bytes) + bytes.
        1 + 5 + *bytes_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode, Encode};

    #[test]
    fn codec_round_trip_keeps_the_digest() {
        let genesis = ChainBlock::genesis(Hash([7; 32]));
        let decoded =
            ChainBlock::decode_cfg(genesis.encode(), &BLOCK_BYTES_MAX).expect("genesis decodes");
        assert_eq!(decoded, genesis);
        assert_eq!(decoded.digest(), Digest([7; 32]));
        assert_eq!(decoded.height(), Height::new(0));
        let too_small = ChainBlock::decode_cfg(genesis.encode(), &0);
        assert!(too_small.is_ok(), "genesis carries no block bytes");
    }
}
