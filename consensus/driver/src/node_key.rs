//! The node's p2p identity: `config/node_key.json` in CometBFT's shape,
//! `{"priv_key": {"type": "tendermint/PrivKeyEd25519", "value": B64(seed ‖ pubkey)}}`.
//! The node id is the hex of the first 20 bytes of SHA-256 of the public key — the same
//! derivation as a validator address, written in lowercase as peers write it in
//! `persistent_peers = "id@host:port"`.

use crate::privval::{write_atomic, KeyJson, PrivValError};
use keystone_consensus_types::{PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Serialize, Deserialize)]
struct NodeKeyFile {
    priv_key: KeyJson,
}

/// A node key.
pub struct NodeKey(pub PrivateKey);

impl NodeKey {
    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }

    /// The node id: lowercase hex of the key's 20-byte address.
    pub fn id(&self) -> String {
        node_id(&self.public_key())
    }

    /// Read `node_key.json`.
    pub fn load(path: &Path) -> Result<NodeKey, PrivValError> {
        let bad = |reason: String| PrivValError::Malformed {
            path: path.into(),
            reason,
        };
        let text = std::fs::read(path).map_err(|source| PrivValError::Io {
            path: path.into(),
            source,
        })?;
        let file: NodeKeyFile = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        Ok(NodeKey(file.priv_key.decode_private().map_err(bad)?))
    }

    /// Write `node_key.json` (atomically).
    pub fn save(&self, path: &Path) -> Result<(), PrivValError> {
        let file = NodeKeyFile {
            priv_key: KeyJson::encode_private(&self.0),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| PrivValError::Malformed {
            path: path.into(),
            reason: e.to_string(),
        })?;
        write_atomic(path, &json)
    }
}

/// The node id of `key`.
pub fn node_id(key: &PublicKey) -> String {
    hex::encode(key.address().0)
}
