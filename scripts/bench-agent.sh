#!/usr/bin/env bash
# Measures the agent's idle memory: starts a release `homeport server`, registers an agent
# with an activation, runs `homeport agent run` for SECONDS (default 30) and reports its
# VmRSS, peak (VmHWM) and threads from /proc. The target is an idle RSS of at most 15 MiB.
#
#   scripts/bench-agent.sh [SECONDS]      (needs the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
source scripts/lib.sh
build
agent_pid=""
on_exit 'kill $agent_pid 2> /dev/null'
start_server
aws iam create-role --role-name benchRole --assume-role-policy-document file://examples/ssm-trust-policy.json > /dev/null
aws iam attach-role-policy --role-name benchRole --policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore
read -r activation_id activation_code < <(aws ssm create-activation --iam-role benchRole \
  --query '[ActivationId,ActivationCode]' --output text)
HOMEPORT_ACTIVATION_CODE="$activation_code" "$bin" agent register --endpoint "$endpoint" \
  --activation-id "$activation_id" --state-dir "$work/agent" > /dev/null

"$bin" agent run --state-dir "$work/agent" 2> "$work/agent.log" &
agent_pid=$!
sleep "$seconds"
grep -q "heartbeat ok" "$work/agent.log" || { cat "$work/agent.log" >&2; echo "the agent never heartbeat" >&2; exit 1; }
awk -v seconds="$seconds" '
  /^VmRSS/   { rss = $2 }
  /^VmHWM/   { hwm = $2 }
  /^Threads/ { threads = $2 }
  END { printf "agent idle after %ss: VmRSS %.1f MiB, VmHWM %.1f MiB, %d thread(s)\n", seconds, rss / 1024, hwm / 1024, threads }
' "/proc/$agent_pid/status"
