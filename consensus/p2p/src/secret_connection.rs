//! CometBFT's SecretConnection (`p2p/conn/secret_connection.go` in v0.38), byte for byte:
//! an X25519 exchange of ephemeral keys, a merlin transcript for the challenge, HKDF-SHA256
//! for the two ChaCha20-Poly1305 keys, 1028-byte frames, and an ed25519 signature of the
//! challenge by each side's node key, sent inside the encrypted channel.
//!
//! The two directions are independent halves ([`SecretReader`], [`SecretWriter`]) so that one
//! thread can read while another writes. They share a "broken" flag: once either half has
//! failed in a way that leaves the stream out of step, both refuse to go on.

use crate::error::{is_timeout_kind, P2pError};
use crate::wire::{read_delimited, write_delimited};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use hkdf::Hkdf;
use keystone_consensus_types::{PrivateKey, PublicKey, Signature};
use keystone_proto::tm::v0_38::crypto::public_key::Sum as PublicKeySum;
use keystone_proto::tm::v0_38::p2p::AuthSigMessage;
use merlin::Transcript;
use prost::Message as _;
use rand_core::OsRng;
use sha2::Sha256;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use x25519_dalek::{EphemeralSecret, PublicKey as EphemeralPublic};

/// The most data bytes one frame carries.
pub const DATA_MAX_SIZE: usize = 1024;
/// The little-endian data length at the start of a frame.
const DATA_LEN_SIZE: usize = 4;
/// A plaintext frame: length, then data padded with zeros.
const FRAME_SIZE: usize = DATA_LEN_SIZE + DATA_MAX_SIZE;
/// The Poly1305 tag after each frame.
const TAG_SIZE: usize = 16;
/// A frame on the wire.
pub const SEALED_FRAME_SIZE: usize = FRAME_SIZE + TAG_SIZE;

const TRANSCRIPT_LABEL: &[u8] = b"TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH";
const LABEL_LOWER_KEY: &[u8] = b"EPHEMERAL_LOWER_PUBLIC_KEY";
const LABEL_UPPER_KEY: &[u8] = b"EPHEMERAL_UPPER_PUBLIC_KEY";
const LABEL_DH_SECRET: &[u8] = b"DH_SECRET";
const LABEL_CHALLENGE: &[u8] = b"SECRET_CONNECTION_MAC";
const HKDF_INFO: &[u8] = b"TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN";

/// Go accepts up to 1 MiB for either handshake message; the real ones are 34 and 102 bytes,
/// so anything near these limits is already garbage.
const MAX_EPHEMERAL_MSG: usize = 64;
const MAX_AUTH_SIG_MSG: usize = 1024;

/// How many frames one `write` call seals and hands to the socket at once: fewer system
/// calls than a frame at a time, with a bounded buffer.
const FRAMES_PER_WRITE: usize = 64;

/// The two AEAD keys of one side.
struct SessionKeys {
    recv: [u8; 32],
    send: [u8; 32],
}

/// 96 bytes of HKDF-SHA256 (no salt) over the DH secret: two keys and, in bytes 64..96, the
/// challenge that pre-transcript versions signed (v0.38 reads it but no longer uses it).
fn hkdf_output(dh_secret: &[u8; 32]) -> [u8; 96] {
    let mut okm = [0u8; 96];
    Hkdf::<Sha256>::new(None, dh_secret)
        .expand(HKDF_INFO, &mut okm)
        .expect("96 bytes is far below HKDF-SHA256's limit of 255 * 32");
    okm
}

/// The key split of Go's `deriveSecrets`: the side whose ephemeral key sorts first receives
/// with bytes 0..32 and sends with 32..64; the other side the reverse, so each side's send
/// key is the other's receive key.
fn derive_secrets(dh_secret: &[u8; 32], loc_is_least: bool) -> SessionKeys {
    let okm = hkdf_output(dh_secret);
    let mut first = [0u8; 32];
    let mut second = [0u8; 32];
    first.copy_from_slice(&okm[..32]);
    second.copy_from_slice(&okm[32..64]);
    if loc_is_least {
        SessionKeys {
            recv: first,
            send: second,
        }
    } else {
        SessionKeys {
            recv: second,
            send: first,
        }
    }
}

/// The per-direction frame counter. The nonce is 4 zero bytes then the counter in little
/// endian; it must never repeat under one key, so running out is an error, not a wrap.
struct FrameCounter(Option<u64>);

impl FrameCounter {
    fn new() -> Self {
        FrameCounter(Some(0))
    }

    fn next_nonce(&mut self) -> Result<Nonce, P2pError> {
        let counter = self.0.ok_or(P2pError::NonceExhausted)?;
        self.0 = counter.checked_add(1);
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&counter.to_le_bytes());
        Ok(Nonce::from(nonce))
    }
}

/// The decrypting half of a secret connection. Reads return the peer's bytes in order; a
/// frame that fails authentication or declares too much data is an error, after which this
/// half and its [`SecretWriter`] refuse further use.
pub struct SecretReader<R> {
    inner: R,
    cipher: ChaCha20Poly1305,
    counter: FrameCounter,
    /// A sealed frame being received; kept across calls so a read timeout in the middle of
    /// a frame loses nothing.
    sealed: Box<[u8; SEALED_FRAME_SIZE]>,
    sealed_len: usize,
    /// The last decrypted frame and the part of its data not yet handed out.
    frame: Box<[u8; FRAME_SIZE]>,
    pos: usize,
    end: usize,
    broken: Arc<AtomicBool>,
}

impl<R> SecretReader<R> {
    fn new(inner: R, key: &[u8; 32], broken: Arc<AtomicBool>) -> Self {
        SecretReader {
            inner,
            cipher: ChaCha20Poly1305::new(key.into()),
            counter: FrameCounter::new(),
            sealed: Box::new([0u8; SEALED_FRAME_SIZE]),
            sealed_len: 0,
            frame: Box::new([0u8; FRAME_SIZE]),
            pos: 0,
            end: 0,
            broken,
        }
    }

    /// The underlying reader (e.g. to shut the socket down from another thread).
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Swaps the underlying reader for another view of the same stream (used to drop the
    /// handshake's deadline wrapper); buffered data and cipher state carry over.
    pub(crate) fn map_inner<R2>(self, f: impl FnOnce(R) -> R2) -> SecretReader<R2> {
        SecretReader {
            inner: f(self.inner),
            cipher: self.cipher,
            counter: self.counter,
            sealed: self.sealed,
            sealed_len: self.sealed_len,
            frame: self.frame,
            pos: self.pos,
            end: self.end,
            broken: self.broken,
        }
    }

    fn fail(&self, e: P2pError) -> P2pError {
        self.broken.store(true, Ordering::SeqCst);
        e
    }
}

impl<R> std::fmt::Debug for SecretReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretReader")
            .field("frames", &self.counter.0)
            .field("broken", &self.broken.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl<R: Read> SecretReader<R> {
    /// Receives and opens the next frame; `Ok(false)` on a clean end of stream between frames.
    fn next_frame(&mut self) -> Result<bool, P2pError> {
        while self.sealed_len < SEALED_FRAME_SIZE {
            match self.inner.read(&mut self.sealed[self.sealed_len..]) {
                Ok(0) if self.sealed_len == 0 => return Ok(false),
                Ok(0) => {
                    return Err(self.fail(P2pError::Io(io::ErrorKind::UnexpectedEof.into())));
                }
                Ok(n) => self.sealed_len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Nothing is lost: the partial frame stays in `sealed` for the next call.
                Err(e) if is_timeout_kind(e.kind()) => return Err(P2pError::Io(e)),
                Err(e) => return Err(self.fail(P2pError::Io(e))),
            }
        }
        self.sealed_len = 0;
        let nonce = match self.counter.next_nonce() {
            Ok(nonce) => nonce,
            Err(e) => return Err(self.fail(e)),
        };
        let (ciphertext, tag) = self.sealed.split_at(FRAME_SIZE);
        self.frame.copy_from_slice(ciphertext);
        if self
            .cipher
            .decrypt_in_place_detached(&nonce, b"", &mut self.frame[..], Tag::from_slice(tag))
            .is_err()
        {
            return Err(self.fail(P2pError::FrameAuthentication));
        }
        let mut len = [0u8; DATA_LEN_SIZE];
        len.copy_from_slice(&self.frame[..DATA_LEN_SIZE]);
        let len = u32::from_le_bytes(len);
        if len as usize > DATA_MAX_SIZE {
            return Err(self.fail(P2pError::FrameTooLarge(len)));
        }
        self.pos = DATA_LEN_SIZE;
        self.end = DATA_LEN_SIZE + len as usize;
        Ok(true)
    }
}

impl<R: Read> Read for SecretReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(P2pError::Broken.into_io());
        }
        if buf.is_empty() {
            return Ok(0);
        }
        // An empty frame is legal (no implementation sends one), and must not read as EOF.
        while self.pos == self.end {
            match self.next_frame() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) => return Err(e.into_io()),
            }
        }
        let n = buf.len().min(self.end - self.pos);
        buf[..n].copy_from_slice(&self.frame[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The encrypting half of a secret connection. Each `write` seals up to 64 KiB as 1024-byte
/// frames and writes them all; a failed write leaves the peer's counter out of step, so
/// after any error this half and its [`SecretReader`] refuse further use.
pub struct SecretWriter<W> {
    inner: W,
    cipher: ChaCha20Poly1305,
    counter: FrameCounter,
    out: Vec<u8>,
    broken: Arc<AtomicBool>,
}

impl<W> SecretWriter<W> {
    fn new(inner: W, key: &[u8; 32], broken: Arc<AtomicBool>) -> Self {
        SecretWriter {
            inner,
            cipher: ChaCha20Poly1305::new(key.into()),
            counter: FrameCounter::new(),
            out: Vec::new(),
            broken,
        }
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// See [`SecretReader::map_inner`].
    pub(crate) fn map_inner<W2>(self, f: impl FnOnce(W) -> W2) -> SecretWriter<W2> {
        SecretWriter {
            inner: f(self.inner),
            cipher: self.cipher,
            counter: self.counter,
            out: self.out,
            broken: self.broken,
        }
    }

    fn seal(&mut self, data: &[u8]) -> Result<(), P2pError> {
        self.out.clear();
        for chunk in data.chunks(DATA_MAX_SIZE) {
            let start = self.out.len();
            // A chunk holds at most 1024 bytes, so its length fits a u32.
            self.out
                .extend_from_slice(&(chunk.len() as u32).to_le_bytes());
            self.out.extend_from_slice(chunk);
            self.out.resize(start + FRAME_SIZE, 0);
            let nonce = self.counter.next_nonce()?;
            let tag = self
                .cipher
                .encrypt_in_place_detached(&nonce, b"", &mut self.out[start..])
                .expect("a 1028-byte frame is far below ChaCha20-Poly1305's length limit");
            self.out.extend_from_slice(&tag);
        }
        Ok(())
    }
}

impl<W> std::fmt::Debug for SecretWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretWriter")
            .field("frames", &self.counter.0)
            .field("broken", &self.broken.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl<W: Write> Write for SecretWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(P2pError::Broken.into_io());
        }
        // Go sends no frame for an empty write, so neither do we.
        if data.is_empty() {
            return Ok(0);
        }
        let n = data.len().min(FRAMES_PER_WRITE * DATA_MAX_SIZE);
        if let Err(e) = self.seal(&data[..n]) {
            self.broken.store(true, Ordering::SeqCst);
            return Err(e.into_io());
        }
        if let Err(e) = self.inner.write_all(&self.out) {
            self.broken.store(true, Ordering::SeqCst);
            return Err(e);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(P2pError::Broken.into_io());
        }
        self.inner.flush()
    }
}

/// Runs CometBFT v0.38's secret-connection handshake over the two halves of one stream
/// (for a `TcpStream`, `stream.try_clone()` and `stream`) and returns the encrypted halves
/// and the peer's authenticated ed25519 key: the peer's identity, whose address is its node
/// id. Nothing from the peer can make this panic; a silent peer blocks it until the
/// underlying reader times out, so set timeouts first (as [`crate::connect`] does).
pub fn handshake<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
    local: &PrivateKey,
) -> Result<(SecretReader<R>, SecretWriter<W>, PublicKey), P2pError> {
    let eph_secret = EphemeralSecret::random_from_rng(OsRng);
    let eph_public = EphemeralPublic::from(&eph_secret);
    let local_eph = *eph_public.as_bytes();

    // Go sends and receives at once; sending first is as good here because the message is
    // 35 bytes, which any socket buffers whole, so two peers both sending first never block.
    write_delimited(
        &mut writer,
        &keystone_proto::wrappers::bytes_value(&local_eph),
    )?;
    let body = read_delimited(&mut reader, MAX_EPHEMERAL_MSG, "ephemeral key message")?;
    let remote_eph = decode_bytes_value(&body).map_err(|source| P2pError::Decode {
        what: "ephemeral key message",
        source,
    })?;
    let remote_eph: [u8; 32] = remote_eph
        .as_slice()
        .try_into()
        .map_err(|_| P2pError::EphemeralKeyLength(remote_eph.len()))?;

    let dh = eph_secret.diffie_hellman(&EphemeralPublic::from(remote_eph));
    if !dh.was_contributory() {
        return Err(P2pError::LowOrderKey);
    }

    // Go's sort32 puts the local key first unless the remote one is strictly smaller.
    let loc_is_least = local_eph <= remote_eph;
    let (lower, upper) = if loc_is_least {
        (&local_eph, &remote_eph)
    } else {
        (&remote_eph, &local_eph)
    };
    let mut transcript = Transcript::new(TRANSCRIPT_LABEL);
    transcript.append_message(LABEL_LOWER_KEY, lower);
    transcript.append_message(LABEL_UPPER_KEY, upper);
    transcript.append_message(LABEL_DH_SECRET, dh.as_bytes());
    let mut challenge = [0u8; 32];
    transcript.challenge_bytes(LABEL_CHALLENGE, &mut challenge);

    let keys = derive_secrets(dh.as_bytes(), loc_is_least);
    let broken = Arc::new(AtomicBool::new(false));
    let mut reader = SecretReader::new(reader, &keys.recv, broken.clone());
    let mut writer = SecretWriter::new(writer, &keys.send, broken);

    let ours = AuthSigMessage {
        pub_key: Some(local.public_key().to_proto()),
        sig: local.sign(&challenge).0.to_vec(),
    };
    // 103 bytes in one frame: again small enough to send before receiving.
    write_delimited(&mut writer, &ours.encode_to_vec())?;
    let body = read_delimited(&mut reader, MAX_AUTH_SIG_MSG, "auth signature message")?;
    let theirs = AuthSigMessage::decode(body.as_slice()).map_err(|source| P2pError::Decode {
        what: "auth signature message",
        source,
    })?;
    let remote_key = match theirs.pub_key.and_then(|k| k.sum) {
        Some(PublicKeySum::Ed25519(bytes)) => PublicKey(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| P2pError::BadSignature)?,
        ),
        _ => return Err(P2pError::UnsupportedKey),
    };
    let sig = Signature::from_slice(&theirs.sig).map_err(|_| P2pError::BadSignature)?;
    remote_key
        .verify(&challenge, &sig)
        .map_err(|_| P2pError::BadSignature)?;
    Ok((reader, writer, remote_key))
}

/// Decodes `google.protobuf.BytesValue` (field 1, bytes), skipping unknown fields as
/// gogoproto does.
fn decode_bytes_value(mut buf: &[u8]) -> Result<Vec<u8>, prost::DecodeError> {
    use prost::encoding::{bytes, decode_key, skip_field, DecodeContext};
    let mut value = Vec::new();
    while !buf.is_empty() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        if tag == 1 {
            bytes::merge(wire_type, &mut value, &mut buf, DecodeContext::default())?;
        } else {
            skip_field(wire_type, tag, &mut buf, DecodeContext::default())?;
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const GOLDEN: &str = include_str!("../tests/data/TestDeriveSecretsAndChallengeGolden.golden");

    fn hex32(s: &str) -> [u8; 32] {
        hex::decode(s).expect("hex").try_into().expect("32 bytes")
    }

    /// Every line of CometBFT's golden file: the key split (columns 3 and 4, what Go's test
    /// checks) and the rest of the 96 HKDF bytes (column 5, the pre-transcript challenge).
    #[test]
    fn kdf_matches_cometbft_golden_vectors() {
        let mut lines = 0;
        for line in GOLDEN.lines().filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split(',').collect();
            assert_eq!(cols.len(), 5, "{line}");
            let dh = hex32(cols[0]);
            let loc_is_least = match cols[1] {
                "true" => true,
                "false" => false,
                other => panic!("bad flag {other}"),
            };
            let keys = derive_secrets(&dh, loc_is_least);
            assert_eq!(hex::encode(keys.recv), cols[2], "recv key, line {lines}");
            assert_eq!(hex::encode(keys.send), cols[3], "send key, line {lines}");
            assert_eq!(
                hex::encode(&hkdf_output(&dh)[64..]),
                cols[4],
                "line {lines}"
            );
            lines += 1;
        }
        assert_eq!(lines, 32);
    }

    #[test]
    fn the_two_sides_get_each_others_keys() {
        let dh = [7u8; 32];
        let low = derive_secrets(&dh, true);
        let high = derive_secrets(&dh, false);
        assert_eq!(low.send, high.recv);
        assert_eq!(low.recv, high.send);
        assert_ne!(low.send, low.recv);
    }

    #[test]
    fn nonce_is_four_zero_bytes_then_a_little_endian_counter() {
        let mut c = FrameCounter::new();
        assert_eq!(c.next_nonce().expect("fresh").as_slice(), &[0u8; 12]);
        let second = c.next_nonce().expect("fresh");
        assert_eq!(second.as_slice(), &[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut last = FrameCounter(Some(u64::MAX));
        assert_eq!(
            &last.next_nonce().expect("last one").as_slice()[4..],
            &[0xff; 8]
        );
        assert!(matches!(last.next_nonce(), Err(P2pError::NonceExhausted)));
    }

    /// A writer and reader sharing one key, as the two ends of a connection.
    fn pair<R>(inner: R) -> (SecretReader<R>, SecretWriter<Vec<u8>>) {
        let key = [42u8; 32];
        let reader = SecretReader::new(inner, &key, Arc::new(AtomicBool::new(false)));
        let writer = SecretWriter::new(Vec::new(), &key, Arc::new(AtomicBool::new(false)));
        (reader, writer)
    }

    #[test]
    fn frames_are_1044_bytes_and_round_trip() {
        let (_, mut w) = pair(());
        let data: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        w.write_all(&data).expect("write");
        w.write_all(&[]).expect("empty write sends nothing");
        assert_eq!(w.get_ref().len(), 3 * SEALED_FRAME_SIZE);
        let (mut r, _) = pair(Cursor::new(w.get_ref().clone()));
        let mut back = Vec::new();
        r.read_to_end(&mut back).expect("clean end");
        assert_eq!(back, data);
    }

    /// Seals `frame` (a whole 1028-byte plaintext, length field included) as a peer would.
    fn seal_raw(frame: &[u8; FRAME_SIZE], counter: u64) -> Vec<u8> {
        let cipher = ChaCha20Poly1305::new((&[42u8; 32]).into());
        let mut c = FrameCounter(Some(counter));
        let mut out = frame.to_vec();
        let tag = cipher
            .encrypt_in_place_detached(&c.next_nonce().expect("nonce"), b"", &mut out)
            .expect("seal");
        out.extend_from_slice(&tag);
        out
    }

    #[test]
    fn a_frame_declaring_more_than_1024_bytes_is_refused() {
        let mut frame = [0u8; FRAME_SIZE];
        frame[..4].copy_from_slice(&1025u32.to_le_bytes());
        let (mut r, _) = pair(Cursor::new(seal_raw(&frame, 0)));
        let err = P2pError::from(r.read(&mut [0u8; 10]).expect_err("too large"));
        assert!(matches!(err, P2pError::FrameTooLarge(1025)), "{err}");
        // The connection stays refused.
        let err = P2pError::from(r.read(&mut [0u8; 10]).expect_err("broken"));
        assert!(matches!(err, P2pError::Broken), "{err}");
    }

    #[test]
    fn a_frame_with_exactly_1024_bytes_and_an_empty_frame_are_accepted() {
        let mut full = [9u8; FRAME_SIZE];
        full[..4].copy_from_slice(&1024u32.to_le_bytes());
        let mut wire = seal_raw(&[0u8; FRAME_SIZE], 0); // length 0
        wire.extend(seal_raw(&full, 1));
        let (mut r, _) = pair(Cursor::new(wire));
        let mut back = Vec::new();
        r.read_to_end(&mut back).expect("valid");
        assert_eq!(back, vec![9u8; 1024]);
    }

    #[test]
    fn altered_replayed_or_truncated_frames_are_refused() {
        let (_, mut w) = pair(());
        w.write_all(b"hello").expect("write");
        w.write_all(b"world").expect("write");
        let wire = w.get_ref().clone();
        for i in [0, 3, 500, FRAME_SIZE, SEALED_FRAME_SIZE - 1] {
            let mut bad = wire.clone();
            bad[i] ^= 0x01;
            let (mut r, _) = pair(Cursor::new(bad));
            let err = P2pError::from(r.read(&mut [0u8; 64]).expect_err("tampered"));
            assert!(
                matches!(err, P2pError::FrameAuthentication),
                "byte {i}: {err}"
            );
        }
        // The second frame alone is sealed under counter 1, so it fails as frame 0.
        let (mut r, _) = pair(Cursor::new(wire[SEALED_FRAME_SIZE..].to_vec()));
        let err = P2pError::from(r.read(&mut [0u8; 64]).expect_err("out of order"));
        assert!(matches!(err, P2pError::FrameAuthentication), "{err}");
        let (mut r, _) = pair(Cursor::new(wire[..SEALED_FRAME_SIZE - 1].to_vec()));
        let err = P2pError::from(r.read(&mut [0u8; 64]).expect_err("truncated"));
        assert!(
            matches!(&err, P2pError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{err}"
        );
    }

    /// Hands out its bytes in pieces of `step`, with a timeout error before each piece.
    struct Stutter {
        data: Vec<u8>,
        pos: usize,
        step: usize,
        timed_out: bool,
    }

    impl Read for Stutter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.timed_out {
                self.timed_out = true;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.timed_out = false;
            let n = buf.len().min(self.step).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn a_read_timeout_mid_frame_loses_nothing() {
        let (_, mut w) = pair(());
        w.write_all(b"patience").expect("write");
        let data = w.get_ref().clone();
        let (mut r, _) = pair(Stutter {
            data,
            pos: 0,
            step: 100,
            timed_out: false,
        });
        let mut buf = [0u8; 16];
        let mut timeouts = 0;
        let n = loop {
            match r.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if is_timeout_kind(e.kind()) => timeouts += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        };
        assert_eq!(&buf[..n], b"patience");
        assert!(timeouts > 10);
    }

    #[test]
    fn bytes_value_decodes_like_gogoproto() {
        let key = [5u8; 32];
        let enc = keystone_proto::wrappers::bytes_value(&key);
        assert_eq!(&enc[..2], &[0x0a, 0x20]);
        assert_eq!(decode_bytes_value(&enc).expect("valid"), key.to_vec());
        // An unknown field before the value is skipped.
        let mut with_extra = vec![0x10, 0x01];
        with_extra.extend_from_slice(&enc);
        assert_eq!(
            decode_bytes_value(&with_extra).expect("valid"),
            key.to_vec()
        );
        assert!(decode_bytes_value(&[0x0a, 0x20, 1, 2]).is_err());
    }
}
