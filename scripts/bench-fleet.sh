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
source scripts/lib.sh
build
start_server
aws iam create-role --role-name fleetRole --assume-role-policy-document file://examples/ssm-trust-policy.json > /dev/null
aws iam attach-role-policy --role-name fleetRole --policy-arn arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role

echo "server RSS idle: $(rss)"
"$bin" fleet-sim --endpoint "$endpoint" --credentials "$work/data/root-credentials" \
  --role fleetRole --instances "$instances" --tasks "$tasks" --concurrency 32
echo "server RSS after: $(rss); peak while running: $(hwm)"
