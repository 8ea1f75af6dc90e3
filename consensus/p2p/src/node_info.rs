//! The node-info handshake that follows the secret connection (`p2p/node_info.go` and
//! `p2p/transport.go` in CometBFT v0.38): each side sends its `tendermint.p2p.DefaultNodeInfo`
//! length-delimited, and accepts the peer's only if it is well formed, names the key the
//! peer authenticated with, is not ourselves, and is on our chain with a channel in common.

use crate::error::P2pError;
use crate::wire::{read_delimited, write_delimited};
use keystone_consensus_types::PublicKey;
use keystone_proto::tm::v0_38::p2p::{
    DefaultNodeInfo, DefaultNodeInfoOther, ProtocolVersion as ProtoVersion,
};
use prost::Message as _;
use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

/// The largest node info accepted (Go's `MaxNodeInfoSize`).
pub const MAX_NODE_INFO_SIZE: usize = 10 * 1024;

/// The most channels a node info may list (Go's `maxNumChannels`).
pub const MAX_NUM_CHANNELS: usize = 16;

/// The software version we announce: a CometBFT v0.38 release, so that peers and tools
/// treat us as one.
pub const DEFAULT_VERSION: &str = "0.38.17";

/// A node id: the first 20 bytes of SHA-256 of the node's ed25519 key, written as 40
/// lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub [u8; 20]);

impl NodeId {
    /// The id of the node whose key is `key`.
    pub fn from_public_key(key: &PublicKey) -> Self {
        NodeId(key.address().0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl FromStr for NodeId {
    type Err = P2pError;

    /// Only the lowercase form: Go compares ids as strings, so an uppercase id never
    /// matches the key it belongs to.
    fn from_str(s: &str) -> Result<Self, P2pError> {
        let invalid = || P2pError::InvalidNodeId(s.chars().take(64).collect());
        if s.len() != 40
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid());
        }
        let bytes = hex::decode(s).map_err(|_| invalid())?;
        Ok(NodeId(bytes.try_into().map_err(|_| invalid())?))
    }
}

/// The protocol versions a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolVersion {
    /// The p2p protocol (CometBFT v0.38: 8).
    pub p2p: u64,
    /// The block protocol (CometBFT v0.38: 11); peers must agree on it.
    pub block: u64,
    /// The application's version.
    pub app: u64,
}

impl Default for ProtocolVersion {
    fn default() -> Self {
        ProtocolVersion {
            p2p: 8,
            block: 11,
            app: 0,
        }
    }
}

/// What a node tells its peers about itself (`tendermint.p2p.DefaultNodeInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Protocol versions.
    pub protocol_version: ProtocolVersion,
    /// The node's id; a peer's must be the id of the key it authenticated with.
    pub node_id: NodeId,
    /// Where the node accepts peers, e.g. `tcp://0.0.0.0:26656`.
    pub listen_addr: String,
    /// The chain id.
    pub network: String,
    /// The software version.
    pub version: String,
    /// The channel ids the node serves.
    pub channels: Vec<u8>,
    /// A human-readable name.
    pub moniker: String,
    /// `"on"`, `"off"` or empty.
    pub tx_index: String,
    /// The RPC listen address, or empty.
    pub rpc_address: String,
}

impl NodeInfo {
    /// Our node info with CometBFT v0.38's defaults: protocol p2p 8 / block 11 / app 0,
    /// version [`DEFAULT_VERSION`], tx index on, no RPC address.
    pub fn new(
        node_key: &PublicKey,
        network: &str,
        listen_addr: &str,
        moniker: &str,
        channels: &[u8],
    ) -> Self {
        NodeInfo {
            protocol_version: ProtocolVersion::default(),
            node_id: NodeId::from_public_key(node_key),
            listen_addr: listen_addr.to_owned(),
            network: network.to_owned(),
            version: DEFAULT_VERSION.to_owned(),
            channels: channels.to_vec(),
            moniker: moniker.to_owned(),
            tx_index: "on".to_owned(),
            rpc_address: String::new(),
        }
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> DefaultNodeInfo {
        DefaultNodeInfo {
            protocol_version: Some(ProtoVersion {
                p2p: self.protocol_version.p2p,
                block: self.protocol_version.block,
                app: self.protocol_version.app,
            }),
            default_node_id: self.node_id.to_string(),
            listen_addr: self.listen_addr.clone(),
            network: self.network.clone(),
            version: self.version.clone(),
            channels: self.channels.clone(),
            moniker: self.moniker.clone(),
            other: Some(DefaultNodeInfoOther {
                tx_index: self.tx_index.clone(),
                rpc_address: self.rpc_address.clone(),
            }),
        }
    }

    /// From the protobuf form; fails only on a malformed node id (see [`NodeInfo::validate`]
    /// for the other rules).
    pub fn from_proto(p: DefaultNodeInfo) -> Result<Self, P2pError> {
        let version = p.protocol_version.unwrap_or_default();
        let other = p.other.unwrap_or_default();
        Ok(NodeInfo {
            protocol_version: ProtocolVersion {
                p2p: version.p2p,
                block: version.block,
                app: version.app,
            },
            node_id: p.default_node_id.parse()?,
            listen_addr: p.listen_addr,
            network: p.network,
            version: p.version,
            channels: p.channels,
            moniker: p.moniker,
            tx_index: other.tx_index,
            rpc_address: other.rpc_address,
        })
    }

    /// CometBFT's `DefaultNodeInfo.Validate`: a listen address of the form
    /// `[scheme://]host:port` (the host is not resolved, unlike Go), printable-ASCII version,
    /// moniker and RPC address, at most 16 distinct channels, tx index on/off/empty.
    pub fn validate(&self) -> Result<(), P2pError> {
        let invalid = |what: String| Err(P2pError::InvalidNodeInfo(what));
        if !valid_listen_addr(&self.listen_addr) {
            return invalid(format!("listen address {:?}", self.listen_addr));
        }
        if !self.version.is_empty() && !is_ascii_text(&self.version) {
            return invalid(format!("version {:?}", self.version));
        }
        if self.channels.len() > MAX_NUM_CHANNELS {
            return invalid(format!("{} channels, at most 16", self.channels.len()));
        }
        let mut seen = [false; 256];
        for &c in &self.channels {
            if std::mem::replace(&mut seen[c as usize], true) {
                return invalid(format!("channel {c:#04x} listed twice"));
            }
        }
        if !is_ascii_text(&self.moniker) {
            return invalid(format!("moniker {:?}", self.moniker));
        }
        if !matches!(self.tx_index.as_str(), "" | "on" | "off") {
            return invalid(format!("tx_index {:?}", self.tx_index));
        }
        if !self.rpc_address.is_empty() && !is_ascii_text(&self.rpc_address) {
            return invalid(format!("rpc address {:?}", self.rpc_address));
        }
        Ok(())
    }

    /// CometBFT's `CompatibleWith`, from our side: same block protocol, same network, and a
    /// channel in common (unless we list none, which Go allows for tests).
    pub fn check_compatible(&self, peer: &NodeInfo) -> Result<(), P2pError> {
        if self.protocol_version.block != peer.protocol_version.block {
            return Err(P2pError::BlockVersionMismatch {
                ours: self.protocol_version.block,
                theirs: peer.protocol_version.block,
            });
        }
        if self.network != peer.network {
            return Err(P2pError::NetworkMismatch {
                ours: self.network.clone(),
                theirs: peer.network.clone(),
            });
        }
        if !self.channels.is_empty() && !self.channels.iter().any(|c| peer.channels.contains(c)) {
            return Err(P2pError::NoCommonChannel);
        }
        Ok(())
    }
}

/// Go's `IsASCIIText` and a non-blank `ASCIITrim`: printable ASCII, not only spaces.
fn is_ascii_text(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (32..=126).contains(&b)) && s.bytes().any(|b| b != b' ')
}

/// What Go's `NewNetAddressString` needs of `id@listen_addr`, short of a DNS lookup.
fn valid_listen_addr(addr: &str) -> bool {
    let addr = match addr.split_once("://") {
        Some((_, rest)) => rest,
        None => addr,
    };
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        match rest.split_once("]:") {
            Some(pair) => pair,
            None => return false,
        }
    } else {
        match addr.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, port),
            _ => return false,
        }
    };
    !host.contains(['[', ']', '@', '/']) && port.parse::<u16>().is_ok()
}

/// Sends `local`, receives the peer's node info and accepts it only if it is valid
/// ([`NodeInfo::validate`]), names the key the peer authenticated with (`peer_key`, from
/// [`crate::handshake`]), is not our own, and is compatible with ours
/// ([`NodeInfo::check_compatible`]); Go's transport checks in the same order.
pub fn exchange_node_info<R: Read, W: Write>(
    reader: &mut R,
    writer: &mut W,
    local: &NodeInfo,
    peer_key: &PublicKey,
) -> Result<NodeInfo, P2pError> {
    // Go sends and receives at once; sending first is safe because a node info is at most
    // 10 KiB, which the two sockets' buffers hold, so two peers both sending first never
    // wait on each other.
    write_delimited(writer, &local.to_proto().encode_to_vec())?;
    let body = read_delimited(reader, MAX_NODE_INFO_SIZE, "node info")?;
    let proto = DefaultNodeInfo::decode(body.as_slice()).map_err(|source| P2pError::Decode {
        what: "node info",
        source,
    })?;
    let info = NodeInfo::from_proto(proto)?;
    info.validate()?;
    let authenticated = NodeId::from_public_key(peer_key);
    if info.node_id != authenticated {
        return Err(P2pError::NodeIdMismatch {
            claimed: info.node_id,
            authenticated,
        });
    }
    if info.node_id == local.node_id {
        return Err(P2pError::SelfConnection);
    }
    local.check_compatible(&info)?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_consensus_types::PrivateKey;

    fn key(seed: u8) -> PublicKey {
        PrivateKey::from_seed([seed; 32]).public_key()
    }

    fn info(seed: u8) -> NodeInfo {
        NodeInfo::new(
            &key(seed),
            "keystone-1",
            "tcp://0.0.0.0:26656",
            "node",
            &[0x20, 0x21],
        )
    }

    #[test]
    fn node_id_is_the_lowercase_address() {
        let k = key(1);
        let id = NodeId::from_public_key(&k);
        assert_eq!(id.to_string(), k.address().to_string().to_lowercase());
        assert_eq!(id.to_string().parse::<NodeId>().expect("round trip"), id);
        assert!(id.to_string().to_uppercase().parse::<NodeId>().is_err());
        assert!("abc".parse::<NodeId>().is_err());
    }

    #[test]
    fn defaults_are_cometbft_v0_38s() {
        let p = info(1).to_proto();
        let v = p.protocol_version.expect("set");
        assert_eq!((v.p2p, v.block, v.app), (8, 11, 0));
        assert_eq!(p.version, "0.38.17");
        assert_eq!(p.other.as_ref().expect("set").tx_index, "on");
        assert_eq!(NodeInfo::from_proto(p).expect("valid"), info(1));
    }

    #[test]
    fn validate_follows_go() {
        assert!(info(1).validate().is_ok());
        for addr in [
            "0.0.0.0:26656",
            "[::1]:26656",
            "tcp://example.com:1",
            ":26656",
        ] {
            let mut i = info(1);
            i.listen_addr = addr.into();
            assert!(i.validate().is_ok(), "{addr}");
        }
        type Breaker = fn(&mut NodeInfo);
        let cases: Vec<(&str, Breaker)> = vec![
            ("no port", |i| i.listen_addr = "tcp://1.2.3.4".into()),
            ("bad port", |i| i.listen_addr = "1.2.3.4:99999".into()),
            ("bare v6", |i| i.listen_addr = "::1:80".into()),
            ("empty moniker", |i| i.moniker.clear()),
            ("blank moniker", |i| i.moniker = "   ".into()),
            ("tab in moniker", |i| i.moniker = "a\tb".into()),
            ("non-ascii moniker", |i| i.moniker = "nœud".into()),
            ("blank version", |i| i.version = " ".into()),
            ("17 channels", |i| i.channels = (0..17).collect()),
            ("duplicate channel", |i| i.channels = vec![1, 2, 1]),
            ("tx index", |i| i.tx_index = "yes".into()),
            ("rpc address", |i| i.rpc_address = "\n".into()),
        ];
        for (name, break_it) in cases {
            let mut i = info(1);
            break_it(&mut i);
            assert!(
                matches!(i.validate(), Err(P2pError::InvalidNodeInfo(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn compatibility_follows_go() {
        let ours = info(1);
        assert!(ours.check_compatible(&info(2)).is_ok());
        let mut other = info(2);
        other.protocol_version.block = 10;
        assert!(matches!(
            ours.check_compatible(&other),
            Err(P2pError::BlockVersionMismatch {
                ours: 11,
                theirs: 10
            })
        ));
        let mut other = info(2);
        other.channels = vec![0x30];
        assert!(matches!(
            ours.check_compatible(&other),
            Err(P2pError::NoCommonChannel)
        ));
        let mut testing = info(1);
        testing.channels.clear();
        assert!(testing.check_compatible(&other).is_ok());
    }

    /// Runs our side of the exchange against a canned peer message.
    fn exchange(peer: &DefaultNodeInfo, peer_key: &PublicKey) -> Result<NodeInfo, P2pError> {
        let mut wire = Vec::new();
        crate::wire::put_delimited(&mut wire, &peer.encode_to_vec());
        let mut sent = Vec::new();
        exchange_node_info(&mut wire.as_slice(), &mut sent, &info(1), peer_key)
    }

    #[test]
    fn exchange_checks_identity_network_and_size() {
        let peer = info(2).to_proto();
        assert_eq!(exchange(&peer, &key(2)).expect("good peer"), info(2));
        // The info names key 2, the connection authenticated key 3.
        assert!(matches!(
            exchange(&peer, &key(3)),
            Err(P2pError::NodeIdMismatch { .. })
        ));
        let mut wrong_chain = peer.clone();
        wrong_chain.network = "other-1".into();
        assert!(matches!(
            exchange(&wrong_chain, &key(2)),
            Err(P2pError::NetworkMismatch { .. })
        ));
        assert!(matches!(
            exchange(&info(1).to_proto(), &key(1)),
            Err(P2pError::SelfConnection)
        ));
        let mut huge = peer.clone();
        huge.moniker = "m".repeat(MAX_NODE_INFO_SIZE);
        assert!(matches!(
            exchange(&huge, &key(2)),
            Err(P2pError::TooLarge {
                what: "node info",
                ..
            })
        ));
        let mut bad_id = peer;
        bad_id.default_node_id = bad_id.default_node_id.to_uppercase();
        assert!(matches!(
            exchange(&bad_id, &key(2)),
            Err(P2pError::InvalidNodeId(_))
        ));
    }
}
