#!/usr/bin/env node
// A counter served over the ABCI 2.0 socket (CometBFT v0.38), Node.js (>= 18) built-ins only.
//
//   node counter.mjs --address tcp://127.0.0.1:26658 --home ~/.counter-js
//   keystone start --proxy-app tcp://127.0.0.1:26658
//
// Transactions:
//   8 bytes                        the next counter value, big-endian: the first is 0, then 1, …
//                                  (CometBFT's classic counter, serial mode). CheckTx refuses
//                                  a value below the committed count (already used);
//                                  FinalizeBlock refuses any value but the count itself.
//   val:<base64 ed25519>!<power>   a validator update (power 0 removes); it comes back in
//                                  FinalizeBlock's `validator_updates`.
//
// App hash: a hash chain. InitChain's is SHA-256(app_state_bytes); block H's is
//   SHA-256(previous app hash || H as 8 bytes BE || for each tx: its length as 4 bytes BE || tx)
// over every tx of the block, applied or not.
//
// State: `<home>/counter.json`, written at InitChain and at every Commit (temporary file,
// fsync, rename, fsync of the directory), so a restarted app reports the last committed
// height and app hash in Info and the engine replays only the blocks after it.
//
// Wire format: each message is a protobuf `tendermint.abci.Request` (from the engine) or
// `tendermint.abci.Response` (to it), prefixed by its length as an unsigned varint. Field
// numbers are those of CometBFT v0.38's proto/tendermint/abci/types.proto.
//
// Node runs one callback at a time, so the four connections CometBFT opens never touch the
// state concurrently: no lock is needed.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const APP_NAME = 'counter-js';
const APP_VERSION = 1n; // ResponseInfo.app_version (the block header's version.app)
const SOFTWARE_VERSION = '1.0.0';
const STATE_FILE = 'counter.json';
const MAX_MESSAGE = 2 ** 31 - 1; // CometBFT v0.38's limit (math.MaxInt32)
const MAX_TOTAL_POWER = (2n ** 63n - 1n) / 8n; // CometBFT's MaxTotalVotingPower

// Result codes (CheckTx, ExecTxResult, Query). 0 is success.
const CODE = {
  OK: 0,
  ENCODING: 1, // malformed transaction
  BAD_NONCE: 2, // counter value out of order
  UNKNOWN_VALIDATOR: 3, // removal of a key that is not a validator
  BAD_VALIDATOR_UPDATE: 4, // would leave no validator, or too much total power
  NOT_FOUND: 5, // query: no such key
  BAD_QUERY: 6, // query: unknown path or a height that is not kept
};

// ---------------------------------------------------------------------------------------------
// Protobuf, by hand: just what these messages need.

// Request oneof (tendermint.abci.Request.value).
const REQ = {
  ECHO: 1, FLUSH: 2, INFO: 3, INIT_CHAIN: 5, QUERY: 6, CHECK_TX: 8, COMMIT: 11,
  LIST_SNAPSHOTS: 12, OFFER_SNAPSHOT: 13, LOAD_SNAPSHOT_CHUNK: 14, APPLY_SNAPSHOT_CHUNK: 15,
  PREPARE_PROPOSAL: 16, PROCESS_PROPOSAL: 17, EXTEND_VOTE: 18, VERIFY_VOTE_EXTENSION: 19,
  FINALIZE_BLOCK: 20,
};
// Response oneof (tendermint.abci.Response.value).
const RESP = {
  EXCEPTION: 1, ECHO: 2, FLUSH: 3, INFO: 4, INIT_CHAIN: 6, QUERY: 7, CHECK_TX: 9, COMMIT: 12,
  LIST_SNAPSHOTS: 13, OFFER_SNAPSHOT: 14, LOAD_SNAPSHOT_CHUNK: 15, APPLY_SNAPSHOT_CHUNK: 16,
  PREPARE_PROPOSAL: 17, PROCESS_PROPOSAL: 18, EXTEND_VOTE: 19, VERIFY_VOTE_EXTENSION: 20,
  FINALIZE_BLOCK: 21,
};
const OFFER_SNAPSHOT_REJECT = 3n; // ResponseOfferSnapshot.Result.REJECT
const APPLY_CHUNK_ABORT = 2n; // ResponseApplySnapshotChunk.Result.ABORT
const PROPOSAL_ACCEPT = 1n; // ResponseProcessProposal.ProposalStatus
const PROPOSAL_REJECT = 2n;
const VERIFY_ACCEPT = 1n; // ResponseVerifyVoteExtension.VerifyStatus.ACCEPT

class DecodeError extends Error {}
class AppError extends Error {}

const U64 = 2n ** 64n;

/** Unsigned varint of a BigInt; a negative int64 as its 64-bit two's complement. */
function uvarint(n) {
  n = BigInt.asUintN(64, BigInt(n));
  const out = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return Buffer.from(out);
}

/** [value (BigInt), next position], or null if `buf` ends inside the varint. */
function readUvarint(buf, pos) {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buf.length) return null;
    const b = buf[pos + i];
    if (i === 9 && b > 1) throw new DecodeError('varint overflows 64 bits');
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return [value, pos + i + 1];
  }
  throw new DecodeError('varint longer than 10 bytes');
}

/** A message's fields: Map(field number -> [values]), varints as BigInt, the rest as Buffer. */
function parse(buf) {
  const fields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    let r = readUvarint(buf, pos);
    if (r === null) throw new DecodeError('truncated field key');
    const key = r[0];
    pos = r[1];
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (num === 0) throw new DecodeError('field number 0');
    let value;
    if (wire === 0) {
      r = readUvarint(buf, pos);
      if (r === null) throw new DecodeError('truncated varint');
      [value, pos] = r;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      value = buf.subarray(pos, pos + size);
      pos += size;
    } else if (wire === 2) {
      r = readUvarint(buf, pos);
      if (r === null) throw new DecodeError('truncated length');
      const size = r[0];
      pos = r[1];
      if (size > BigInt(buf.length - pos)) throw new DecodeError('field runs past the end');
      value = buf.subarray(pos, pos + Number(size));
      pos += Number(size);
    } else {
      throw new DecodeError(`unsupported wire type ${wire}`);
    }
    if (pos > buf.length) throw new DecodeError('field runs past the end of the message');
    if (!fields.has(num)) fields.set(num, []);
    fields.get(num).push(value);
  }
  return fields;
}

function getBytes(fields, num) {
  const values = fields.get(num);
  if (!values) return Buffer.alloc(0);
  const v = values[values.length - 1];
  if (!Buffer.isBuffer(v)) throw new DecodeError(`field ${num} is not length-delimited`);
  return v;
}

function getRepeatedBytes(fields, num) {
  const values = fields.get(num) ?? [];
  for (const v of values) {
    if (!Buffer.isBuffer(v)) throw new DecodeError(`field ${num} is not length-delimited`);
  }
  return values;
}

const getStr = (fields, num) => getBytes(fields, num).toString('utf8');

/** An int64 as a BigInt (proto3 default 0). */
function getInt(fields, num) {
  const values = fields.get(num);
  if (!values) return 0n;
  const v = values[values.length - 1];
  if (typeof v !== 'bigint') throw new DecodeError(`field ${num} is not a varint`);
  return BigInt.asIntN(64, v);
}

const tag = (num, wire) => uvarint((BigInt(num) << 3n) | BigInt(wire));

/** A varint field (int64, uint32, enum, bool); proto3 leaves out zero. */
const fInt = (num, value) => {
  const v = BigInt(value);
  return v === 0n ? Buffer.alloc(0) : Buffer.concat([tag(num, 0), uvarint(v)]);
};

/** A bytes or string field; proto3 leaves out empty ones. */
const fBytes = (num, value) => {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return b.length === 0 ? Buffer.alloc(0) : fLen(num, b);
};

/** A length-delimited field written even when empty: a sub-message, a oneof member, or one
 * element of a repeated bytes field. */
const fLen = (num, body) => Buffer.concat([tag(num, 2), uvarint(body.length), body]);

// Messages this app writes.

/** tendermint.abci.Event{type=1, attributes=2}; EventAttribute{key=1, value=2, index=3}. */
const event = (type, attributes) =>
  Buffer.concat([
    fBytes(1, type),
    ...attributes.map(([k, v]) => fLen(2, Buffer.concat([fBytes(1, k), fBytes(2, v), fInt(3, 1)]))),
  ]);

/** tendermint.abci.ExecTxResult{code=1, log=3, events=7}. */
const execTxResult = (code, log, events = []) =>
  Buffer.concat([fInt(1, code), fBytes(3, log), ...events.map((e) => fLen(7, e))]);

/** ValidatorUpdate{pub_key=1: tendermint.crypto.PublicKey{ed25519=1}, power=2}. */
const validatorUpdate = (pubkey, power) => Buffer.concat([fLen(1, fLen(1, pubkey)), fInt(2, power)]);

// ---------------------------------------------------------------------------------------------
// The application.

class TxError extends Error {}

/** {kind: 'count', value} or {kind: 'val', pubkey, power}; throws TxError if malformed. */
function parseTx(tx) {
  if (tx.length === 8) return { kind: 'count', value: tx.readBigUInt64BE(0) };
  const text = tx.toString('latin1');
  if (!text.startsWith('val:')) {
    throw new TxError('a transaction is 8 bytes (the next count) or val:<base64 key>!<power>');
  }
  const bang = text.indexOf('!');
  if (bang < 0) throw new TxError('a validator update is val:<base64 ed25519 key>!<power>');
  const keyB64 = text.slice(4, bang);
  const power = text.slice(bang + 1);
  const pubkey = Buffer.from(keyB64, 'base64');
  // Buffer.from ignores bad characters: accept only the canonical encoding.
  if (pubkey.toString('base64') !== keyB64) throw new TxError(`not base64: ${keyB64}`);
  if (pubkey.length !== 32) {
    throw new TxError(`an ed25519 key is 32 bytes, got ${pubkey.length}`);
  }
  if (!/^[0-9]{1,19}$/.test(power) || BigInt(power) > MAX_TOTAL_POWER) {
    throw new TxError(`power is an integer from 0 to ${MAX_TOTAL_POWER}, got ${power}`);
  }
  return { kind: 'val', pubkey, power: BigInt(power) };
}

const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

function u64be(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(n)));
  return b;
}

function u32be(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The app hash of block `height` with `txs`, after `prev`. */
const chainHash = (prev, height, txs) =>
  sha256(prev, u64be(height), ...txs.flatMap((tx) => [u32be(tx.length), tx]));

class Counter {
  constructor(home) {
    this.home = home;
    this.file = path.join(home, STATE_FILE);
    // Committed state.
    this.height = 0n;
    this.appHash = Buffer.alloc(0);
    this.chainId = '';
    this.initialHeight = 1n;
    this.count = 0n;
    this.validators = new Map(); // base64 ed25519 key -> power (BigInt)
    // FinalizeBlock's result, made current by Commit.
    this.pending = null;
    this.load();
  }

  // Persistence.

  load() {
    if (!fs.existsSync(this.file)) return;
    const s = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    this.height = BigInt(s.height);
    this.appHash = Buffer.from(s.app_hash, 'hex');
    this.chainId = s.chain_id;
    this.initialHeight = BigInt(s.initial_height);
    this.count = BigInt(s.count);
    this.validators = new Map(Object.entries(s.validators).map(([k, p]) => [k, BigInt(p)]));
    log(`loaded height ${this.height}, app hash ${this.appHash.toString('hex')}`);
  }

  /** Writes a state atomically: a crash leaves either the old file or the new one. */
  save({ height, appHash, count, validators }) {
    const doc = {
      height: height.toString(),
      app_hash: appHash.toString('hex'),
      chain_id: this.chainId,
      initial_height: this.initialHeight.toString(),
      count: count.toString(),
      validators: Object.fromEntries([...validators].map(([k, p]) => [k, p.toString()])),
    };
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify(doc));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    const dir = fs.openSync(this.home, 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  }

  // The methods, one per request type: each takes the request's fields and returns
  // [Response field number, body].

  [REQ.ECHO](req) {
    return [RESP.ECHO, fBytes(1, getBytes(req, 1))];
  }

  [REQ.INFO]() {
    // ResponseInfo{data=1, version=2, app_version=3, last_block_height=4, last_block_app_hash=5}
    const data = JSON.stringify({ count: this.count.toString() });
    return [RESP.INFO, Buffer.concat([
      fBytes(1, data), fBytes(2, SOFTWARE_VERSION), fInt(3, APP_VERSION),
      fInt(4, this.height), fBytes(5, this.appHash),
    ])];
  }

  [REQ.INIT_CHAIN](req) {
    // RequestInitChain{chain_id=2, validators=4, app_state_bytes=5, initial_height=6}
    const validators = new Map();
    for (const raw of getRepeatedBytes(req, 4)) {
      const update = parse(raw);
      const ed25519 = getBytes(parse(getBytes(update, 1)), 1); // tendermint.crypto.PublicKey
      const power = getInt(update, 2);
      // This app only makes ed25519 updates; other key types are left to the engine.
      if (ed25519.length === 32 && power > 0n) validators.set(ed25519.toString('base64'), power);
    }
    this.chainId = getStr(req, 2);
    const initial = getInt(req, 6);
    this.initialHeight = initial > 0n ? initial : 1n;
    const state = { height: 0n, appHash: sha256(getBytes(req, 5)), count: 0n, validators };
    this.save(state);
    Object.assign(this, state);
    this.pending = null;
    log(`InitChain ${this.chainId}: ${validators.size} validators`);
    // ResponseInitChain{validators=2, app_hash=3}: no validators, so the genesis ones stand.
    return [RESP.INIT_CHAIN, fBytes(3, this.appHash)];
  }

  [REQ.QUERY](req) {
    // RequestQuery{data=1, path=2, height=3}; ResponseQuery{code=1, log=3, key=6, value=7,
    // height=9}. The one key is `count` (its value in decimal); path "", "/store" or "/count".
    const data = getBytes(req, 1);
    const qpath = getStr(req, 2);
    const height = getInt(req, 3);
    if (!['', '/store', '/count'].includes(qpath)) {
      return [RESP.QUERY, Buffer.concat([fInt(1, CODE.BAD_QUERY), fBytes(3, `unknown path ${qpath}`)])];
    }
    if (height !== 0n && height !== this.height) {
      return [RESP.QUERY, Buffer.concat([
        fInt(1, CODE.BAD_QUERY), fBytes(3, `only the latest height (${this.height}) is kept`),
      ])];
    }
    const common = Buffer.concat([fBytes(6, data), fInt(9, this.height)]);
    if (qpath === '/count' || data.toString('latin1') === 'count') {
      return [RESP.QUERY, Buffer.concat([fBytes(3, 'exists'), common, fBytes(7, this.count.toString())])];
    }
    return [RESP.QUERY, Buffer.concat([fInt(1, CODE.NOT_FOUND), fBytes(3, 'not found'), common])];
  }

  [REQ.CHECK_TX](req) {
    // RequestCheckTx{tx=1}; ResponseCheckTx{code=1, log=3, gas_wanted=5}
    let tx;
    try {
      tx = parseTx(getBytes(req, 1));
    } catch (e) {
      if (!(e instanceof TxError)) throw e;
      return [RESP.CHECK_TX, Buffer.concat([fInt(1, CODE.ENCODING), fBytes(3, e.message)])];
    }
    if (tx.kind === 'count' && tx.value < this.count) {
      return [RESP.CHECK_TX, Buffer.concat([
        fInt(1, CODE.BAD_NONCE),
        fBytes(3, `invalid nonce: expected >= ${this.count}, got ${tx.value}`),
      ])];
    }
    return [RESP.CHECK_TX, fInt(5, 1)];
  }

  [REQ.PREPARE_PROPOSAL](req) {
    // RequestPrepareProposal{max_tx_bytes=1, txs=2}; ResponsePrepareProposal{txs=1}.
    // The mempool's order, malformed ones dropped (ProcessProposal would refuse them), up to
    // max_tx_bytes in all (CometBFT's BaseApplication stops at the first that does not fit).
    const maxBytes = getInt(req, 1);
    let total = 0n;
    const out = [];
    for (const tx of getRepeatedBytes(req, 2)) {
      if (!wellFormed(tx)) continue;
      total += BigInt(tx.length);
      if (total > maxBytes) break;
      out.push(fLen(1, tx));
    }
    return [RESP.PREPARE_PROPOSAL, Buffer.concat(out)];
  }

  [REQ.PROCESS_PROPOSAL](req) {
    // RequestProcessProposal{txs=1}; ResponseProcessProposal{status=1}
    const ok = getRepeatedBytes(req, 1).every(wellFormed);
    return [RESP.PROCESS_PROPOSAL, fInt(1, ok ? PROPOSAL_ACCEPT : PROPOSAL_REJECT)];
  }

  [REQ.FINALIZE_BLOCK](req) {
    // RequestFinalizeBlock{txs=1, height=5}
    const height = getInt(req, 5);
    const expected = this.height > 0n ? this.height + 1n : this.initialHeight;
    if (height !== expected) {
      throw new AppError(`FinalizeBlock for height ${height}, expected ${expected}`);
    }
    const txs = getRepeatedBytes(req, 1);
    const state = { count: this.count, validators: new Map(this.validators) };
    const updates = new Map(); // base64 key -> [pubkey, power]: the last one per key wins
    const results = txs.map((tx) => deliver(tx, state, updates));
    const appHash = chainHash(this.appHash, height, txs);
    this.pending = { height, appHash, count: state.count, validators: state.validators };
    // ResponseFinalizeBlock{tx_results=2, validator_updates=3, app_hash=5}
    return [RESP.FINALIZE_BLOCK, Buffer.concat([
      ...results.map((r) => fLen(2, r)),
      ...[...updates.values()].map(([k, p]) => fLen(3, validatorUpdate(k, p))),
      fBytes(5, appHash),
    ])];
  }

  [REQ.COMMIT]() {
    if (this.pending) {
      this.save(this.pending); // on disk first: a failure leaves the state as it was
      Object.assign(this, this.pending);
      this.pending = null;
      log(`committed height ${this.height}, app hash ${this.appHash.toString('hex')}`);
    }
    // ResponseCommit{retain_height=3}: keep every block.
    return [RESP.COMMIT, Buffer.alloc(0)];
  }

  // Snapshots: none offered, none taken.
  [REQ.LIST_SNAPSHOTS]() { return [RESP.LIST_SNAPSHOTS, Buffer.alloc(0)]; }
  [REQ.OFFER_SNAPSHOT]() { return [RESP.OFFER_SNAPSHOT, fInt(1, OFFER_SNAPSHOT_REJECT)]; }
  [REQ.LOAD_SNAPSHOT_CHUNK]() { return [RESP.LOAD_SNAPSHOT_CHUNK, Buffer.alloc(0)]; }
  [REQ.APPLY_SNAPSHOT_CHUNK]() { return [RESP.APPLY_SNAPSHOT_CHUNK, fInt(1, APPLY_CHUNK_ABORT)]; }

  // Vote extensions: none.
  [REQ.EXTEND_VOTE]() { return [RESP.EXTEND_VOTE, Buffer.alloc(0)]; }
  [REQ.VERIFY_VOTE_EXTENSION]() { return [RESP.VERIFY_VOTE_EXTENSION, fInt(1, VERIFY_ACCEPT)]; }

  /** One Request's bytes -> [Response bytes, is it a Flush]. */
  handle(body) {
    try {
      const fields = parse(body);
      if (fields.size === 0) throw new AppError('empty Request');
      const num = Math.max(...fields.keys()); // a oneof: there is one field
      const values = fields.get(num);
      const value = values[values.length - 1];
      if (num === REQ.FLUSH) return [fLen(RESP.FLUSH, Buffer.alloc(0)), true];
      const known = Object.values(REQ).includes(num);
      if (!known || !Buffer.isBuffer(value)) throw new AppError(`unexpected Request field ${num}`);
      const [respNum, resp] = this[num](parse(value));
      return [fLen(respNum, resp), false];
    } catch (e) {
      // A malformed or unexpected request, or a bug, or the disk failing: the engine must stop.
      const msg = e instanceof AppError || e instanceof DecodeError ? e.message : `internal error: ${e}`;
      log(`exception: ${msg}`);
      return [fLen(RESP.EXCEPTION, fBytes(1, msg)), false];
    }
  }
}

function wellFormed(tx) {
  try {
    parseTx(tx);
    return true;
  } catch (e) {
    if (e instanceof TxError) return false;
    throw e;
  }
}

/** Applies one tx to the block's working state; its ExecTxResult. */
function deliver(rawTx, state, updates) {
  let tx;
  try {
    tx = parseTx(rawTx);
  } catch (e) {
    if (!(e instanceof TxError)) throw e;
    return execTxResult(CODE.ENCODING, e.message);
  }
  if (tx.kind === 'count') {
    if (tx.value !== state.count) {
      return execTxResult(CODE.BAD_NONCE, `invalid nonce: expected ${state.count}, got ${tx.value}`);
    }
    state.count += 1n;
    return execTxResult(CODE.OK, '', [event('counter', [['value', tx.value.toString()]])]);
  }
  const key = tx.pubkey.toString('base64');
  const vals = state.validators;
  if (tx.power === 0n) {
    if (!vals.has(key)) return execTxResult(CODE.UNKNOWN_VALIDATOR, `${key} is not a validator`);
    if (vals.size === 1) return execTxResult(CODE.BAD_VALIDATOR_UPDATE, 'the last validator stays');
    vals.delete(key);
  } else {
    let total = tx.power - (vals.get(key) ?? 0n);
    for (const p of vals.values()) total += p;
    if (total > MAX_TOTAL_POWER) return execTxResult(CODE.BAD_VALIDATOR_UPDATE, 'total power too large');
    vals.set(key, tx.power);
  }
  updates.set(key, [tx.pubkey, tx.power]);
  return execTxResult(CODE.OK, '', [
    event('validator', [['pubkey', key], ['power', tx.power.toString()]]),
  ]);
}

// ---------------------------------------------------------------------------------------------
// The socket server.

function serveConnection(app, socket) {
  socket.setNoDelay?.(true);
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const out = [];
    let pos = 0;
    try {
      for (;;) {
        const prefix = readUvarint(buf, pos);
        if (prefix === null) break;
        const [size, start] = prefix;
        if (size > BigInt(MAX_MESSAGE)) throw new DecodeError(`a ${size}-byte message is over the limit`);
        const end = start + Number(size);
        if (end > buf.length) break;
        const [resp, isFlush] = app.handle(buf.subarray(start, end));
        pos = end;
        out.push(uvarint(resp.length), resp);
        if (isFlush) {
          socket.write(Buffer.concat(out.splice(0)));
        }
      }
    } catch (e) {
      // Framing cannot be resynchronised: close the connection.
      log(`closing a connection: ${e.message}`);
      socket.destroy();
      return;
    }
    buf = buf.subarray(pos);
    // Every request received so far is answered: send, even without a Flush.
    if (out.length) socket.write(Buffer.concat(out));
  });
  socket.on('error', () => socket.destroy());
}

function log(msg) {
  process.stderr.write(`${APP_NAME}: ${msg}\n`);
}

function parseArgs(argv) {
  const args = { address: 'tcp://127.0.0.1:26658', home: path.join(os.homedir(), '.counter-js') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = inline ?? argv[++i];
    if (flag === '--address') args.address = value;
    else if (flag === '--home') args.home = value;
    else {
      process.stderr.write(`usage: node counter.mjs [--address tcp://HOST:PORT|unix://PATH] [--home DIR]\n`);
      process.exit(2);
    }
  }
  return args;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(args.home, { recursive: true });
  const app = new Counter(args.home);
  const server = net.createServer((socket) => serveConnection(app, socket));
  let [proto, rest] = args.address.includes('://') ? args.address.split('://', 2) : ['tcp', args.address];
  let unixPath = null;
  const ready = () => {
    const a = server.address();
    const where = unixPath ? `unix://${unixPath}` : `tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    // The line a supervisor (or a test) waits for.
    process.stdout.write(`${APP_NAME} listening on ${where}\n`);
  };
  if (proto === 'tcp') {
    const colon = rest.lastIndexOf(':');
    const host = rest.slice(0, colon).replace(/^\[|\]$/g, '');
    server.listen({ host, port: Number(rest.slice(colon + 1)) }, ready);
  } else if (proto === 'unix') {
    unixPath = rest;
    if (fs.existsSync(unixPath)) fs.unlinkSync(unixPath); // left by a killed run
    server.listen(unixPath, ready);
  } else {
    process.stderr.write(`--address must be tcp://HOST:PORT or unix://PATH, got ${args.address}\n`);
    process.exit(2);
  }
  server.on('error', (e) => {
    log(`cannot listen on ${args.address}: ${e.message}`);
    process.exit(1);
  });
  const stop = () => {
    server.close();
    if (unixPath && fs.existsSync(unixPath)) fs.unlinkSync(unixPath);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
