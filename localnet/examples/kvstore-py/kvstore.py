#!/usr/bin/env python3
"""A key-value store served over the ABCI 2.0 socket (CometBFT v0.38), standard library only.

    python3 kvstore.py --address tcp://127.0.0.1:26658 --home ~/.kvstore-py
    keystone start --proxy-app tcp://127.0.0.1:26658

Transactions (UTF-8 text):
    key=value                   sets `key` (split at the first `=`; the key is not empty and
                                does not start with `val:`)
    val:<base64 ed25519>!<power> a validator update (power 0 removes); it comes back in
                                FinalizeBlock's `validator_updates`

App hash: the RFC 6962 Merkle root (SHA-256, leaves hashed as 0x00 || leaf, inner nodes as
0x01 || left || right, no leaves = SHA-256 of nothing: CometBFT's "simple Merkle tree") over
    one leaf per key, in key order:        b"k" || uvarint(len(key)) || key || value
    then one leaf per validator, in key order: b"v" || pubkey (32 bytes) || power (8 bytes BE)
so it is a function of the state alone.

State: `<home>/kvstore.json`, written at InitChain and at every Commit (temporary file, fsync,
rename, fsync of the directory), so a restarted app reports the last committed height and app
hash in Info and the engine replays only the blocks after it.

Snapshots (`--snapshot-interval N`, for nodes that state-sync from this one): every N heights
the committed state document is kept in `<home>/snapshots/<height>.json`, served in chunks of
64 KiB (format 1; the snapshot's hash is SHA-256 over the document, its metadata each chunk's
SHA-256), the `--snapshot-keep` newest kept (2). A fresh app (height 0) accepts an offered snapshot of format
1, checks each chunk against the metadata (a wrong one is fetched again, its sender rejected)
and the joined document against the offered app hash before it becomes the state.

Wire format: each message is a protobuf `tendermint.abci.Request` (from the engine) or
`tendermint.abci.Response` (to it), prefixed by its length as an unsigned varint. Field
numbers are those of CometBFT v0.38's proto/tendermint/abci/types.proto.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading

APP_NAME = "kvstore-py"
APP_VERSION = 1  # ResponseInfo.app_version (the block header's version.app)
SOFTWARE_VERSION = "1.0.0"
STATE_FILE = "kvstore.json"
MAX_MESSAGE = (1 << 31) - 1  # CometBFT v0.38's limit (math.MaxInt32)
# CometBFT's MaxTotalVotingPower: int64 max / 8.
MAX_TOTAL_POWER = ((1 << 63) - 1) // 8

# Result codes (CheckTx, ExecTxResult, Query). 0 is success.
CODE_OK = 0
CODE_ENCODING = 1  # malformed transaction
CODE_UNKNOWN_VALIDATOR = 3  # removal of a key that is not a validator
CODE_BAD_VALIDATOR_UPDATE = 4  # would leave no validator, or too much total power
CODE_NOT_FOUND = 5  # query: no such key
CODE_BAD_QUERY = 6  # query: unknown path or a height that is not kept

# ---------------------------------------------------------------------------------------------
# Protobuf, by hand: just what these messages need.

# Request oneof (tendermint.abci.Request.value).
REQ_ECHO = 1
REQ_FLUSH = 2
REQ_INFO = 3
REQ_INIT_CHAIN = 5
REQ_QUERY = 6
REQ_CHECK_TX = 8
REQ_COMMIT = 11
REQ_LIST_SNAPSHOTS = 12
REQ_OFFER_SNAPSHOT = 13
REQ_LOAD_SNAPSHOT_CHUNK = 14
REQ_APPLY_SNAPSHOT_CHUNK = 15
REQ_PREPARE_PROPOSAL = 16
REQ_PROCESS_PROPOSAL = 17
REQ_EXTEND_VOTE = 18
REQ_VERIFY_VOTE_EXTENSION = 19
REQ_FINALIZE_BLOCK = 20

# Response oneof (tendermint.abci.Response.value).
RESP_EXCEPTION = 1
RESP_ECHO = 2
RESP_FLUSH = 3
RESP_INFO = 4
RESP_INIT_CHAIN = 6
RESP_QUERY = 7
RESP_CHECK_TX = 9
RESP_COMMIT = 12
RESP_LIST_SNAPSHOTS = 13
RESP_OFFER_SNAPSHOT = 14
RESP_LOAD_SNAPSHOT_CHUNK = 15
RESP_APPLY_SNAPSHOT_CHUNK = 16
RESP_PREPARE_PROPOSAL = 17
RESP_PROCESS_PROPOSAL = 18
RESP_EXTEND_VOTE = 19
RESP_VERIFY_VOTE_EXTENSION = 20
RESP_FINALIZE_BLOCK = 21

# Enum values.
OFFER_SNAPSHOT_ACCEPT = 1  # ResponseOfferSnapshot.Result
OFFER_SNAPSHOT_ABORT = 2
OFFER_SNAPSHOT_REJECT = 3
OFFER_SNAPSHOT_REJECT_FORMAT = 4
APPLY_CHUNK_ACCEPT = 1  # ResponseApplySnapshotChunk.Result
APPLY_CHUNK_ABORT = 2
APPLY_CHUNK_RETRY = 3
APPLY_CHUNK_REJECT_SNAPSHOT = 5
# Snapshots (--snapshot-interval N): format 1 is the state document (kvstore.json's JSON) cut
# into chunks of this many bytes; the snapshot's hash is SHA-256 over the document, its
# metadata each chunk's SHA-256.
SNAPSHOT_FORMAT = 1
SNAPSHOT_CHUNK = 1 << 16
PROPOSAL_ACCEPT = 1  # ResponseProcessProposal.ProposalStatus
PROPOSAL_REJECT = 2
VERIFY_ACCEPT = 1  # ResponseVerifyVoteExtension.VerifyStatus.ACCEPT


# What CometBFT v0.38 always sets in each request, checked with --strict: (field number, what
# it is, the check). Message fields CometBFT declares non-nullable are sent even when empty, so
# their presence is checked; scalars must be non-zero; hashes and addresses have their sizes.
def _present(v):
    return v is not None


def _nonzero(v):
    return isinstance(v, int) and v != 0


def _nonempty(v):
    return isinstance(v, bytes) and len(v) > 0


def _size(n):
    return lambda v: isinstance(v, bytes) and len(v) == n


REQUEST_NAMES = {
    REQ_INFO: "Info", REQ_INIT_CHAIN: "InitChain", REQ_PREPARE_PROPOSAL: "PrepareProposal",
    REQ_PROCESS_PROPOSAL: "ProcessProposal", REQ_FINALIZE_BLOCK: "FinalizeBlock",
    REQ_EXTEND_VOTE: "ExtendVote", REQ_VERIFY_VOTE_EXTENSION: "VerifyVoteExtension",
    REQ_OFFER_SNAPSHOT: "OfferSnapshot", REQ_LOAD_SNAPSHOT_CHUNK: "LoadSnapshotChunk",
    REQ_APPLY_SNAPSHOT_CHUNK: "ApplySnapshotChunk",
}

REQUIRED = {
    REQ_INFO: [(1, "version", _nonempty), (2, "block_version", _nonzero),
               (3, "p2p_version", _nonzero), (4, "abci_version", _nonempty)],
    REQ_INIT_CHAIN: [(1, "time", _present), (2, "chain_id", _nonempty),
                     (3, "consensus_params", _present), (6, "initial_height", _nonzero)],
    REQ_PREPARE_PROPOSAL: [(1, "max_tx_bytes", _nonzero), (3, "local_last_commit", _present),
                           (5, "height", _nonzero), (6, "time", _present),
                           (7, "next_validators_hash", _size(32)),
                           (8, "proposer_address", _size(20))],
    REQ_PROCESS_PROPOSAL: [(2, "proposed_last_commit", _present), (4, "hash", _size(32)),
                           (5, "height", _nonzero), (6, "time", _present),
                           (7, "next_validators_hash", _size(32)),
                           (8, "proposer_address", _size(20))],
    REQ_FINALIZE_BLOCK: [(2, "decided_last_commit", _present), (4, "hash", _size(32)),
                         (5, "height", _nonzero), (6, "time", _present),
                         (7, "next_validators_hash", _size(32)),
                         (8, "proposer_address", _size(20))],
    REQ_EXTEND_VOTE: [(1, "hash", _size(32)), (2, "height", _nonzero), (3, "time", _present),
                      (5, "proposed_last_commit", _present),
                      (7, "next_validators_hash", _size(32)),
                      (8, "proposer_address", _size(20))],
    REQ_VERIFY_VOTE_EXTENSION: [(1, "hash", _size(32)), (2, "validator_address", _size(20)),
                                (3, "height", _nonzero)],
    REQ_OFFER_SNAPSHOT: [(1, "snapshot", _present), (2, "app_hash", _nonempty)],
    REQ_LOAD_SNAPSHOT_CHUNK: [(1, "height", _nonzero)],
    REQ_APPLY_SNAPSHOT_CHUNK: [(3, "sender", _nonempty)],
}


class DecodeError(Exception):
    """Bytes that are not the protobuf expected."""


def uvarint(n):
    """Unsigned varint; a negative int64 is written as its 64-bit two's complement."""
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_uvarint(buf, pos):
    """(value, next position), or None if `buf` ends inside the varint."""
    value = 0
    for i in range(10):
        if pos + i >= len(buf):
            return None
        b = buf[pos + i]
        if i == 9 and b > 1:
            raise DecodeError("varint overflows 64 bits")
        value |= (b & 0x7F) << (7 * i)
        if b < 0x80:
            return value, pos + i + 1
    raise DecodeError("varint longer than 10 bytes")


def parse(buf):
    """A message's fields: {field number: [values]}, varints as ints, the rest as bytes."""
    fields = {}
    pos = 0
    while pos < len(buf):
        r = read_uvarint(buf, pos)
        if r is None:
            raise DecodeError("truncated field key")
        key, pos = r
        num, wire = key >> 3, key & 7
        if num == 0:
            raise DecodeError("field number 0")
        if wire == 0:
            r = read_uvarint(buf, pos)
            if r is None:
                raise DecodeError("truncated varint")
            value, pos = r
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value = bytes(buf[pos : pos + size])
            pos += size
        elif wire == 2:
            r = read_uvarint(buf, pos)
            if r is None:
                raise DecodeError("truncated length")
            size, pos = r
            value = bytes(buf[pos : pos + size])
            pos += size
        else:
            raise DecodeError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise DecodeError("field runs past the end of the message")
        fields.setdefault(num, []).append(value)
    return fields


def get_bytes(fields, num):
    values = fields.get(num)
    if not values:
        return b""
    if not isinstance(values[-1], bytes):
        raise DecodeError(f"field {num} is not length-delimited")
    return values[-1]


def get_repeated_bytes(fields, num):
    values = fields.get(num, [])
    if any(not isinstance(v, bytes) for v in values):
        raise DecodeError(f"field {num} is not length-delimited")
    return values


def get_str(fields, num):
    try:
        return get_bytes(fields, num).decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"field {num} is not UTF-8") from e


def get_int(fields, num):
    """An int64 (proto3 default 0)."""
    values = fields.get(num)
    if not values:
        return 0
    if not isinstance(values[-1], int):
        raise DecodeError(f"field {num} is not a varint")
    v = values[-1]
    return v - (1 << 64) if v >= 1 << 63 else v


def tag(num, wire):
    return uvarint(num << 3 | wire)


def f_int(num, value):
    """A varint field (int64, uint32, enum, bool); proto3 leaves out zero."""
    return tag(num, 0) + uvarint(int(value)) if value else b""


def f_bytes(num, value):
    """A bytes or string field; proto3 leaves out empty ones."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    return f_len(num, value) if value else b""


def f_len(num, body):
    """A length-delimited field written even when empty: a sub-message, a oneof member, or
    one element of a repeated bytes field."""
    return tag(num, 2) + uvarint(len(body)) + body


def frame(body):
    return uvarint(len(body)) + body


# Messages this app writes.


def event(kind, attributes):
    """tendermint.abci.Event{type=1, attributes=2}; EventAttribute{key=1, value=2, index=3}."""
    attrs = b"".join(
        f_len(2, f_bytes(1, k) + f_bytes(2, v) + f_int(3, True)) for k, v in attributes
    )
    return f_bytes(1, kind) + attrs


def exec_tx_result(code, log, events):
    """tendermint.abci.ExecTxResult{code=1, log=3, events=7}."""
    return f_int(1, code) + f_bytes(3, log) + b"".join(f_len(7, e) for e in events)


def validator_update(pubkey, power):
    """ValidatorUpdate{pub_key=1: tendermint.crypto.PublicKey{ed25519=1}, power=2}."""
    return f_len(1, f_len(1, pubkey)) + f_int(2, power)


# ---------------------------------------------------------------------------------------------
# The application.


class TxError(Exception):
    """A transaction that is not well-formed."""


POWER_RE = re.compile(r"[0-9]{1,19}")


def parse_tx(tx):
    """("set", key, value) or ("val", pubkey bytes, power); TxError if malformed."""
    try:
        text = tx.decode("utf-8")
    except UnicodeDecodeError:
        raise TxError("a transaction is UTF-8 text") from None
    if text.startswith("val:"):
        key_b64, bang, power = text[4:].partition("!")
        if not bang:
            raise TxError("a validator update is val:<base64 ed25519 key>!<power>")
        try:
            pubkey = base64.b64decode(key_b64, validate=True)
        except ValueError:
            raise TxError(f"not base64: {key_b64!r}") from None
        if len(pubkey) != 32:
            raise TxError(f"an ed25519 key is 32 bytes, got {len(pubkey)}")
        if not POWER_RE.fullmatch(power) or int(power) > MAX_TOTAL_POWER:
            raise TxError(f"power is an integer from 0 to {MAX_TOTAL_POWER}, got {power!r}")
        return ("val", pubkey, int(power))
    key, eq, value = text.partition("=")
    if not eq or not key:
        raise TxError("a transaction is key=value (or val:<base64 key>!<power>)")
    return ("set", key, value)


def b64(pubkey):
    return base64.b64encode(pubkey).decode("ascii")


def merkle_root(leaves):
    """RFC 6962 / CometBFT simple Merkle root over `leaves` (bytes)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two < len
    left = merkle_root(leaves[:split])
    right = merkle_root(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def state_hash(kv, validators):
    leaves = []
    for key in sorted(kv, key=lambda k: k.encode("utf-8")):
        k, v = key.encode("utf-8"), kv[key].encode("utf-8")
        leaves.append(b"k" + uvarint(len(k)) + k + v)
    for pubkey in sorted(base64.b64decode(k) for k in validators):
        leaves.append(b"v" + pubkey + validators[b64(pubkey)].to_bytes(8, "big"))
    return merkle_root(leaves)


class AppError(Exception):
    """A request the app cannot answer: sent back as Response.exception."""


class KVStore:
    """The state machine. Every method runs under `self.lock` (one request at a time, whichever
    of the four connections it comes on)."""

    def __init__(self, home):
        self.home = home
        self.path = os.path.join(home, STATE_FILE)
        self.lock = threading.Lock()
        # Committed state.
        self.height = 0
        self.app_hash = b""
        self.chain_id = ""
        self.initial_height = 1
        self.kv = {}  # str -> str
        self.validators = {}  # base64 ed25519 key -> power
        # FinalizeBlock's result, made current by Commit.
        self.pending = None
        # Snapshots: taken every `snapshot_interval` heights (0: never) into home/snapshots;
        # a restore in progress (OfferSnapshot accepted it) keeps its chunks here.
        self.snapshot_interval = 0
        self.snapshots_kept = 2
        self.restoring = None
        self.load()

    # Persistence.

    def load(self):
        if not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8") as f:
            s = json.load(f)
        self.height = s["height"]
        self.app_hash = bytes.fromhex(s["app_hash"])
        self.chain_id = s["chain_id"]
        self.initial_height = s["initial_height"]
        self.kv = s["kv"]
        self.validators = s["validators"]
        if state_hash(self.kv, self.validators) != self.app_hash:
            raise SystemExit(f"{self.path}: the state does not match its app hash")
        log(f"loaded height {self.height}, app hash {self.app_hash.hex()}")

    def document(self, height, app_hash, kv, validators):
        return {
            "height": height,
            "app_hash": app_hash.hex(),
            "chain_id": self.chain_id,
            "initial_height": self.initial_height,
            "kv": kv,
            "validators": validators,
        }

    def save(self, height, app_hash, kv, validators):
        """Writes a state atomically: a crash leaves either the old file or the new one."""
        write_atomically(
            self.home, self.path, json.dumps(self.document(height, app_hash, kv, validators), sort_keys=True)
        )

    # The methods, one per request type: each takes the request's fields and returns the
    # (Response field number, body).

    def echo(self, req):
        return RESP_ECHO, f_bytes(1, get_str(req, 1))

    def info(self, req):
        # ResponseInfo{data=1, version=2, app_version=3, last_block_height=4,
        # last_block_app_hash=5}
        data = json.dumps({"size": len(self.kv)})
        return RESP_INFO, (
            f_bytes(1, data)
            + f_bytes(2, SOFTWARE_VERSION)
            + f_int(3, APP_VERSION)
            + f_int(4, self.height)
            + f_bytes(5, self.app_hash)
        )

    def init_chain(self, req):
        # RequestInitChain{chain_id=2, validators=4, app_state_bytes=5, initial_height=6}
        kv = {}
        app_state = get_bytes(req, 5)
        if app_state.strip():
            try:
                doc = json.loads(app_state)
            except ValueError as e:
                raise AppError(f"app_state is not JSON: {e}") from None
            if isinstance(doc, dict):
                # Seed keys: strings as they are, other values as compact JSON.
                for k, v in doc.items():
                    if k and not k.startswith("val:"):
                        kv[k] = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        validators = {}
        for raw in get_repeated_bytes(req, 4):
            update = parse(raw)
            pubkey = parse(get_bytes(update, 1))  # tendermint.crypto.PublicKey
            ed25519 = get_bytes(pubkey, 1)
            power = get_int(update, 2)
            # This app only makes ed25519 updates; other key types are left to the engine.
            if len(ed25519) == 32 and power > 0:
                validators[b64(ed25519)] = power
        self.chain_id = get_str(req, 2)
        self.initial_height = get_int(req, 6) or 1
        app_hash = state_hash(kv, validators)
        self.save(0, app_hash, kv, validators)
        self.height, self.app_hash, self.kv, self.validators = 0, app_hash, kv, validators
        self.pending = None
        log(f"InitChain {self.chain_id}: {len(kv)} keys, {len(validators)} validators")
        # ResponseInitChain{validators=2, app_hash=3}: no validators, so the genesis ones stand.
        return RESP_INIT_CHAIN, f_bytes(3, self.app_hash)

    def query(self, req):
        # RequestQuery{data=1, path=2, height=3}; ResponseQuery{code=1, log=3, key=6,
        # value=7, height=9}
        data, path, height = get_bytes(req, 1), get_str(req, 2), get_int(req, 3)
        if path not in ("", "/store"):
            return RESP_QUERY, f_int(1, CODE_BAD_QUERY) + f_bytes(3, f"unknown path {path!r}")
        if height not in (0, self.height):
            return RESP_QUERY, f_int(1, CODE_BAD_QUERY) + f_bytes(
                3, f"only the latest height ({self.height}) is kept"
            )
        key = data.decode("utf-8", errors="replace")
        common = f_bytes(6, data) + f_int(9, self.height)
        if key in self.kv:
            return RESP_QUERY, f_bytes(3, "exists") + common + f_bytes(7, self.kv[key])
        return RESP_QUERY, f_int(1, CODE_NOT_FOUND) + f_bytes(3, "not found") + common

    def check_tx(self, req):
        # RequestCheckTx{tx=1}; ResponseCheckTx{code=1, log=3, gas_wanted=5}
        try:
            parse_tx(get_bytes(req, 1))
        except TxError as e:
            return RESP_CHECK_TX, f_int(1, CODE_ENCODING) + f_bytes(3, str(e))
        return RESP_CHECK_TX, f_int(5, 1)

    def prepare_proposal(self, req):
        # RequestPrepareProposal{max_tx_bytes=1, txs=2}; ResponsePrepareProposal{txs=1}.
        # The mempool's order, malformed ones dropped (ProcessProposal would refuse them), up to
        # max_tx_bytes in all (CometBFT's BaseApplication stops at the first that does not fit).
        max_bytes, total, out = get_int(req, 1), 0, b""
        for tx in get_repeated_bytes(req, 2):
            try:
                parse_tx(tx)
            except TxError:
                continue
            total += len(tx)
            if total > max_bytes:
                break
            out += f_len(1, tx)
        return RESP_PREPARE_PROPOSAL, out

    def process_proposal(self, req):
        # RequestProcessProposal{txs=1}; ResponseProcessProposal{status=1}
        try:
            for tx in get_repeated_bytes(req, 1):
                parse_tx(tx)
        except TxError:
            return RESP_PROCESS_PROPOSAL, f_int(1, PROPOSAL_REJECT)
        return RESP_PROCESS_PROPOSAL, f_int(1, PROPOSAL_ACCEPT)

    def finalize_block(self, req):
        # RequestFinalizeBlock{txs=1, height=5}
        height = get_int(req, 5)
        expected = self.height + 1 if self.height > 0 else self.initial_height
        if height != expected:
            raise AppError(f"FinalizeBlock for height {height}, expected {expected}")
        kv, validators, updates = dict(self.kv), dict(self.validators), {}
        results = []
        for tx in get_repeated_bytes(req, 1):
            results.append(self.deliver(tx, kv, validators, updates))
        app_hash = state_hash(kv, validators)
        self.pending = (height, app_hash, kv, validators)
        # ResponseFinalizeBlock{tx_results=2, validator_updates=3, app_hash=5}
        return RESP_FINALIZE_BLOCK, (
            b"".join(f_len(2, r) for r in results)
            + b"".join(f_len(3, validator_update(k, p)) for k, p in updates.items())
            + f_bytes(5, app_hash)
        )

    @staticmethod
    def deliver(tx, kv, validators, updates):
        """Applies one tx to the block's working state; its ExecTxResult."""
        try:
            parsed = parse_tx(tx)
        except TxError as e:
            return exec_tx_result(CODE_ENCODING, str(e), [])
        if parsed[0] == "set":
            _, key, value = parsed
            kv[key] = value
            return exec_tx_result(CODE_OK, "", [event("app", [("key", key)])])
        _, pubkey, power = parsed
        k = b64(pubkey)
        if power == 0:
            if k not in validators:
                return exec_tx_result(CODE_UNKNOWN_VALIDATOR, f"{k} is not a validator", [])
            if len(validators) == 1:
                return exec_tx_result(CODE_BAD_VALIDATOR_UPDATE, "the last validator stays", [])
            del validators[k]
        else:
            total = sum(validators.values()) - validators.get(k, 0) + power
            if total > MAX_TOTAL_POWER:
                return exec_tx_result(CODE_BAD_VALIDATOR_UPDATE, "total power too large", [])
            validators[k] = power
        # One update per key and block (CometBFT refuses duplicates): the last one wins.
        updates[pubkey] = power
        return exec_tx_result(
            CODE_OK, "", [event("validator", [("pubkey", k), ("power", str(power))])]
        )

    def commit(self, req):
        if self.pending is not None:
            self.save(*self.pending)  # on disk first: a failure leaves the state as it was
            self.height, self.app_hash, self.kv, self.validators = self.pending
            self.pending = None
            log(f"committed height {self.height}, app hash {self.app_hash.hex()}")
            if self.snapshot_interval and self.height % self.snapshot_interval == 0:
                self.take_snapshot()
        # ResponseCommit{retain_height=3}: keep every block.
        return RESP_COMMIT, b""

    # Snapshots (state sync).

    def snapshot_dir(self):
        return os.path.join(self.home, "snapshots")

    def take_snapshot(self):
        """The committed state as a snapshot: home/snapshots/<height>.json (the document) and
        <height>.meta (its description), the newest `snapshots_kept` kept."""
        d = self.snapshot_dir()
        os.makedirs(d, exist_ok=True)
        doc = json.dumps(
            self.document(self.height, self.app_hash, self.kv, self.validators), sort_keys=True
        ).encode("utf-8")
        chunks = [doc[i : i + SNAPSHOT_CHUNK] for i in range(0, len(doc), SNAPSHOT_CHUNK)]
        meta = {
            "height": self.height,
            "format": SNAPSHOT_FORMAT,
            "chunks": len(chunks),
            "hash": hashlib.sha256(doc).hexdigest(),
            "chunk_hashes": [hashlib.sha256(c).hexdigest() for c in chunks],
        }
        write_atomically(d, os.path.join(d, f"{self.height}.json"), doc.decode("utf-8"))
        write_atomically(d, os.path.join(d, f"{self.height}.meta"), json.dumps(meta))
        for old in self.snapshots()[self.snapshots_kept :]:
            for ext in (".meta", ".json"):
                os.unlink(os.path.join(d, f"{old['height']}{ext}"))
        log(f"snapshot of height {self.height}: {len(chunks)} chunks")

    def snapshots(self):
        """The snapshots kept, newest first."""
        d = self.snapshot_dir()
        if not os.path.isdir(d):
            return []
        out = []
        for name in os.listdir(d):
            if name.endswith(".meta"):
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    out.append(json.load(f))
        return sorted(out, key=lambda m: m["height"], reverse=True)

    def list_snapshots(self, req):
        # ResponseListSnapshots{snapshots=1}; Snapshot{height=1, format=2, chunks=3, hash=4,
        # metadata=5}
        body = b""
        for m in self.snapshots():
            metadata = b"".join(bytes.fromhex(h) for h in m["chunk_hashes"])
            body += f_len(
                1,
                f_int(1, m["height"])
                + f_int(2, m["format"])
                + f_int(3, m["chunks"])
                + f_bytes(4, bytes.fromhex(m["hash"]))
                + f_bytes(5, metadata),
            )
        return RESP_LIST_SNAPSHOTS, body

    def load_snapshot_chunk(self, req):
        # RequestLoadSnapshotChunk{height=1, format=2, chunk=3} -> {chunk=1}
        height, fmt, index = get_int(req, 1), get_int(req, 2), get_int(req, 3)
        path = os.path.join(self.snapshot_dir(), f"{height}.json")
        if fmt != SNAPSHOT_FORMAT or not os.path.exists(path):
            return RESP_LOAD_SNAPSHOT_CHUNK, b""
        with open(path, "rb") as f:
            f.seek(index * SNAPSHOT_CHUNK)
            chunk = f.read(SNAPSHOT_CHUNK)
        return RESP_LOAD_SNAPSHOT_CHUNK, f_bytes(1, chunk)

    def offer_snapshot(self, req):
        # RequestOfferSnapshot{snapshot=1, app_hash=2} -> {result=1}
        snap = parse(get_bytes(req, 1))
        app_hash = get_bytes(req, 2)
        height, fmt, chunks = get_int(snap, 1), get_int(snap, 2), get_int(snap, 3)
        metadata = get_bytes(snap, 5)
        if fmt != SNAPSHOT_FORMAT:
            return RESP_OFFER_SNAPSHOT, f_int(1, OFFER_SNAPSHOT_REJECT_FORMAT)
        if self.height != 0:
            # State sync is for an app with no state.
            return RESP_OFFER_SNAPSHOT, f_int(1, OFFER_SNAPSHOT_ABORT)
        if chunks <= 0 or len(metadata) != 32 * chunks or len(app_hash) != 32:
            return RESP_OFFER_SNAPSHOT, f_int(1, OFFER_SNAPSHOT_REJECT)
        self.restoring = {
            "height": height,
            "app_hash": app_hash,
            "hashes": [metadata[i : i + 32] for i in range(0, len(metadata), 32)],
            "chunks": {},
        }
        return RESP_OFFER_SNAPSHOT, f_int(1, OFFER_SNAPSHOT_ACCEPT)

    def apply_snapshot_chunk(self, req):
        # RequestApplySnapshotChunk{index=1, chunk=2, sender=3} ->
        # {result=1, refetch_chunks=2 (packed), reject_senders=3}
        r = self.restoring
        if r is None:
            return RESP_APPLY_SNAPSHOT_CHUNK, f_int(1, APPLY_CHUNK_ABORT)
        index, chunk, sender = get_int(req, 1), get_bytes(req, 2), get_str(req, 3)
        if index >= len(r["hashes"]) or hashlib.sha256(chunk).digest() != r["hashes"][index]:
            log(f"snapshot chunk {index} from {sender!r} is not the one listed")
            return RESP_APPLY_SNAPSHOT_CHUNK, (
                f_int(1, APPLY_CHUNK_RETRY)
                + f_len(2, uvarint(index))
                + (f_bytes(3, sender) if sender else b"")
            )
        r["chunks"][index] = chunk
        if len(r["chunks"]) < len(r["hashes"]):
            return RESP_APPLY_SNAPSHOT_CHUNK, f_int(1, APPLY_CHUNK_ACCEPT)
        self.restoring = None
        doc = b"".join(r["chunks"][i] for i in range(len(r["hashes"])))
        try:
            s = json.loads(doc)
            kv, validators, height = s["kv"], s["validators"], s["height"]
        except (ValueError, KeyError, TypeError):
            return RESP_APPLY_SNAPSHOT_CHUNK, f_int(1, APPLY_CHUNK_REJECT_SNAPSHOT)
        if height != r["height"] or state_hash(kv, validators) != r["app_hash"]:
            log("the restored state does not hash to the snapshot's app hash")
            return RESP_APPLY_SNAPSHOT_CHUNK, f_int(1, APPLY_CHUNK_REJECT_SNAPSHOT)
        self.chain_id = s.get("chain_id", "")
        self.initial_height = s.get("initial_height", 1)
        self.save(height, r["app_hash"], kv, validators)
        self.height, self.app_hash, self.kv, self.validators = height, r["app_hash"], kv, validators
        log(f"restored height {height} from a snapshot")
        return RESP_APPLY_SNAPSHOT_CHUNK, f_int(1, APPLY_CHUNK_ACCEPT)

    # Vote extensions: none.
    def extend_vote(self, req):
        return RESP_EXTEND_VOTE, b""

    def verify_vote_extension(self, req):
        return RESP_VERIFY_VOTE_EXTENSION, f_int(1, VERIFY_ACCEPT)

    HANDLERS = {
        REQ_ECHO: echo,
        REQ_INFO: info,
        REQ_INIT_CHAIN: init_chain,
        REQ_QUERY: query,
        REQ_CHECK_TX: check_tx,
        REQ_COMMIT: commit,
        REQ_LIST_SNAPSHOTS: list_snapshots,
        REQ_OFFER_SNAPSHOT: offer_snapshot,
        REQ_LOAD_SNAPSHOT_CHUNK: load_snapshot_chunk,
        REQ_APPLY_SNAPSHOT_CHUNK: apply_snapshot_chunk,
        REQ_PREPARE_PROPOSAL: prepare_proposal,
        REQ_PROCESS_PROPOSAL: process_proposal,
        REQ_EXTEND_VOTE: extend_vote,
        REQ_VERIFY_VOTE_EXTENSION: verify_vote_extension,
        REQ_FINALIZE_BLOCK: finalize_block,
    }

    strict = False  # --strict: refuse requests missing what CometBFT v0.38 always sets

    def check_required(self, num, req):
        for field, name, ok in REQUIRED.get(num, []):
            values = req.get(field)
            if not ok(values[-1] if values else None):
                raise AppError(
                    f"{REQUEST_NAMES.get(num, num)} lacks {name} (field {field}), which CometBFT sets"
                )

    def handle(self, body):
        """One Request's bytes -> (Response bytes, is it a Flush)."""
        try:
            fields = parse(body)
            if not fields:
                raise AppError("empty Request")
            num = max(fields)  # a oneof: there is one field
            value = fields[num][-1]
            if num == REQ_FLUSH:
                return f_len(RESP_FLUSH, b""), True
            handler = self.HANDLERS.get(num)
            if handler is None or not isinstance(value, bytes):
                raise AppError(f"unexpected Request field {num}")
            req = parse(value)
            if self.strict:
                self.check_required(num, req)
            with self.lock:
                resp_num, resp = handler(self, req)
            return f_len(resp_num, resp), False
        except (AppError, DecodeError) as e:
            log(f"exception: {e}")
            return f_len(RESP_EXCEPTION, f_bytes(1, str(e))), False
        except Exception as e:  # a bug, or the disk failing: the engine must stop
            log(f"internal error: {e!r}")
            return f_len(RESP_EXCEPTION, f_bytes(1, f"internal error: {e!r}")), False


# ---------------------------------------------------------------------------------------------
# The socket server: one thread per connection (CometBFT opens four).


class Connection(socketserver.BaseRequestHandler):
    def setup(self):
        if self.request.family in (socket.AF_INET, socket.AF_INET6):
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        app = self.server.app
        sock = self.request
        buf = bytearray()
        out = bytearray()
        while True:
            try:
                chunk = sock.recv(1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            pos = 0
            try:
                while True:
                    prefix = read_uvarint(buf, pos)
                    if prefix is None:
                        break
                    size, start = prefix
                    if size > MAX_MESSAGE:
                        raise DecodeError(f"a {size}-byte message is over the limit")
                    if start + size > len(buf):
                        break
                    resp, is_flush = app.handle(bytes(buf[start : start + size]))
                    pos = start + size
                    out += frame(resp)
                    if is_flush:
                        sock.sendall(out)
                        out.clear()
            except DecodeError as e:
                # Framing cannot be resynchronised: close the connection.
                log(f"closing a connection: {e}")
                return
            except OSError:
                return
            del buf[:pos]
            # Every request received so far is answered: send, even without a Flush.
            if out:
                try:
                    sock.sendall(out)
                except OSError:
                    return
                out.clear()


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def write_atomically(directory, path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dirfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def log(msg):
    print(f"{APP_NAME}: {msg}", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description="An ABCI 2.0 key-value store (CometBFT v0.38).")
    ap.add_argument(
        "--address",
        default="tcp://127.0.0.1:26658",
        help="tcp://HOST:PORT (port 0: any free port) or unix://PATH",
    )
    ap.add_argument("--home", default=os.path.expanduser("~/.kvstore-py"), help="state directory")
    ap.add_argument(
        "--snapshot-interval",
        type=int,
        default=0,
        help="take a state snapshot every N heights (0: never), for nodes that state-sync",
    )
    ap.add_argument(
        "--snapshot-keep",
        type=int,
        default=2,
        help="how many snapshots to keep",
    )
    ap.add_argument(
        "--strict",
        action="store_true",
        help="answer with an Exception any request that lacks a field CometBFT v0.38 always sets",
    )
    args = ap.parse_args()

    os.makedirs(args.home, exist_ok=True)
    app = KVStore(args.home)
    app.strict = args.strict
    app.snapshot_interval = max(0, args.snapshot_interval)
    app.snapshots_kept = max(1, args.snapshot_keep)
    proto, sep, rest = args.address.partition("://")
    if not sep:
        proto, rest = "tcp", args.address
    unix_path = None
    if proto == "tcp":
        host, _, port = rest.rpartition(":")
        host = host.strip("[]")
        if ":" in host:
            TCPServer.address_family = socket.AF_INET6
        server = TCPServer((host, int(port)), Connection)
        host, port = server.server_address[:2]
        where = f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"
    elif proto == "unix":
        unix_path = rest
        if os.path.exists(unix_path):
            os.unlink(unix_path)  # left by a killed run
        server = UnixServer(unix_path, Connection)
        where = f"unix://{unix_path}"
    else:
        raise SystemExit(f"--address must be tcp://HOST:PORT or unix://PATH, got {args.address}")
    server.app = app

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    # The line a supervisor (or a test) waits for.
    print(f"{APP_NAME} listening on {where}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if unix_path and os.path.exists(unix_path):
            os.unlink(unix_path)


if __name__ == "__main__":
    main()
