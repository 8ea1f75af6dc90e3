//! A peer the tests play: the real handshake (SecretConnection, then node info) as a node
//! makes it, on every channel a node speaks, so that what it sends afterwards is judged as a
//! peer's would be.

use keystone_consensus_driver::{pex, reactor};
use keystone_consensus_types::PrivateKey;
use keystone_p2p::{connect, ConnectConfig, NodeInfo, P2pError, Peer};

/// A peer identity on a chain.
pub(crate) struct TestPeer {
    key: PrivateKey,
    info: NodeInfo,
    channels: Vec<(u8, usize)>,
}

impl TestPeer {
    /// The peer whose key comes from `seed`, on `chain`.
    pub(crate) fn new(seed: u8, chain: &str, moniker: &str) -> TestPeer {
        let key = PrivateKey::from_seed([seed; 32]);
        let mut channels = reactor::channels(22 * 1024 * 1024);
        channels.push((pex::PEX_CHANNEL, pex::MAX_MESSAGE_BYTES));
        let ids: Vec<u8> = channels.iter().map(|(c, _)| *c).collect();
        let info = NodeInfo::new(&key.public_key(), chain, "tcp://127.0.0.1:1", moniker, &ids);
        TestPeer {
            key,
            info,
            channels,
        }
    }

    /// Its node id.
    pub(crate) fn id(&self) -> String {
        keystone_p2p::NodeId::from_public_key(&self.key.public_key()).to_string()
    }

    /// Connect to the node listening on `port` and shake hands. Reads give up after 20 s,
    /// so a node that neither answers nor hangs up fails the test instead of hanging it.
    pub(crate) fn dial(&self, port: u16) -> Result<Peer, P2pError> {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        let mut cfg = ConnectConfig::new(self.channels.clone());
        cfg.read_timeout = Some(std::time::Duration::from_secs(20));
        connect(stream, &self.key, &self.info, &cfg)
    }
}
