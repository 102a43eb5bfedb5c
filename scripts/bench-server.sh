#!/usr/bin/env bash
# Measures `homeport server` on this machine: requests/s and p50/p99 for sts:GetCallerIdentity
# and iam:GetUser at concurrency 1, 16 and 64 (authorization and audit on), with the in-repo
# load generator and, when installed, wrk; plus the server's RSS idle and under load.
#
#   scripts/bench-server.sh [SECONDS_PER_RUN]      (default 10; needs the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/homeport
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" server --listen 127.0.0.1:17790 --data-dir "$work/data" > "$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 50); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL=http://127.0.0.1:17790 AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE="$work/data/root-credentials"
aws iam create-user --user-name bench > /dev/null
aws iam put-user-policy --user-name bench --policy-name self --policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::*:user/${aws:username}"}]}'
aws iam create-access-key --user-name bench --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text |
  awk '{ printf "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", $1, $2 }' > "$work/bench-credentials"

rss() { awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }
hwm() { awk '/^VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }
echo "server RSS idle: $(rss)"
for call in get-caller-identity get-user; do
  for concurrency in 1 16 64; do
    "$bin" loadgen --endpoint http://127.0.0.1:17790 --credentials "$work/bench-credentials" \
      --call "$call" --concurrency "$concurrency" --duration "$seconds"
  done
done
if command -v wrk > /dev/null; then
  for call in get-caller-identity get-user; do
    "$bin" loadgen --endpoint http://127.0.0.1:17790 --credentials "$work/bench-credentials" --call "$call" --wrk-script "$work/$call.lua"
    for concurrency in 1 16 64; do
      threads=$(( concurrency < 2 ? 1 : 2 ))
      echo "wrk $call concurrency=$concurrency:"
      wrk -t"$threads" -c"$concurrency" -d"${seconds}s" --latency -s "$work/$call.lua" http://127.0.0.1:17790/ |
        grep -E 'Requests/sec|^ +50%|^ +99%|Non-2xx'
    done
  done
fi
echo "server RSS after load: $(rss) (peak $(hwm))"
