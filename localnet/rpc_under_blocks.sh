#!/bin/bash
# RPC latency while a one-validator chain makes blocks as fast as it can (timeout_commit 0s).
# usage: localnet/rpc_under_blocks.sh <keystone binary> [requests] [home]
# Prints the blocks committed while measuring and the status latency: n, p50, p99, max, codes.
set -euo pipefail
BIN=$1
N=${2:-200}
H=${3:-$(mktemp -d /tmp/rpc-under-blocks.XXXXXX)}
rm -rf "$H"
"$BIN" init node0 --chain-id fair-1 --home "$H" >/dev/null 2>&1
"$BIN" keys add alice --keyring-backend test --home "$H" >/dev/null 2>&1
"$BIN" genesis add-genesis-account alice 1000000000stake --keyring-backend test --home "$H" >/dev/null 2>&1
sed -i 's/^timeout_commit = .*/timeout_commit = "0s"/' "$H/config/config.toml"
"$BIN" start --home "$H" >"$H/node.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
sleep 4
T0=$(date +%s.%N)
for _ in $(seq 1 "$N"); do
  curl -s -o /dev/null --max-time 20 -w "%{http_code} %{time_total}\n" http://127.0.0.1:26657/status || echo "000 20"
done >"$H/latency.txt"
T1=$(date +%s.%N)
BLOCKS=$(grep -c "committed block" "$H/node.log" || true)
echo "blocks committed: $BLOCKS in $(echo "$T1 - $T0 + 4" | bc) s"
sort -k2 -n "$H/latency.txt" | awk '{a[NR]=$2; c[$1]++} END {
  p50=a[int((NR+1)/2)]; i=int(NR*0.99); if (i < NR*0.99) i++; if (i < 1) i=1;
  printf "n=%d p50=%.3fs p99=%.3fs max=%.3fs codes:", NR, p50, a[i], a[NR];
  for (k in c) printf " %s x%d", k, c[k]; print ""}'
