//! secp256k1 signature checks, each done once per node: a bounded cache of verified
//! (sign bytes, public key, signature) triples shared by `CheckTx`, recheck and
//! `FinalizeBlock`, and a pass that verifies a block's signatures across cores before the
//! block runs in order.
//!
//! Whether a signature verifies depends on the three byte strings alone, never on state, so
//! a triple found in the cache is as good as a verification: results, events and gas are the
//! same with or without it (gas is charged for the check either way). Only successes are
//! kept; a transaction whose sign bytes differ (another sequence, account number or chain
//! id) is a different triple and is verified.

use super::secp256k1_address;
use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey as Secp256k1PubKey;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{mode_info, AuthInfo, SignDoc, TxRaw};
use keystone_modules::{auth, State};
use prost::Message;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The machine's cores, asked once: the standard library reads the cgroup's quota files on
/// every call, which cost a syncing node 4 % of its time when asked per block.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// Triples remembered: a block of 10,000 transactions and a full mempool's worth of rechecks
/// fit, at 32 bytes each (about 4 MiB with the index).
const CAPACITY: usize = 65_536;

/// Transactions per block below which the pass runs on the calling thread alone: spawning
/// costs more than it saves.
const PARALLEL_FROM: usize = 16;

/// The key a triple is remembered by: SHA-256 over the three, each length-prefixed.
type Digest32 = [u8; 32];

fn digest(key: &[u8], msg: &[u8], sig: &[u8]) -> Digest32 {
    let mut h = Sha256::new();
    for part in [key, msg, sig] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Verified triples, oldest evicted first.
#[derive(Default)]
struct Seen {
    set: BTreeSet<Digest32>,
    order: VecDeque<Digest32>,
}

/// The cache: shared by the application's check, deliver and simulate paths, on any thread.
#[derive(Default)]
pub struct SigCache {
    seen: Mutex<Seen>,
    /// Signatures verified (cache misses), and checks answered from the cache.
    verified: AtomicU64,
    hits: AtomicU64,
}

/// What the cache has done (for tests and benchmarks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigStats {
    /// secp256k1 verifications computed.
    pub verified: u64,
    /// Checks answered from the cache.
    pub hits: u64,
}

impl std::fmt::Debug for SigCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigCache")
            .field("len", &self.len())
            .finish()
    }
}

impl SigCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        // Inserts and lookups leave the set whole; a poisoned lock still guards a valid one.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Verifications computed and checks answered from the cache so far.
    pub fn stats(&self) -> SigStats {
        SigStats {
            verified: self.verified.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
        }
    }

    /// Triples held.
    pub fn len(&self) -> usize {
        self.lock().set.len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, d: Digest32) {
        let mut seen = self.lock();
        if seen.set.insert(d) {
            seen.order.push_back(d);
            while seen.order.len() > CAPACITY {
                if let Some(old) = seen.order.pop_front() {
                    seen.set.remove(&old);
                }
            }
        }
    }

    /// Does `sig` by `key` (a compressed secp256k1 key) verify over `msg`? Answered from the
    /// cache when this triple verified before.
    pub fn verify(&self, key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        let d = digest(key, msg, sig);
        if self.lock().set.contains(&d) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        self.verified.fetch_add(1, Ordering::Relaxed);
        let ok = verify_secp256k1(key, msg, sig);
        if ok {
            self.insert(d);
        }
        ok
    }

    /// Verify, across the machine's cores, the signatures of `txs` as the ante chain will
    /// check them in a block of `chain_id` at `height` (account numbers read from `state`,
    /// the state before the block), and remember those that verify. A transaction this
    /// cannot foresee (undecodable, a key not in the transaction, an account created in the
    /// same block) is simply not cached, and the ante chain verifies it itself.
    pub fn verify_block<S: State + Sync>(
        &self,
        state: &S,
        txs: &[impl AsRef<[u8]> + Sync],
        chain_id: &str,
        height: u64,
    ) {
        if txs.len() < PARALLEL_FROM || cores() < 2 {
            for tx in txs {
                self.verify_foreseen(state, tx.as_ref(), chain_id, height);
            }
            return;
        }
        let per = txs.len().div_ceil(cores());
        std::thread::scope(|s| {
            for part in txs.chunks(per) {
                s.spawn(move || {
                    for tx in part {
                        self.verify_foreseen(state, tx.as_ref(), chain_id, height);
                    }
                });
            }
        });
    }

    fn verify_foreseen<S: State>(&self, state: &S, tx: &[u8], chain_id: &str, height: u64) {
        for (key, msg, sig) in foreseen(state, tx, chain_id, height) {
            self.verify(&key, &msg, &sig);
        }
    }
}

/// The (key, sign bytes, signature) triples the ante chain will check for `tx`, as far as the
/// transaction and the state before the block tell them.
fn foreseen<S: State>(
    state: &S,
    tx: &[u8],
    chain_id: &str,
    height: u64,
) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let Ok(raw) = TxRaw::decode(tx) else {
        return Vec::new();
    };
    let Ok(auth_info) = AuthInfo::decode(raw.auth_info_bytes.as_slice()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (info, sig) in auth_info.signer_infos.iter().zip(&raw.signatures) {
        let direct = matches!(
            info.mode_info.as_ref().and_then(|m| m.sum.as_ref()),
            Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32
        );
        let key = match &info.public_key {
            Some(any) if direct && any.type_url == "/cosmos.crypto.secp256k1.PubKey" => {
                match Secp256k1PubKey::decode(any.value.as_slice()) {
                    Ok(k) => k.key,
                    Err(_) => continue,
                }
            }
            _ => continue,
        };
        // Genesis transactions are signed with account number 0 (see the ante chain).
        let account_number = if height == 0 {
            0
        } else {
            match auth::account(state, &secp256k1_address(&key)) {
                Ok(Some(a)) => a.account_number,
                _ => continue,
            }
        };
        let msg = SignDoc {
            body_bytes: raw.body_bytes.clone(),
            auth_info_bytes: raw.auth_info_bytes.clone(),
            chain_id: chain_id.to_owned(),
            account_number,
        }
        .encode_to_vec();
        out.push((key, msg, sig.clone()));
    }
    out
}

pub(super) fn verify_secp256k1(pubkey: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use k256::ecdsa::signature::Verifier;
    use k256::ecdsa::{Signature, VerifyingKey};
    let (Ok(vk), Ok(sig)) = (
        VerifyingKey::from_sec1_bytes(pubkey),
        Signature::from_slice(sig),
    ) else {
        return false;
    };
    // The SDK accepts only low-S signatures, so a signature cannot be re-shaped by a relayer.
    sig.normalize_s().is_none() && vk.verify(msg, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::ecdsa::signature::Signer;
    use k256::ecdsa::{Signature, SigningKey};

    fn signed(seed: u8, msg: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let sk = SigningKey::from_slice(&[seed; 32]).expect("a valid scalar");
        let sig: Signature = sk.sign(msg);
        let sig = sig.normalize_s().unwrap_or(sig);
        let key = sk
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec();
        (key, sig.to_bytes().to_vec())
    }

    #[test]
    fn a_verified_triple_is_remembered_and_a_different_message_is_not() {
        let cache = SigCache::new();
        let (key, sig) = signed(3, b"sequence 0");
        assert!(cache.verify(&key, b"sequence 0", &sig));
        assert_eq!(cache.len(), 1);
        assert!(cache.verify(&key, b"sequence 0", &sig));
        assert_eq!(cache.len(), 1, "the second check was a hit");
        // The same signature over other sign bytes fails, and is not remembered.
        assert!(!cache.verify(&key, b"sequence 1", &sig));
        assert_eq!(cache.len(), 1);
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!cache.verify(&key, b"sequence 0", &bad));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = SigCache::new();
        for i in 0..(CAPACITY + 10) as u64 {
            cache.insert(digest(b"k", &i.to_be_bytes(), b"s"));
        }
        assert_eq!(cache.len(), CAPACITY);
        // The oldest went first.
        assert!(!cache
            .lock()
            .set
            .contains(&digest(b"k", &0u64.to_be_bytes(), b"s")));
    }
}
