#!/bin/bash
# Empty blocks per second of a 4-validator localnet with timeout_commit = "0s".
# usage: localnet/idle_blocks.sh <keystone binary> [seconds] [dir]
# Writes four homes with `testnet init-files` (ports from 36656), starts the four nodes,
# waits for height 3, then prints the heights node 0 committed over the measured seconds
# and each node's CPU time.
set -euo pipefail
BIN=$1
SECS=${2:-20}
D=${3:-$(mktemp -d /tmp/idle-blocks.XXXXXX)}
rm -rf "$D"
"$BIN" testnet init-files --v 4 --output-dir "$D" --chain-id idle-1 --keyring-backend test --base-port 36656 >/dev/null
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
for i in 0 1 2 3; do
  sed -i 's/^timeout_commit = .*/timeout_commit = "0s"/' "$D/node$i/config/config.toml"
  "$BIN" start --home "$D/node$i" >"$D/node$i.log" 2>&1 &
  PIDS+=($!)
done
height() { curl -s --max-time 5 http://127.0.0.1:36657/status | sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p'; }
for _ in $(seq 1 100); do
  H=$(height || true)
  [ -n "$H" ] && [ "$H" -ge 3 ] && break
  sleep 0.2
done
H0=$(height); T0=$(date +%s.%N)
sleep "$SECS"
H1=$(height); T1=$(date +%s.%N)
echo "heights $H0 -> $H1 in $(echo "$T1 - $T0" | bc) s: $(echo "scale=1; ($H1 - $H0) / ($T1 - $T0)" | bc) blocks/s"
for i in 0 1 2 3; do
  # utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat).
  echo "node$i cpu: $(awk '{printf "%.1f s", ($14 + $15) / 100}' "/proc/${PIDS[$i]}/stat")"
done
