#!/usr/bin/env bash
# Compares two builds of `homeport server` on this machine: wrk at concurrency 64 against
# GetCallerIdentity and GetUser, the two servers taking turns for ROUNDS rounds (one build's
# advantage from going first, or from a noisy minute, spreads over both), with the same load
# generator. For "did this change cost throughput": build both in release first.
# With FLEET=N, N simulated container instances (AFTER's fleet-sim) long-poll each server
# while it is measured, as a fleet's agents do.
#
#   [FLEET=N] scripts/bench-compare.sh BEFORE_BINARY AFTER_BINARY [SECONDS_PER_RUN] [ROUNDS]
#                                                        (defaults 10 and 3; needs wrk and the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 BEFORE_BINARY AFTER_BINARY [SECONDS] [ROUNDS]" >&2; exit 2; }
builds=("$1" "$2")
seconds=${3:-10}
rounds=${4:-3}
source scripts/lib.sh
bin=$2 # the load generator and its wrk scripts come from one build for both
for round in $(seq 1 "$rounds"); do
  for server_bin in "${builds[@]}"; do
    start_server
    bench_user
    if [ -n "${FLEET:-}" ]; then
      aws iam create-role --role-name fleetRole --assume-role-policy-document file://examples/ssm-trust-policy.json > /dev/null
      aws iam attach-role-policy --role-name fleetRole --policy-arn arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role
      "$bin" fleet-sim --endpoint "$endpoint" --credentials "$AWS_SHARED_CREDENTIALS_FILE" --role fleetRole \
        --instances "$FLEET" --tasks 0 --hold-seconds 3600 > "$work/fleet.out" 2>&1 &
      fleet_pid=$!
      for _ in $(seq 1 600); do grep -q '^holding' "$work/fleet.out" && break; sleep 0.5; done
      grep -q '^holding' "$work/fleet.out" || { cat "$work/fleet.out" >&2; exit 1; }
    fi
    for call in get-caller-identity get-user; do
      "$bin" loadgen --endpoint "$endpoint" --credentials "$work/credentials" --call "$call" --wrk-script "$work/$call.lua"
      rps=$(wrk -t2 -c64 -d"${seconds}s" -s "$work/$call.lua" "$endpoint/" | awk '/Requests\/sec/ { print $2 }')
      echo "round $round $server_bin $call: $rps req/s"
    done
    echo "round $round $server_bin RSS after load: $(rss)"
    if [ -n "${FLEET:-}" ]; then kill "$fleet_pid"; wait "$fleet_pid" 2> /dev/null || true; fi
    stop_server
  done
done
