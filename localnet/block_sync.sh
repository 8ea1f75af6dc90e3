#!/bin/bash
# Block sync rate: a fresh full node catching up with a validator N empty heights ahead.
# usage: localnet/block_sync.sh <keystone binary> [heights] [dir]
# A one-validator chain (timeout_commit 0s) runs to N and halts; it restarts with a long
# timeout_commit to serve its blocks, and a fresh full node (same genesis, the validator as its
# persistent peer) syncs from genesis. Prints the full node's height every second and the
# blocks/s from its first synced block to N.
set -euo pipefail
BIN=$1
N=${2:-10000}
D=${3:-$(mktemp -d /tmp/block-sync.XXXXXX)}
rm -rf "$D"
"$BIN" testnet init-files --v 1 --output-dir "$D" --chain-id sync-1 --keyring-backend test --base-port 36756 >/dev/null
V="$D/node0"
sed -i 's/^timeout_commit = .*/timeout_commit = "0s"/' "$V/config/config.toml"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
T0=$(date +%s.%N)
"$BIN" start --home "$V" --halt-height "$N" >"$D/validator-make.log" 2>&1 || true
echo "validator made $N heights in $(echo "$(date +%s.%N) - $T0" | bc) s"
sed -i 's/^timeout_commit = .*/timeout_commit = "30s"/' "$V/config/config.toml"
"$BIN" start --home "$V" >"$D/validator.log" 2>&1 &
PIDS+=($!)
F="$D/full"
"$BIN" init full --chain-id sync-1 --home "$F" >/dev/null 2>&1
cp "$V/config/genesis.json" "$F/config/genesis.json"
ID=$("$BIN" tendermint show-node-id --home "$V")
sed -i "s|^laddr = \"tcp://127.0.0.1:26656\"|laddr = \"tcp://127.0.0.1:36766\"|; s|^laddr = \"tcp://127.0.0.1:26657\"|laddr = \"tcp://127.0.0.1:36767\"|; s|^persistent_peers = .*|persistent_peers = \"$ID@127.0.0.1:36756\"|; s|^address = \"tcp://127.0.0.1:1317\"|address = \"tcp://127.0.0.1:36768\"|" "$F/config/config.toml"
sed -i "s|^address = \"tcp://127.0.0.1:1317\"|address = \"tcp://127.0.0.1:36768\"|" "$F/config/app.toml" 2>/dev/null || true
sleep 1
"$BIN" start --home "$F" >"$D/full.log" 2>&1 &
PIDS+=($!)
height() { curl -s --max-time 5 http://127.0.0.1:36767/status | sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p'; }
FIRST=""; TF=""
for s in $(seq 1 600); do
  sleep 1
  H=$(height || true)
  [ -z "$H" ] && continue
  if [ -z "$FIRST" ] && [ "$H" -gt 0 ]; then FIRST=$H; TF=$(date +%s.%N); fi
  echo "t=${s}s full node height $H"
  if [ "$H" -ge "$N" ]; then break; fi
done
T1=$(date +%s.%N)
echo "synced heights $FIRST..$H in $(echo "$T1 - $TF" | bc) s: $(echo "scale=1; ($H - $FIRST) / ($T1 - $TF)" | bc) blocks/s"
echo "full node cpu: $(awk '{printf "%.1f s", ($14 + $15) / 100}' "/proc/${PIDS[1]}/stat"), validator cpu: $(awk '{printf "%.1f s", ($14 + $15) / 100}' "/proc/${PIDS[0]}/stat")"
