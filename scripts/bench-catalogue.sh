#!/usr/bin/env bash
# What shipping the AWS managed policy catalogue costs `homeport server`: start-up time (spawn
# to "listening on", fresh data directory, fastest and median of RUNS starts), idle RSS 2 s
# after a start, then the first ListPolicies Scope=AWS MaxItems=100 (it inflates the
# catalogue), its p50/p99 over 200 more, and the RSS after (with its anonymous part: the
# file-backed rest is the binary's own pages, which move with its layout).
#
#   scripts/bench-catalogue.sh [BINARY] [RUNS]   (default: a release build; 5 runs)
#
# Give an older binary to compare (its start-up and idle RSS; the ListPolicies part needs
# nothing newer).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
if [ -n "${1:-}" ]; then bin=$1; else build; fi
runs=${2:-5}
now_ms() { date +%s%3N; }
# Anonymous memory apart: the file-backed part is the binary's pages, which move with its layout.
anon() { awk '/^RssAnon/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }

starts=()
for _ in $(seq 1 "$runs"); do
  data="$work/start-data"
  rm -rf "$data"
  # Removed first: the shell truncates it only once the server's process runs.
  rm -f "$work/start.out"
  started=$(now_ms)
  "$bin" server --listen 127.0.0.1:0 --data-dir "$data" --insecure-http > "$work/start.out" 2> "$work/start.err" &
  pid=$!
  until grep -q 'listening on' "$work/start.out" 2> /dev/null; do sleep 0.002; done
  starts+=($(( $(now_ms) - started )))
  kill "$pid"
  wait "$pid" 2> /dev/null || true
done
sorted=$(printf '%s\n' "${starts[@]}" | sort -n)
echo "start-up, fresh data directory, $runs runs: fastest $(head -1 <<< "$sorted") ms, median $(sed -n "$(( (runs + 1) / 2 ))p" <<< "$sorted") ms"

start_server
sleep 2
echo "server RSS idle: $(rss) (anonymous $(anon))"
form='Action=ListPolicies&Version=2010-05-08&Scope=AWS&MaxItems=100'
"$bin" loadgen --endpoint "$endpoint" --credentials "$AWS_SHARED_CREDENTIALS_FILE" --service iam --form "$form" \
  --count 1 --concurrency 1 | sed 's/^/first ListPolicies Scope=AWS MaxItems=100 (inflates the catalogue): /'
echo "server RSS after it: $(rss) (anonymous $(anon))"
"$bin" loadgen --endpoint "$endpoint" --credentials "$AWS_SHARED_CREDENTIALS_FILE" --service iam --form "$form" \
  --count 200 --concurrency 1 | sed 's/^/ListPolicies Scope=AWS MaxItems=100 after: /'
echo "server RSS after 200 more: $(rss) (anonymous $(anon), peak $(hwm))"
