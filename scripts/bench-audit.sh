#!/usr/bin/env bash
# What the audit trail costs: wrk at concurrency 64 against the server as built, and against a
# build with the `bench-unaudited` feature (requests answered without a record), alternating
# ROUNDS times for sts:GetCallerIdentity and iam:GetUser; prints each figure and the cost as
# the share of throughput lost to recording (median of the rounds).
#
#   scripts/bench-audit.sh [SECONDS_PER_RUN] [ROUNDS]      (default 10 s, 3 rounds; needs wrk and the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
server_pid=
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "building both variants..."
cargo build --release --quiet -p homeport --features bench-unaudited
cp "$target/release/homeport" "$work/homeport-unaudited"
cargo build --release --quiet -p homeport
cp "$target/release/homeport" "$work/homeport-audited"

# Starts VARIANT on a fresh data directory with a user allowed iam:GetUser on itself, and
# writes the wrk scripts for both calls.
start() {
  local variant=$1
  rm -rf "$work/data"
  "$work/homeport-$variant" server --listen 127.0.0.1:17794 --data-dir "$work/data" > "$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 50); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
  export AWS_ENDPOINT_URL=http://127.0.0.1:17794 AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null
  export AWS_SHARED_CREDENTIALS_FILE="$work/data/root-credentials"
  aws iam create-user --user-name bench > /dev/null
  aws iam put-user-policy --user-name bench --policy-name self --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::*:user/${aws:username}"}]}'
  aws iam create-access-key --user-name bench --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text |
    awk '{ printf "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", $1, $2 }' > "$work/credentials"
  for call in get-caller-identity get-user; do
    "$work/homeport-$variant" loadgen --endpoint http://127.0.0.1:17794 --credentials "$work/credentials" \
      --call "$call" --wrk-script "$work/$call.lua"
  done
}

stop() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
}

rps() {
  wrk -t2 -c64 -d"${seconds}s" -s "$work/$1.lua" http://127.0.0.1:17794/ | awk '/Requests\/sec/ { printf "%.0f", $2 }'
}

for round in $(seq 1 "$rounds"); do
  for variant in audited unaudited; do
    start "$variant"
    for call in get-caller-identity get-user; do
      figure=$(rps "$call")
      echo "$round $variant $call $figure" | tee -a "$work/figures"
    done
    stop
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for call in get-caller-identity get-user; do
  with=$(awk -v c="$call" '$2 == "audited" && $3 == c { print $4 }' "$work/figures" | median)
  without=$(awk -v c="$call" '$2 == "unaudited" && $3 == c { print $4 }' "$work/figures" | median)
  awk -v c="$call" -v a="$with" -v u="$without" \
    'BEGIN { printf "%s at concurrency 64: %.0f req/s audited, %.0f unaudited: recording costs %.1f%% of throughput\n", c, a, u, (1 - a / u) * 100 }'
done
