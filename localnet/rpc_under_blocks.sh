#!/bin/bash
# RPC latency while a one-validator chain makes blocks as fast as it can (timeout_commit 0s).
# usage: localnet/rpc_under_blocks.sh <keystone binary> [requests] [home]
# Prints the blocks committed while measuring, then for `status` and for `abci_query` of a
# balance with its proof (`/store/key`, prove=true): n, p50, p99, max and the HTTP codes.
set -euo pipefail
BIN=$1
N=${2:-200}
H=${3:-$(mktemp -d /tmp/rpc-under-blocks.XXXXXX)}
rm -rf "$H"
"$BIN" init node0 --chain-id fair-1 --home "$H" >/dev/null 2>&1
"$BIN" keys add alice --keyring-backend test --home "$H" >/dev/null 2>&1
"$BIN" genesis add-genesis-account alice 1000000000stake --keyring-backend test --home "$H" >/dev/null 2>&1
ALICE=$("$BIN" keys show alice -a --keyring-backend test --home "$H")
sed -i 's/^timeout_commit = .*/timeout_commit = "0s"/' "$H/config/config.toml"
"$BIN" start --home "$H" >"$H/node.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
sleep 4
QUERY="http://127.0.0.1:26657/abci_query?path=%22/store/key%22&data=%22bank/balances/$ALICE/stake%22&prove=true"
# The query must answer with a value and a proof, or its latency means nothing.
curl -s --max-time 20 "$QUERY" | grep -q '"proofOps":{"ops":\[{' || {
  echo "abci_query did not answer with a proof:"; curl -s --max-time 20 "$QUERY"; exit 1; }
T0=$(date +%s.%N)
for _ in $(seq 1 "$N"); do
  curl -s -o /dev/null --max-time 20 -w "status %{http_code} %{time_total}\n" http://127.0.0.1:26657/status || echo "status 000 20"
  curl -s -o /dev/null --max-time 20 -w "query %{http_code} %{time_total}\n" "$QUERY" || echo "query 000 20"
done >"$H/latency.txt"
T1=$(date +%s.%N)
BLOCKS=$(grep -c "committed block" "$H/node.log" || true)
echo "blocks committed: $BLOCKS in $(echo "$T1 - $T0 + 4" | bc) s"
for WHAT in status query; do
  grep "^$WHAT " "$H/latency.txt" | sort -k3 -n | awk -v what="$WHAT" '{a[NR]=$3; c[$2]++} END {
    p50=a[int((NR+1)/2)]; i=int(NR*0.99); if (i < NR*0.99) i++; if (i < 1) i=1;
    printf "%s: n=%d p50=%.4fs p99=%.4fs max=%.4fs codes:", what, NR, p50, a[i], a[NR];
    for (k in c) printf " %s x%d", k, c[k]; print ""}'
done
