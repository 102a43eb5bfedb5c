#!/usr/bin/env bash
# What the audit trail costs: wrk at concurrency 64 against the server as built, and against a
# build with the `bench-unaudited` feature (requests answered without a record), alternating
# ROUNDS times (each variant first in every other round) for sts:GetCallerIdentity and
# iam:GetUser; prints each figure and the cost as the share of throughput lost to recording
# (median of the rounds).
#
#   scripts/bench-audit.sh [SECONDS_PER_RUN] [ROUNDS]      (default 10 s, 3 rounds; needs wrk and the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
source scripts/lib.sh

echo "building both variants..."
build --features bench-unaudited
cp "$bin" "$work/homeport-unaudited"
build
cp "$bin" "$work/homeport-audited"

# Starts VARIANT with the bench user, and writes the wrk scripts for both calls.
start() {
  server_bin="$work/homeport-$1"
  start_server
  bench_user
  for call in get-caller-identity get-user; do
    "$server_bin" loadgen --endpoint "$endpoint" --credentials "$work/credentials" --call "$call" --wrk-script "$work/$call.lua"
  done
}

rps() {
  wrk -t2 -c64 -d"${seconds}s" -s "$work/$1.lua" "$endpoint/" | awk '/Requests\/sec/ { printf "%.0f", $2 }'
}

for round in $(seq 1 "$rounds"); do
  # Which variant goes first alternates, so neither gains from its place in the round.
  order="audited unaudited"
  [ $((round % 2)) -eq 0 ] && order="unaudited audited"
  for variant in $order; do
    start "$variant"
    for call in get-caller-identity get-user; do
      figure=$(rps "$call")
      echo "$round $variant $call $figure" | tee -a "$work/figures"
    done
    stop_server
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for call in get-caller-identity get-user; do
  with=$(awk -v c="$call" '$2 == "audited" && $3 == c { print $4 }' "$work/figures" | median)
  without=$(awk -v c="$call" '$2 == "unaudited" && $3 == c { print $4 }' "$work/figures" | median)
  awk -v c="$call" -v a="$with" -v u="$without" \
    'BEGIN { printf "%s at concurrency 64: %.0f req/s audited, %.0f unaudited: recording costs %.1f%% of throughput\n", c, a, u, (1 - a / u) * 100 }'
done
