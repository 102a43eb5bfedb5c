#!/usr/bin/env bash
# Measures `homeport server` on this machine: requests/s and p50/p99 for sts:GetCallerIdentity
# and iam:GetUser at concurrency 1, 16 and 64 (authorization and audit on), with the in-repo
# load generator and, when installed, wrk; plus the server's RSS idle and under load.
#
#   scripts/bench-server.sh [SECONDS_PER_RUN]      (default 10; needs the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
source scripts/lib.sh
build
start_server
bench_user

echo "server RSS idle: $(rss)"
for call in get-caller-identity get-user; do
  for concurrency in 1 16 64; do
    "$bin" loadgen --endpoint "$endpoint" --credentials "$work/credentials" \
      --call "$call" --concurrency "$concurrency" --duration "$seconds"
  done
done
if command -v wrk > /dev/null; then
  for call in get-caller-identity get-user; do
    "$bin" loadgen --endpoint "$endpoint" --credentials "$work/credentials" --call "$call" --wrk-script "$work/$call.lua"
    for concurrency in 1 16 64; do
      threads=$(( concurrency < 2 ? 1 : 2 ))
      echo "wrk $call concurrency=$concurrency:"
      wrk -t"$threads" -c"$concurrency" -d"${seconds}s" --latency -s "$work/$call.lua" "$endpoint/" |
        grep -E 'Requests/sec|^ +50%|^ +99%|Non-2xx'
    done
  done
fi
echo "server RSS after load: $(rss) (peak $(hwm))"
