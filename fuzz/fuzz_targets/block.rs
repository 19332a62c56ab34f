//! Outside bytes as a block: the consensus codec (what peers send) and the ledger's encoding
//! (what followers fetch). Never a panic; what decodes re-encodes to the same bytes.
#![no_main]

use commonware_codec::{Decode as _, Encode as _};
use epichain_core::Block;
use epichain_node::block::{BLOCK_BYTES_MAX, ChainBlock};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = ChainBlock::decode_cfg(data.to_vec(), &BLOCK_BYTES_MAX) {
        assert_eq!(
            block.encode().as_ref(),
            data,
            "consensus encoding is canonical"
        );
        let _ = block.hash();
    }
    if let Ok(block) = epichain_core::encoding::decode_bounded::<Block>(data, BLOCK_BYTES_MAX) {
        assert_eq!(epichain_core::encoding::encode(&block), data);
        let _ = block.header.hash();
    }
});
