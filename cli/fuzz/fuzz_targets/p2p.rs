//! What a peer sends after the handshake: MConnection packets (any bytes through the packet
//! reader with CometBFT's channel limits), and every channel's message decoder.
#![no_main]

use keystone_consensus_driver::reactor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Packets: read until the reader refuses or the bytes end.
    let channels = reactor::channels(22 * 1024 * 1024);
    let mut r = keystone_p2p::PacketReader::new(std::io::Cursor::new(data), channels);
    for _ in 0..1024 {
        if r.read().is_err() {
            break;
        }
    }
    // Channel messages: the first byte picks the channel.
    if let Some((&c, rest)) = data.split_first() {
        let ids = [0x20, 0x21, 0x22, 0x23, 0x30, 0x38, 0x40];
        let _ = reactor::decode(ids[c as usize % ids.len()], rest);
        let _ = reactor::decode(c, rest);
    }
});
