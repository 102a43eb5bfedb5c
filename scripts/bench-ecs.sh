#!/usr/bin/env bash
# Measures the ECS agent: its idle memory with the ECS part on, and how long a task takes
# from RunTask to RUNNING on a local image. Starts a release `homeport server`, registers one
# agent with a cluster, imports a static busybox as homeport-test/busybox (needs
# busybox-static and Docker), waits IDLE seconds (default 20) and reads the agent's VmRSS,
# then runs TASKS tasks (default 20) one after another, each timed from the RunTask call to
# DescribeTasks showing RUNNING (polled every 10 ms through boto3), and reports p50, p90 and
# max, then the agent's RSS again. Targets: idle RSS at most 20 MiB, p50 at most 1 s.
#
#   scripts/bench-ecs.sh [TASKS] [IDLE]     (needs the aws CLI, boto3, Docker, busybox-static)
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-20}
idle=${2:-20}
source scripts/lib.sh
build
agent_pid=""
cluster="bench-$$"
on_exit 'kill $agent_pid 2> /dev/null'
on_exit 'ids=$(docker ps -aq --filter "label=com.amazonaws.ecs.cluster=$cluster"); [ -z "$ids" ] || docker rm -f $ids > /dev/null'

mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in sh sleep true; do ln -s busybox "$work/rootfs/bin/$applet"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
docker import "$work/rootfs.tar" homeport-test/busybox:latest > /dev/null

start_server
aws iam create-role --role-name benchRole --assume-role-policy-document file://examples/ssm-trust-policy.json > /dev/null
for policy in AmazonSSMManagedInstanceCore service-role/AmazonEC2ContainerServiceforEC2Role; do
  aws iam attach-role-policy --role-name benchRole --policy-arn "arn:aws:iam::aws:policy/$policy"
done
aws ecs create-cluster --cluster-name "$cluster" > /dev/null
read -r activation_id activation_code < <(aws ssm create-activation --iam-role benchRole \
  --query '[ActivationId,ActivationCode]' --output text)
HOMEPORT_ACTIVATION_CODE="$activation_code" "$bin" agent register --endpoint "$endpoint" \
  --activation-id "$activation_id" --cluster "$cluster" --state-dir "$work/agent" > /dev/null
"$bin" agent run --state-dir "$work/agent" 2> "$work/agent.log" &
agent_pid=$!

agent_memory() {
  awk '/^VmRSS/ { rss = $2 } /^VmHWM/ { hwm = $2 } /^Threads/ { threads = $2 }
       END { printf "VmRSS %.1f MiB, VmHWM %.1f MiB, %d thread(s)", rss / 1024, hwm / 1024, threads }' "/proc/$agent_pid/status"
}
sleep "$idle"
grep -q "registered container instance" "$work/agent.log" || { cat "$work/agent.log" >&2; echo "the agent never registered" >&2; exit 1; }
echo "agent idle after ${idle}s with ECS on: $(agent_memory)"

python3 - "$cluster" "$tasks" <<'EOF'
import statistics, sys, time
import boto3
cluster, count = sys.argv[1], int(sys.argv[2])
ecs = boto3.client("ecs")
ecs.register_task_definition(family="bench", containerDefinitions=[{
    "name": "app", "image": "homeport-test/busybox:latest", "memory": 16, "essential": True,
    "command": ["sleep", "3600"], "stopTimeout": 1}])
latencies = []
for _ in range(count):
    started = time.monotonic()
    arn = ecs.run_task(cluster=cluster, taskDefinition="bench", launchType="EXTERNAL")["tasks"][0]["taskArn"]
    while True:
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if task["lastStatus"] == "RUNNING":
            break
        if time.monotonic() - started > 30:
            sys.exit(f"{arn} not RUNNING after 30 s: {task['lastStatus']}")
        time.sleep(0.01)
    latencies.append(time.monotonic() - started)
    ecs.stop_task(cluster=cluster, task=arn)
latencies.sort()
p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"RunTask to RUNNING over {count} tasks: p50 {statistics.median(latencies) * 1000:.0f} ms, "
      f"p90 {p(0.9) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
EOF
echo "agent after the tasks: $(agent_memory)"
