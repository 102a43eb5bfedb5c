#!/usr/bin/env bash
# Measures the control plane with a simulated fleet: SSM registrations per second, ECS task
# placement throughput and the server's RSS, with N simulated container instances long-polling
# like agents.
#
#   scripts/bench-fleet.sh [INSTANCES] [TASKS]      (default 1000 instances, 10000 tasks; needs the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
instances=${1:-1000}
tasks=${2:-10000}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/homeport
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" server --listen 127.0.0.1:17791 --data-dir "$work/data" > "$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 50); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL=http://127.0.0.1:17791 AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE="$work/data/root-credentials"
aws iam create-role --role-name fleetRole --assume-role-policy-document file://examples/ssm-trust-policy.json > /dev/null
aws iam attach-role-policy --role-name fleetRole --policy-arn arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role

rss() { awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }
echo "server RSS idle: $(rss)"
"$bin" fleet-sim --endpoint http://127.0.0.1:17791 --credentials "$work/data/root-credentials" \
  --role fleetRole --instances "$instances" --tasks "$tasks" --concurrency 32 &
sim_pid=$!
peak=0
while kill -0 "$sim_pid" 2>/dev/null; do
  now=$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")
  [ "$now" -gt "$peak" ] && peak=$now
  sleep 0.5
done
wait "$sim_pid"
echo "server RSS after: $(rss); peak while running: $(awk -v k="$peak" 'BEGIN { printf "%.1f MiB", k / 1024 }')"
