//! RFC 6962 Merkle trees as CometBFT builds them (`crypto/merkle`): leaves hashed as
//! `sha256(0x00 ‖ item)`, inner nodes as `sha256(0x01 ‖ left ‖ right)`, the split at the largest
//! power of two below the count, and `sha256("")` for the empty tree. Header hashes, validator-set
//! hashes, commit hashes, tx roots and block-part proofs are all this one tree.

use crate::hash::{sha256, Hash};
use sha2::{Digest, Sha256};

fn leaf_hash(item: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(item);
    Hash(h.finalize().into())
}

fn inner_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The Merkle root of `items`.
pub fn hash_from_byte_slices<T: AsRef<[u8]>>(items: &[T]) -> Hash {
    match items.len() {
        0 => sha256(&[]),
        1 => leaf_hash(items[0].as_ref()),
        n => {
            let k = split_point(n);
            inner_hash(
                &hash_from_byte_slices(&items[..k]),
                &hash_from_byte_slices(&items[k..]),
            )
        }
    }
}

/// An inclusion proof of one item, shaped as CometBFT's `merkle.Proof`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// Number of items in the tree.
    pub total: u64,
    /// Index of the proved item.
    pub index: u64,
    /// `sha256(0x00 ‖ item)`.
    pub leaf_hash: Hash,
    /// Sibling hashes from the leaf up to the root.
    pub aunts: Vec<Hash>,
}

impl Proof {
    /// Does this proof show that `item` is at `self.index` under `root`?
    pub fn verify(&self, root: &Hash, item: &[u8]) -> bool {
        if self.index >= self.total || leaf_hash(item) != self.leaf_hash {
            return false;
        }
        compute_from_aunts(self.index, self.total, self.leaf_hash, &self.aunts).as_ref()
            == Some(root)
    }

    /// The root this proof puts `item` under, if the proof holds together (its leaf is
    /// `item`'s hash, its index in range, its aunts as many as the tree is deep).
    pub fn root_for(&self, item: &[u8]) -> Option<Hash> {
        if leaf_hash(item) != self.leaf_hash {
            return None;
        }
        compute_from_aunts(self.index, self.total, self.leaf_hash, &self.aunts)
    }
}

fn compute_from_aunts(index: u64, total: u64, leaf: Hash, aunts: &[Hash]) -> Option<Hash> {
    if index >= total || total == 0 {
        return None;
    }
    if total == 1 {
        return aunts.is_empty().then_some(leaf);
    }
    let (last, rest) = aunts.split_last()?;
    let k = split_point(total as usize) as u64;
    if index < k {
        let left = compute_from_aunts(index, k, leaf, rest)?;
        Some(inner_hash(&left, last))
    } else {
        let right = compute_from_aunts(index - k, total - k, leaf, rest)?;
        Some(inner_hash(last, &right))
    }
}

/// The root of `items` and one proof per item.
pub fn proofs_from_byte_slices<T: AsRef<[u8]>>(items: &[T]) -> (Hash, Vec<Proof>) {
    let leaves: Vec<Hash> = items.iter().map(|i| leaf_hash(i.as_ref())).collect();
    let mut aunts: Vec<Vec<Hash>> = vec![Vec::new(); leaves.len()];
    let root = build(&leaves, 0, &mut aunts);
    let total = leaves.len() as u64;
    let proofs = leaves
        .into_iter()
        .zip(aunts)
        .enumerate()
        .map(|(i, (leaf_hash, aunts))| Proof {
            total,
            index: i as u64,
            leaf_hash,
            aunts,
        })
        .collect();
    (root, proofs)
}

/// Root of `leaves` (already leaf-hashed); pushes each sibling onto the aunts of every leaf below.
fn build(leaves: &[Hash], offset: usize, aunts: &mut [Vec<Hash>]) -> Hash {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            let left = build(&leaves[..k], offset, aunts);
            let right = build(&leaves[k..], offset + k, aunts);
            for a in &mut aunts[offset..offset + k] {
                a.push(right);
            }
            for a in &mut aunts[offset + k..offset + n] {
                a.push(left);
            }
            inner_hash(&left, &right)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        Hash::from_slice(&hex::decode(s).expect("test hex")).expect("32 bytes")
    }

    // Base vectors from cometbft crypto/merkle and tendermint-rs (shared/vectors/header-hash.md §6).
    #[test]
    fn rfc6962_vectors() {
        let empty: [&[u8]; 0] = [];
        assert_eq!(
            hash_from_byte_slices(&empty),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            hash_from_byte_slices(&[b""]),
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        assert_eq!(
            hash_from_byte_slices(&[b"L123456"]),
            h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        );
        assert_eq!(
            hash_from_byte_slices(&[b"N123", b"N456"]),
            h("dc9a0536ff2e196d5a628a5bf377ab247bbddf83342be39699461c1e766e6646")
        );
        let five: Vec<Vec<u8>> = ["0102", "0304", "0506", "0708", "090a"]
            .iter()
            .map(|s| hex::decode(s).expect("hex"))
            .collect();
        assert_eq!(
            hash_from_byte_slices(&five),
            h("f326493eceab4f2d9ffbc78c59432a0a005d6ea98392045c74df5d14a113be18")
        );
    }

    #[test]
    fn proofs_verify_and_reject_tampering() {
        for n in 1..=17usize {
            let items: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i + 1]).collect();
            let (root, proofs) = proofs_from_byte_slices(&items);
            assert_eq!(root, hash_from_byte_slices(&items));
            for (i, p) in proofs.iter().enumerate() {
                assert!(p.verify(&root, &items[i]), "n={n} i={i}");
                assert!(!p.verify(&root, b"other"), "n={n} i={i}");
                let mut bad = p.clone();
                bad.index = (bad.index + 1) % n as u64;
                if n > 1 {
                    assert!(!bad.verify(&root, &items[i]), "n={n} i={i}");
                }
            }
        }
    }
}
