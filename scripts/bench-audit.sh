#!/usr/bin/env bash
# What the audit trail costs: wrk at concurrency 64 against two servers of one build (made with
# the `bench-audit-switch` feature), one recording as shipped builds do and one started with
# HOMEPORT_BENCH_UNAUDITED (answering without a record). One binary for both keeps code layout
# out of the comparison; both servers run throughout and the runs alternate between them (each
# first in every other round), so neither gains from warm-up or from the machine's drift.
# For sts:GetCallerIdentity and iam:GetUser, prints each run (req/s, and the server's CPU time
# per request) and the cost as the share of throughput lost to recording (medians).
#
#   scripts/bench-audit.sh [SECONDS_PER_RUN] [ROUNDS]      (default 5 s, 8 rounds; needs wrk and the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
rounds=${2:-8}
source scripts/lib.sh

echo "building with the bench-audit-switch feature..."
build --features bench-audit-switch

declare -A endpoints pids
for variant in audited unaudited; do
  if [ "$variant" = unaudited ]; then export HOMEPORT_BENCH_UNAUDITED=1; fi
  data_dir=$work/data-$variant
  start_server
  unset HOMEPORT_BENCH_UNAUDITED
  bench_user
  for call in get-caller-identity get-user; do
    "$bin" loadgen --endpoint "$endpoint" --credentials "$work/credentials" --call "$call" \
      --wrk-script "$work/$variant-$call.lua"
  done
  endpoints[$variant]=$endpoint
  pids[$variant]=$server_pid
  on_exit "kill $server_pid"
  server_pid=""
done

# The server's CPU time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)

# One wrk run: "REQ_PER_S MICROSECONDS_OF_SERVER_CPU_PER_REQUEST".
run() {
  local variant=$1 call=$2 duration=$3 before after output
  before=$(cpu "${pids[$variant]}")
  output=$(wrk -t2 -c64 -d"$duration" -s "$work/$variant-$call.lua" "${endpoints[$variant]}/")
  after=$(cpu "${pids[$variant]}")
  echo "$output" | awk -v cpu=$((after - before)) -v ticks="$ticks" '
    /requests in/ { requests = $1 }
    /Requests\/sec/ { rps = $2 }
    END { printf "%.0f %.2f\n", rps, cpu / ticks * 1e6 / requests }'
}

for call in get-caller-identity get-user; do
  for variant in audited unaudited; do run "$variant" "$call" 2s > /dev/null; done
  for round in $(seq 1 "$rounds"); do
    order="audited unaudited"
    [ $((round % 2)) -eq 0 ] && order="unaudited audited"
    for variant in $order; do
      echo "$call $round $variant $(run "$variant" "$call" "${seconds}s")" | tee -a "$work/figures"
    done
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for call in get-caller-identity get-user; do
  figure() { awk -v c="$call" -v v="$1" -v f="$2" '$1 == c && $3 == v { print $f }' "$work/figures" | median; }
  awk -v c="$call" -v a="$(figure audited 4)" -v u="$(figure unaudited 4)" \
    -v ac="$(figure audited 5)" -v uc="$(figure unaudited 5)" \
    'BEGIN { printf "%s at concurrency 64: %.0f req/s recording, %.0f not (server CPU %.2f vs %.2f us per request): recording costs %.1f%% of throughput\n", c, a, u, ac, uc, (1 - a / u) * 100 }'
done
