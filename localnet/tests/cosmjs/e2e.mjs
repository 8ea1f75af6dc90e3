// The published cosmjs clients against a running Keystone node, unchanged: connect, read
// chain id, height, balances and blocks, then send, delegate and undelegate with `fee: "auto"`
// (simulate → sign SIGN_MODE_DIRECT → broadcast_tx_sync → poll `tx_search tx.hash='…'`) and
// check every result through the clients' own queries; then five each of send, delegate,
// undelegate, redelegate and withdraw-rewards from the same account, all with `fee: "auto"`
// and a gas price, printing gas used / gas wanted per type.
//
// Run by localnet/tests/cosmjs_e2e.rs, which starts a 4-validator localnet and passes:
//   KEYSTONE_RPC            http://127.0.0.1:<port> of node 0
//   KEYSTONE_CHAIN_ID       the chain id
//   KEYSTONE_KEY_HEX        hex of a funded account's secp256k1 secret key
//   KEYSTONE_ADDRESS        that account's cosmos1… address (checked against the key)
//   KEYSTONE_VALOPER        a validator's cosmosvaloper… address to delegate to
//   KEYSTONE_OTHER_VALOPER  a validator the account has no delegation with (redelegations go there)
//   KEYSTONE_COSMJS_DIR     (optional) the folder whose node_modules hold the cosmjs to test
//   KEYSTONE_DENOM          the staking / fee denom
// KEYSTONE_E2E_TRACE=1 prints every JSON-RPC exchange; the last ones are printed on failure
// anyway. Exit status 0 on success, 1 with a message naming the failed step otherwise.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

// The clients come from the folder KEYSTONE_COSMJS_DIR names (its node_modules): this folder
// holds the pinned cosmjs, ../cosmjs-latest the newest published one. Default: this folder.
const cosmjsDir = resolve(process.env.KEYSTONE_COSMJS_DIR || new URL(".", import.meta.url).pathname);
const load = createRequire(join(cosmjsDir, "package.json"));
const { DirectSecp256k1Wallet } = load("@cosmjs/proto-signing");
const { GasPrice, QueryClient, SigningStargateClient, StargateClient, setupStakingExtension } =
  load("@cosmjs/stargate");
const { Comet38Client, connectComet } = load("@cosmjs/tendermint-rpc");
const { fromHex, toBech32 } = load("@cosmjs/encoding");
const { Ripemd160, Secp256k1, sha256 } = load("@cosmjs/crypto");
const cosmjsVersion = JSON.parse(
  readFileSync(join(cosmjsDir, "node_modules/@cosmjs/stargate/package.json"), "utf8"),
).version;

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

// --- Recording the JSON-RPC traffic (cosmjs talks to the node through global fetch) ---------

const trace = process.env.KEYSTONE_E2E_TRACE === "1";
const exchanges = [];
const realFetch = globalThis.fetch;
const clip = (s, n = 1500) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
globalThis.fetch = async (url, init = {}) => {
  const request = typeof init.body === "string" ? init.body : "";
  const entry = { url: String(url), request, status: null, response: null };
  exchanges.push(entry);
  if (exchanges.length > 40) exchanges.shift();
  const res = await realFetch(url, init);
  const text = await res.text();
  entry.status = res.status;
  entry.response = text;
  if (trace) console.log(`  rpc> ${clip(request, 400)}\n  rpc< ${res.status} ${clip(text, 800)}`);
  return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
};

function dumpExchanges(n = 6) {
  const last = exchanges.slice(-n);
  if (last.length === 0) return;
  console.error(`\nThe last ${last.length} JSON-RPC exchanges with the node (oldest first):`);
  for (const e of last) {
    console.error(`--> POST ${e.url}\n    ${clip(e.request)}`);
    console.error(`<-- ${e.status ?? "(no answer)"}\n    ${clip(e.response ?? "")}`);
  }
}

// --- Steps and checks ---------------------------------------------------------------------

let currentStep = "start";
function step(name) {
  currentStep = name;
  console.log(`[${elapsed()}] ${name}`);
}

// A failed check is reported and the run goes on (so one run lists every mismatch); the
// script exits 1 at the end if any failed. An exception (a client call that throws) ends it.
const failures = [];

function fail(what) {
  failures.push(`[${currentStep}] ${what}`);
  console.log(`    FAILED: ${what}`);
}

function check(cond, what) {
  if (cond) console.log(`    ok: ${what}`);
  else fail(what);
}

function eq(actual, expected, what) {
  const show = (x) => (typeof x === "bigint" ? x.toString() : x);
  const [a, e] = [show(actual), show(expected)];
  if (a === e) console.log(`    ok: ${what} = ${a}`);
  else fail(`${what}: expected ${e}, got ${a}`);
}

function env(name, required = true) {
  const v = process.env[name];
  if (required && !v) {
    console.error(`FAIL: environment variable ${name} is not set (see the header of e2e.mjs)`);
    process.exit(2);
  }
  return v;
}

const rpc = env("KEYSTONE_RPC");
const chainId = env("KEYSTONE_CHAIN_ID");
const keyHex = env("KEYSTONE_KEY_HEX");
const expectAddress = env("KEYSTONE_ADDRESS", false);
const valoper = env("KEYSTONE_VALOPER");
const otherValoper = env("KEYSTONE_OTHER_VALOPER");
const denom = env("KEYSTONE_DENOM");

// The `fee` attribute of the ante handler's `tx` event (what the fee payer was charged).
function feePaid(result) {
  for (const e of result.events) {
    if (e.type !== "tx") continue;
    for (const a of e.attributes) {
      if (a.key === "fee" && a.value.endsWith(denom)) return BigInt(a.value.slice(0, -denom.length));
      if (a.key === "fee" && a.value === "") return 0n;
    }
  }
  return null;
}

// The Simulate estimate for `msg` (what fee "auto" multiplies by 1.4), to print beside the gas
// the committed tx used. cosmjs simulates with an empty fee, as baseapp clients do; Keystone's
// Simulate charges the deduction of a placeholder fee so the estimate covers paying one.
async function simulated(signer, sender, msg, memo = "") {
  return signer.simulate(sender, [msg], memo);
}

function checkGas(result, estimate, what) {
  check(
    estimate > 0 && result.gasUsed > 0n && result.gasUsed <= result.gasWanted,
    `${what}: simulated ${estimate}, used ${result.gasUsed} ≤ wanted ${result.gasWanted}`,
  );
}

// cosmjs decodes `tx_result.data` as `TxMsgData`; baseapp v0.50 fills its `msg_responses`
// with one `<Msg>Response` per message.
function checkMsgResponses(result, typeUrl, what) {
  eq(
    result.msgResponses.map((m) => m.typeUrl).join(",") || "(none: tx_result.data is empty)",
    typeUrl,
    `${what} msgResponses (TxMsgData in tx_result.data)`,
  );
}

// A fresh account nobody has used: its address from a random secp256k1 key.
async function freshAddress() {
  const kp = await Secp256k1.makeKeypair(new Uint8Array(randomBytes(32)));
  const pub = Secp256k1.compressPubkey(kp.pubkey);
  return toBech32("cosmos", new Ripemd160().update(sha256(pub)).digest());
}

async function main() {
  const wallet = await DirectSecp256k1Wallet.fromKey(fromHex(keyHex), "cosmos");
  const [{ address: sender }] = await wallet.getAccounts();
  if (expectAddress) eq(sender, expectAddress, "the key's address");
  const gasPrice = GasPrice.fromString(`0.025${denom}`);

  step(`StargateClient.connect(${rpc})`);
  const client = await StargateClient.connect(rpc);
  check(client.getCometClient() instanceof Comet38Client, "connectComet picked the CometBFT 0.38 client");

  step("SigningStargateClient.connectWithSigner");
  const signer = await SigningStargateClient.connectWithSigner(rpc, wallet, {
    gasPrice,
    // What the signAndBroadcast path waits with: poll getTx (tx_search) every 500 ms.
    broadcastPollIntervalMs: 500,
    broadcastTimeoutMs: 60_000,
  });

  step("chain id and height");
  eq(await client.getChainId(), chainId, "getChainId");
  eq(await signer.getChainId(), chainId, "signer getChainId");
  const h0 = await client.getHeight();
  check(Number.isInteger(h0) && h0 > 0, `getHeight is a positive integer (${h0})`);
  const block = await client.getBlock();
  eq(block.header.chainId, chainId, "getBlock().header.chainId");
  check(block.header.height >= h0, `getBlock() height ${block.header.height} >= ${h0}`);
  const b1 = await client.getBlock(1);
  eq(b1.header.height, 1, "getBlock(1).header.height");

  step("accounts and balances");
  const account = await client.getAccount(sender);
  const seq0 = account?.sequence;
  check(account !== null, `getAccount(${sender}) finds the funded account`);
  eq(account?.address, sender, "account address");
  const start = await client.getBalance(sender, denom);
  eq(start.denom, denom, "getBalance denom");
  check(BigInt(start.amount) > 10_000_000n, `the sender is funded (${start.amount}${denom})`);
  const all = await client.getAllBalances(sender);
  const inAll = all.find((c) => c.denom === denom);
  check(inAll !== undefined, `getAllBalances lists ${denom}: ${JSON.stringify(all)}`);
  eq(inAll?.amount, start.amount, "getAllBalances agrees with getBalance");
  const recipient = await freshAddress();
  eq(await client.getAccount(recipient), null, "getAccount of an unused address (NotFound → null)");
  eq((await client.getBalance(recipient, denom)).amount, "0", "an unused address's balance");
  eq((await client.getAllBalances(recipient)).length, 0, "an unused address's balance list length");

  step(`sendTokens 1234567${denom} → ${recipient} (fee "auto")`);
  const amount = 1_234_567n;
  const senderBefore = BigInt((await client.getBalance(sender, denom)).amount);
  const sendMsg = {
    typeUrl: "/cosmos.bank.v1beta1.MsgSend",
    value: { fromAddress: sender, toAddress: recipient, amount: [{ denom, amount: amount.toString() }] },
  };
  const sendEstimate = await simulated(signer, sender, sendMsg, "cosmjs e2e");
  const send = await signer.sendTokens(sender, recipient, [{ denom, amount: amount.toString() }], "auto", "cosmjs e2e");
  eq(send.code, 0, `send code (rawLog: ${send.rawLog})`);
  check(send.height > 0, `send committed at height ${send.height}, hash ${send.transactionHash}`);
  checkGas(send, sendEstimate, "send");
  checkMsgResponses(send, "/cosmos.bank.v1beta1.MsgSendResponse", "send");
  eq((await client.getBalance(recipient, denom)).amount, amount.toString(), "recipient balance after send");
  const sendFee = feePaid(send);
  check(sendFee !== null && sendFee > 0n, `the tx event names the fee paid (${sendFee}${denom})`);
  eq(BigInt((await client.getBalance(sender, denom)).amount), senderBefore - amount - sendFee, "sender balance after send");
  const found = await client.getTx(send.transactionHash);
  check(found !== null, "getTx finds the send");
  eq(found.height, send.height, "getTx height");
  eq(found.code, 0, "getTx code");
  const acct2 = await client.getAccount(recipient);
  check(acct2 !== null, "the recipient account exists after the send");

  const cometClient = await connectComet(rpc);
  const qc = QueryClient.withExtensions(cometClient, setupStakingExtension);
  step(`getDelegation with a validator never delegated to (${otherValoper})`);
  eq(await signer.getDelegation(sender, otherValoper), null, "getDelegation (NotFound → null)");

  step(`delegateTokens 5000000${denom} → ${valoper} (fee "auto")`);
  const stake = 5_000_000n;
  const validatorBefore = (await qc.staking.validator(valoper)).validator;
  check(validatorBefore !== undefined, `staking.validator(${valoper}) finds it (tokens ${validatorBefore?.tokens})`);
  const delegatedBefore = BigInt((await signer.getDelegation(sender, valoper))?.amount ?? "0");
  const beforeDelegate = BigInt((await client.getBalance(sender, denom)).amount);
  const delEstimate = await simulated(signer, sender, {
    typeUrl: "/cosmos.staking.v1beta1.MsgDelegate",
    value: { delegatorAddress: sender, validatorAddress: valoper, amount: { denom, amount: stake.toString() } },
  });
  const del = await signer.delegateTokens(sender, valoper, { denom, amount: stake.toString() }, "auto");
  eq(del.code, 0, `delegate code (rawLog: ${del.rawLog})`);
  check(del.height > 0, `delegate committed at height ${del.height}`);
  checkGas(del, delEstimate, "delegate");
  checkMsgResponses(del, "/cosmos.staking.v1beta1.MsgDelegateResponse", "delegate");
  const delegateFee = feePaid(del);
  check(delegateFee !== null && delegateFee > 0n, `the tx event names the fee paid (${delegateFee}${denom})`);
  if (delegatedBefore === 0n) {
    // A first delegation pays out no rewards: the balance drops by exactly stake + fee.
    eq(BigInt((await client.getBalance(sender, denom)).amount), beforeDelegate - stake - delegateFee, "sender balance after delegate");
  }
  const d1 = await signer.getDelegation(sender, valoper);
  check(d1 !== null, "getDelegation finds the delegation");
  eq(d1?.denom, denom, "delegation denom");
  eq(BigInt(d1?.amount ?? 0), delegatedBefore + stake, "getDelegation amount");
  const viaExt = await qc.staking.delegation(sender, valoper);
  eq(viaExt.delegationResponse?.balance?.amount, (delegatedBefore + stake).toString(), "staking extension delegation balance");
  eq(viaExt.delegationResponse?.delegation?.delegatorAddress, sender, "staking extension delegator");
  eq(viaExt.delegationResponse?.delegation?.validatorAddress, valoper, "staking extension validator");
  const validatorAfter = (await qc.staking.validator(valoper)).validator;
  eq(BigInt(validatorAfter?.tokens ?? -1), BigInt(validatorBefore?.tokens ?? 0) + stake, "validator tokens after delegate");
  const staked = await client.getBalanceStaked(sender);
  check(staked !== null && BigInt(staked.amount) >= stake, `getBalanceStaked ${staked?.amount}${staked?.denom}`);

  step(`undelegateTokens 2000000${denom} ← ${valoper} (fee "auto")`);
  const unstake = 2_000_000n;
  const undEstimate = await simulated(signer, sender, {
    typeUrl: "/cosmos.staking.v1beta1.MsgUndelegate",
    value: { delegatorAddress: sender, validatorAddress: valoper, amount: { denom, amount: unstake.toString() } },
  });
  const und = await signer.undelegateTokens(sender, valoper, { denom, amount: unstake.toString() }, "auto");
  eq(und.code, 0, `undelegate code (rawLog: ${und.rawLog})`);
  check(und.height > del.height, `undelegate committed at height ${und.height}`);
  checkGas(und, undEstimate, "undelegate");
  checkMsgResponses(und, "/cosmos.staking.v1beta1.MsgUndelegateResponse", "undelegate");
  const d2 = await signer.getDelegation(sender, valoper);
  check(d2 !== null, "the rest of the delegation remains");
  eq(BigInt(d2?.amount ?? 0), delegatedBefore + stake - unstake, "getDelegation amount after undelegate");
  const ub = await qc.staking.unbondingDelegation(sender, valoper);
  const entries = ub.unbond?.entries ?? [];
  check(entries.length >= 1, `staking extension unbondingDelegation has ${entries.length} entry`);
  eq(entries[entries.length - 1]?.balance, unstake.toString(), "unbonding entry balance");

  // Every transaction of an account with fee "auto" and a gas price, five of each type: the
  // Simulate estimate times cosmjs's multiplier must cover the gas the signed tx then uses
  // (which pays a fee the simulation did not carry).
  const ratios = new Map();
  let autoTxs = 0;
  async function feeAuto(type, run) {
    for (let i = 1; i <= 5; i++) {
      step(`${type} ${i}/5 (fee "auto", gas price 0.025${denom})`);
      let r;
      try {
        r = await run();
      } catch (err) {
        fail(`${type} ${i} was refused: ${err?.message ?? err}`);
        continue;
      }
      autoTxs += 1;
      eq(r.code, 0, `${type} ${i} code (rawLog: ${r.rawLog})`);
      check(r.gasUsed <= r.gasWanted, `${type} ${i}: used ${r.gasUsed} ≤ wanted ${r.gasWanted}`);
      if (!ratios.has(type)) ratios.set(type, []);
      ratios.get(type).push(Number(r.gasUsed) / Number(r.gasWanted));
    }
  }
  const coin = (n) => ({ denom, amount: n.toString() });
  await feeAuto("send", () => signer.sendTokens(sender, recipient, [coin(1000)], "auto"));
  await feeAuto("delegate", () => signer.delegateTokens(sender, valoper, coin(1_000_000), "auto"));
  await feeAuto("undelegate", () => signer.undelegateTokens(sender, valoper, coin(100_000), "auto"));
  await feeAuto("redelegate", () =>
    signer.signAndBroadcast(
      sender,
      [
        {
          typeUrl: "/cosmos.staking.v1beta1.MsgBeginRedelegate",
          value: { delegatorAddress: sender, validatorSrcAddress: valoper, validatorDstAddress: otherValoper, amount: coin(100_000) },
        },
      ],
      "auto",
    ),
  );
  await feeAuto("withdraw-rewards", () => signer.withdrawRewards(sender, valoper, "auto"));
  console.log(`gas used / gas wanted with cosmjs ${cosmjsVersion} (fee "auto", multiplier 1.4):`);
  for (const [type, rs] of ratios) {
    const fmt = (x) => x.toFixed(3);
    console.log(`    ${type.padEnd(17)} min ${fmt(Math.min(...rs))}  max ${fmt(Math.max(...rs))}  (${rs.length} txs)`);
  }

  step("sequence and height moved on");
  eq((await client.getSequence(sender)).sequence, seq0 + 3 + autoTxs, "the sender's sequence after every committed tx");
  const h1 = await client.getHeight();
  check(h1 >= und.height, `getHeight ${h1} >= ${und.height}`);

  client.disconnect();
  signer.disconnect();
  cometClient.disconnect();
  if (failures.length > 0) {
    console.error(`\nFAIL: ${failures.length} check(s) failed:\n  ${failures.join("\n  ")}`);
    return false;
  }
  console.log(`[${elapsed()}] PASS: cosmjs ${cosmjsVersion} StargateClient/SigningStargateClient against Keystone`);
  return true;
}

const watchdog = setTimeout(() => {
  console.error(`FAIL: still in step "${currentStep}" after 300 s`);
  dumpExchanges();
  process.exit(1);
}, 300_000);

main().then(
  (passed) => {
    clearTimeout(watchdog);
    process.exit(passed ? 0 : 1);
  },
  (err) => {
    clearTimeout(watchdog);
    console.error(`\nFAIL in step "${currentStep}": ${err?.stack ?? err}`);
    if (failures.length > 0) console.error(`(after ${failures.length} failed check(s):\n  ${failures.join("\n  ")})`);
    dumpExchanges();
    process.exit(1);
  },
);
