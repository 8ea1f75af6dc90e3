//! The `google.protobuf` wrapper messages (`StringValue`, `Int64Value`, `BytesValue`) as Go's
//! `cdcEncode` writes them when CometBFT hashes a header: the value in field 1, and nothing at all
//! for the zero value (proto3 omits defaults).

use prost::encoding::{bytes, int64, string};

/// `StringValue{value: s}`: empty for `""`.
pub fn string_value(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if !s.is_empty() {
        string::encode(1, &s.to_owned(), &mut out);
    }
    out
}

/// `Int64Value{value: v}`: empty for 0.
pub fn int64_value(v: i64) -> Vec<u8> {
    let mut out = Vec::new();
    if v != 0 {
        int64::encode(1, &v, &mut out);
    }
    out
}

/// `BytesValue{value: b}`: empty for an empty slice.
pub fn bytes_value(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if !b.is_empty() {
        bytes::encode(1, &b.to_vec(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Leaf encodings from CometBFT's TestHeaderHash (shared/vectors/header-hash.md §1).
    #[test]
    fn wrappers_match_cometbft_leaf_bytes() {
        assert_eq!(string_value("chainId"), b"\x0a\x07chainId".to_vec());
        assert_eq!(int64_value(3), vec![0x08, 0x03]);
        assert_eq!(bytes_value(&[0xab; 2]), vec![0x0a, 0x02, 0xab, 0xab]);
        assert!(string_value("").is_empty());
        assert!(int64_value(0).is_empty());
        assert!(bytes_value(&[]).is_empty());
    }
}
