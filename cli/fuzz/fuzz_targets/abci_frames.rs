//! ABCI socket frames: any bytes, in any split, through the streaming decoder of requests and
//! of responses (the two ends of the socket).
#![no_main]

use keystone_proto::abci::{Request, Response};
use keystone_proto::socket::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(1, |b| *b as usize + 1);
    let mut req = Decoder::<Request>::with_max_size(1 << 20);
    let mut resp = Decoder::<Response>::with_max_size(1 << 20);
    for chunk in data.chunks(split) {
        req.feed(chunk);
        resp.feed(chunk);
        while let Ok(Some(_)) = req.next_message() {}
        while let Ok(Some(_)) = resp.next_message() {}
    }
    let _ = req.finish();
    let _ = resp.finish();
});
