#!/usr/bin/env bash
# Build keystone and keystone-localnet (release), then start a localnet:
#   localnet/run.sh [--v 4] [--dir ./localnet-data] [--base-port 26656] [--chain-id localnet-1]
# Stop it with: target/release/keystone-localnet stop [--dir ./localnet-data]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p keystone -p keystone-localnet
exec target/release/keystone-localnet start "$@"
