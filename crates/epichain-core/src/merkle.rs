//! Binary Merkle trees over an ordered list (a block's transactions or receipts), shaped as in
//! RFC 6962 §2.1 (split at the largest power of two below the size), with domain-tagged leaf and
//! node hashes, and inclusion proofs checkable offline.

use crate::encoding::{Hash, hash_tagged, hash_tagged_parts, tag};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Hash of a leaf's bytes.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    hash_tagged(tag::MERKLE_LEAF, bytes)
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    hash_tagged_parts(tag::MERKLE_NODE, &[&left.0, &right.0])
}

/// Root of the empty tree.
pub fn empty_root() -> Hash {
    hash_tagged(tag::MERKLE_NODE, b"")
}

/// Root over already-hashed leaves.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        count => {
            let split = split_point(count);
            node_hash(&root(&leaves[..split]), &root(&leaves[split..]))
        }
    }
}

/// Largest power of two strictly below `count` (count ≥ 2).
fn split_point(count: usize) -> usize {
    let mut split = 1;
    while split * 2 < count {
        split *= 2;
    }
    split
}

/// Proof that a leaf sits at an index of a tree of a given size.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Index of the leaf.
    pub index: u64,
    /// Number of leaves.
    pub size: u64,
    /// Sibling hashes, from the leaf up.
    pub siblings: Vec<Hash>,
}

/// Builds the inclusion proof of `leaves[index]`.
pub fn prove(leaves: &[Hash], index: usize) -> Option<InclusionProof> {
    if index >= leaves.len() {
        return None;
    }
    let mut siblings = Vec::new();
    collect_siblings(leaves, index, &mut siblings);
    Some(InclusionProof {
        index: index as u64,
        size: leaves.len() as u64,
        siblings,
    })
}

fn collect_siblings(leaves: &[Hash], index: usize, siblings: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let split = split_point(leaves.len());
    if index < split {
        collect_siblings(&leaves[..split], index, siblings);
        siblings.push(root(&leaves[split..]));
    } else {
        collect_siblings(&leaves[split..], index - split, siblings);
        siblings.push(root(&leaves[..split]));
    }
}

/// Checks an inclusion proof of a leaf hash against a root.
pub fn verify(leaf: &Hash, proof: &InclusionProof, expected_root: &Hash) -> bool {
    if proof.index >= proof.size {
        return false;
    }
    // Walk down to learn at each level whether we are the left or right child, then fold up.
    let mut directions = Vec::new();
    let (mut index, mut size) = (proof.index, proof.size);
    while size > 1 {
        let split = split_point(size as usize) as u64;
        if index < split {
            directions.push(true);
            size = split;
        } else {
            directions.push(false);
            index -= split;
            size -= split;
        }
    }
    if directions.len() != proof.siblings.len() {
        return false;
    }
    let computed =
        directions
            .iter()
            .rev()
            .zip(&proof.siblings)
            .fold(*leaf, |current, (is_left, sibling)| {
                if *is_left {
                    node_hash(&current, sibling)
                } else {
                    node_hash(sibling, &current)
                }
            });
    computed == *expected_root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(count: usize) -> Vec<Hash> {
        (0..count)
            .map(|i| leaf_hash(&(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn shape_follows_rfc6962() {
        let l = leaves(3);
        assert_eq!(root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        assert_eq!(root(&l[..1]), l[0]);
        assert_ne!(root(&[]), root(&l[..1]));
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_no_other_does(count in 1usize..70, pick in 0usize..70) {
            let l = leaves(count);
            let index = pick % count;
            let tree_root = root(&l);
            let proof = prove(&l, index).expect("index in range");
            prop_assert!(verify(&l[index], &proof, &tree_root));
            let other = leaf_hash(b"not a leaf");
            prop_assert!(!verify(&other, &proof, &tree_root));
            if count > 1 {
                let mut moved = proof.clone();
                moved.index = ((index + 1) % count) as u64;
                prop_assert!(!verify(&l[index], &moved, &tree_root));
            }
        }
    }
}
