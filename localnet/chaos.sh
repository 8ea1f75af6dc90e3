#!/usr/bin/env bash
# Chaos on real processes: 4 validators (timeout_commit = "0s") under a steady load of bank
# sends; every few seconds a random validator is killed (SIGKILL) and restarted while
# another is frozen (SIGSTOP/SIGCONT). Then it checks that every restart came back, that all
# nodes hold the same block and app hash at every height, that nobody signed twice, and that
# every accepted transaction is in exactly one block. See localnet/examples/chaos.rs.
#   localnet/chaos.sh [minutes (default 10)] [seed (default 1)]
# KEYSTONE_CHAOS_DIR=DIR keeps the homes and logs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p keystone
KEYSTONE_CHAOS_MINUTES="${1:-10}" KEYSTONE_CHAOS_SEED="${2:-1}" \
  KEYSTONE_BIN="$PWD/target/release/keystone" \
  exec cargo run --release --locked -p keystone-localnet --example chaos
