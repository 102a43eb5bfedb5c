#!/usr/bin/env bash
# Measures CloudWatch Logs ingestion on `homeport server` (server side): PutLogEvents events/s
# with the in-repo load generator, batches of 100 and 1,000 events of 100 bytes, at
# concurrency 1 and 16 (authorization and audit on, the embedded SQLite store).
#
#   scripts/bench-logs.sh [SECONDS_PER_RUN]      (default 10; needs the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
source scripts/lib.sh
build
start_server
aws logs create-log-group --log-group-name /bench/loadgen
aws logs create-log-stream --log-group-name /bench/loadgen --log-stream-name loadgen

for events in 100 1000; do
  for concurrency in 1 16; do
    "$bin" loadgen --endpoint "$endpoint" --credentials "$work/data/root-credentials" \
      --call put-log-events --events "$events" --concurrency "$concurrency" --duration "$seconds"
  done
done
echo "server peak RSS: $(hwm)"
