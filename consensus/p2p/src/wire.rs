//! Length-delimited protobuf framing as Go's `protoio` does it: an unsigned varint with the
//! body's length, then the body.

use crate::error::P2pError;
use std::io::{self, Read, Write};

/// The longest unsigned varint of a `u64`.
const MAX_VARINT_LEN: usize = 10;

/// Feeds one byte to a varint being decoded; `Ok(Some(len))` once the varint is complete.
/// Rejects what Go's `binary.ReadUvarint` rejects: an 11th byte, or a 10th byte above 1.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct VarintDecoder {
    value: u64,
    count: usize,
}

impl VarintDecoder {
    pub(crate) fn push(&mut self, byte: u8) -> Result<Option<u64>, P2pError> {
        if self.count == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(P2pError::BadLengthPrefix);
        }
        self.value |= u64::from(byte & 0x7f) << (7 * self.count);
        self.count += 1;
        if byte & 0x80 == 0 {
            let value = self.value;
            *self = VarintDecoder::default();
            return Ok(Some(value));
        }
        Ok(None)
    }

    /// Whether no byte of the current varint has been seen.
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Reads one length-delimited message body of at most `max` bytes. The length is checked
/// before anything is allocated, so a peer cannot make us reserve more than `max`.
pub(crate) fn read_delimited<R: Read>(
    reader: &mut R,
    max: usize,
    what: &'static str,
) -> Result<Vec<u8>, P2pError> {
    let mut varint = VarintDecoder::default();
    let len = loop {
        let mut byte = [0u8; 1];
        reader.read_exact(&mut byte)?;
        if let Some(len) = varint.push(byte[0])? {
            break len;
        }
    };
    if len > max as u64 {
        return Err(P2pError::TooLarge { what, len, max });
    }
    // `len <= max`, and `max` is a usize.
    let mut body = vec![0u8; len as usize];
    reader.read_exact(&mut body)?;
    Ok(body)
}

/// Appends the varint prefix and `body` to `out`.
pub(crate) fn put_delimited(out: &mut Vec<u8>, body: &[u8]) {
    prost::encoding::encode_varint(body.len() as u64, out);
    out.extend_from_slice(body);
}

/// Writes prefix and body in one `write_all`, so that a peer reading a secret connection
/// gets them in as few frames as possible (Go writes them in one call too).
pub(crate) fn write_delimited<W: Write>(writer: &mut W, body: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(body.len() + MAX_VARINT_LEN);
    put_delimited(&mut out, body);
    writer.write_all(&out)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<Option<u64>, P2pError> {
        let mut d = VarintDecoder::default();
        let mut last = None;
        for &b in bytes {
            last = d.push(b)?;
        }
        Ok(last)
    }

    #[test]
    fn varints_decode_like_go() {
        assert_eq!(decode(&[0x00]).expect("valid"), Some(0));
        assert_eq!(decode(&[0x96, 0x01]).expect("valid"), Some(150));
        let mut max = Vec::new();
        prost::encoding::encode_varint(u64::MAX, &mut max);
        assert_eq!(max.len(), 10);
        assert_eq!(decode(&max).expect("valid"), Some(u64::MAX));
        // A 10th byte of 2 overflows 64 bits; an 11th byte is never allowed.
        let mut overflow = vec![0xff; 9];
        overflow.push(0x02);
        assert!(matches!(decode(&overflow), Err(P2pError::BadLengthPrefix)));
        assert!(matches!(
            decode(&[0xff; 11]),
            Err(P2pError::BadLengthPrefix)
        ));
    }

    #[test]
    fn read_delimited_bounds_the_length_before_allocating() {
        let mut buf = Vec::new();
        put_delimited(&mut buf, &[7u8; 5]);
        let body = read_delimited(&mut buf.as_slice(), 5, "t").expect("at the limit");
        assert_eq!(body, vec![7u8; 5]);
        let err = read_delimited(&mut buf.as_slice(), 4, "t").expect_err("one over");
        assert!(matches!(err, P2pError::TooLarge { len: 5, max: 4, .. }));
        // A huge declared length with no body behind it is refused at once.
        let mut huge = Vec::new();
        prost::encoding::encode_varint(1 << 40, &mut huge);
        let err = read_delimited(&mut huge.as_slice(), 1024, "t").expect_err("huge");
        assert!(matches!(err, P2pError::TooLarge { .. }));
    }
}
