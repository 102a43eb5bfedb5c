#!/usr/bin/env bash
# What TLS costs the server: two servers of one release build side by side, one serving HTTPS
# (the default) and one plain HTTP (--insecure-http), each measured with wrk in turns:
# - keep-alive requests/s for sts:GetCallerIdentity and iam:GetUser at concurrency 64;
# - new connections/s: the same GetCallerIdentity with `Connection: close`, so every request
#   is a new TCP connection (and, on the HTTPS server, a full TLS handshake).
#
#   scripts/bench-tls.sh [SECONDS_PER_RUN] [ROUNDS]      (default 10 and 3; needs the aws CLI and wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
source scripts/lib.sh
command -v wrk > /dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
build

declare -A endpoints pids credentials
for mode in https http; do
  data_dir=$work/data-$mode
  if [ "$mode" = https ]; then tls=1; else tls=""; fi
  start_server
  bench_user
  mv "$work/credentials" "$work/credentials-$mode"
  endpoints[$mode]=$endpoint
  pids[$mode]=$server_pid
  credentials[$mode]=$work/credentials-$mode
  on_exit "kill $server_pid"
  server_pid=""
done

measure() { # MODE CALL CONCURRENCY [EXTRA WRK ARGS...]
  local mode=$1 call=$2 concurrency=$3
  shift 3
  "$bin" loadgen --endpoint "${endpoints[$mode]}" --credentials "${credentials[$mode]}" --call "$call" \
    --wrk-script "$work/$mode-$call.lua"
  wrk -t2 -c"$concurrency" -d"${seconds}s" -s "$work/$mode-$call.lua" "$@" "${endpoints[$mode]}/" |
    awk '/Requests\/sec/ { print $2 } /Non-2xx|Socket errors/ { print "  " $0 > "/dev/stderr" }'
}

for round in $(seq 1 "$rounds"); do
  for call in get-caller-identity get-user; do
    for mode in http https; do
      echo "round $round keep-alive $call $mode c64: $(measure "$mode" "$call" 64) req/s"
    done
  done
  for mode in http https; do
    echo "round $round new-connection get-caller-identity $mode c16: $(measure "$mode" get-caller-identity 16 -H 'Connection: close') conn/s"
  done
done
for mode in https http; do
  echo "server RSS ($mode): $(awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/${pids[$mode]}/status")"
done
