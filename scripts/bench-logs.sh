#!/usr/bin/env bash
# Measures CloudWatch Logs ingestion on `homeport server` (server side): PutLogEvents events/s
# with the in-repo load generator, batches of 100 and 1,000 events of 100 bytes, at
# concurrency 1 and 16 (authorization and audit on, the embedded SQLite store).
#
#   scripts/bench-logs.sh [SECONDS_PER_RUN]      (default 10; needs the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/homeport
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" server --listen 127.0.0.1:0 --data-dir "$work/data" > "$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 50); do grep -q http:// "$work/server.out" 2>/dev/null && break; sleep 0.1; done
endpoint=$(head -1 "$work/server.out" | grep -o 'http://[0-9.:]*')
export AWS_ENDPOINT_URL=$endpoint AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE="$work/data/root-credentials"
aws logs create-log-group --log-group-name /bench/loadgen
aws logs create-log-stream --log-group-name /bench/loadgen --log-stream-name loadgen

for events in 100 1000; do
  for concurrency in 1 16; do
    "$bin" loadgen --endpoint "$endpoint" --credentials "$work/data/root-credentials" \
      --call put-log-events --events "$events" --concurrency "$concurrency" --duration "$seconds"
  done
done
awk '/^VmHWM/ { printf "server peak RSS: %.1f MiB\n", $2 / 1024 }' "/proc/$server_pid/status"
