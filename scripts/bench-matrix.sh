#!/usr/bin/env bash
# The cost of each API call on `homeport server` (issue 21): per call, the server's CPU per
# request (server on CPU 0, wrk -t1 -c64 on CPU 1; utime+stime of the server process) and its
# throughput unpinned (wrk -t2 -c64), beside the client's ceiling (nginx answering a canned
# body to the same wrk). Every request is signed by the IAM user `bench`, whose inline policy
# allows exactly these calls, so each request evaluates a user policy. Each call is sent once
# first and must answer 200, and any non-2xx during a run fails the script: a benchmark of
# error responses is a lie. Two simulated container instances long-poll meanwhile (the ECS
# state comes from them), which costs the server a little CPU of its own.
#
#   scripts/bench-matrix.sh [SECONDS]         (default 10 per run, two runs per call;
#                                              needs wrk, taskset, the aws CLI; nginx optional)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
source scripts/lib.sh
source scripts/measure.sh

iam_version=Version=2010-05-08
ecs=AmazonEC2ContainerServiceV20141113
logs=Logs_20140328
actions='"sts:GetCallerIdentity","iam:GetUser","iam:GetRole","iam:ListRoles","iam:GetPolicyVersion",
  "iam:SimulatePrincipalPolicy","ecs:DescribeClusters","ecs:DescribeTasks","ecs:ListTasks",
  "ecs:DescribeContainerInstances","ecr:GetAuthorizationToken","logs:PutLogEvents","logs:GetLogEvents"'

setup_iam() {
  account=$(aws sts get-caller-identity --query Account --output text)
  policy_user bench "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[$actions],\"Resource\":\"*\"}]}" \
    "$work/credentials"
  local trust
  trust=$(urlencode "$(cat examples/ecs-tasks-trust-policy.json)")
  echo "seeding 150 roles:"
  "$bin" loadgen --endpoint "$endpoint" --credentials "$AWS_SHARED_CREDENTIALS_FILE" --service iam \
    --form "Action=CreateRole&$iam_version&RoleName=bench-role-{n}&AssumeRolePolicyDocument=$trust" --count 150 --concurrency 4
  policy_arn=$(aws iam create-policy --policy-name bench-policy --query Policy.Arn --output text --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bench/*"}]}')
}

setup_ecs() {
  echo "starting fleet-sim (2 instances, 10 tasks)"
  start_fleet 2 10
  task_arns=$(aws ecs list-tasks --cluster fleet-sim --query 'taskArns[:10]' --output json | jq -c .)
  instance_arns=$(aws ecs list-container-instances --cluster fleet-sim --query containerInstanceArns --output json | jq -c .)
  [ "$(jq length <<< "$task_arns")" = 10 ] || { echo "fleet-sim placed fewer than 10 tasks: $task_arns" >&2; exit 1; }
}

setup_logs() {
  aws logs create-log-group --log-group-name /bench/loadgen
  aws logs create-log-stream --log-group-name /bench/loadgen --log-stream-name loadgen
  aws logs create-log-stream --log-group-name /bench/loadgen --log-stream-name read
  local now events
  now=$(($(date +%s) * 1000))
  events=$(jq -c -n --argjson now "$now" '[range(100) | {timestamp: $now, message: "event \(.) \("x" * 90)"}]')
  aws logs put-log-events --log-group-name /bench/loadgen --log-stream-name read --log-events "$events" > /dev/null
}

# The matrix: NAME|SERVICE|form|BODY or NAME|SERVICE|TARGET|JSON (see scripts/measure.sh).
define_calls() {
  local user_arn
  user_arn=$(urlencode "arn:aws:iam::$account:user/bench")
  calls=(
    "sts:GetCallerIdentity|sts|form|Action=GetCallerIdentity&Version=2011-06-15"
    "iam:GetUser|iam|form|Action=GetUser&$iam_version"
    "iam:GetRole|iam|form|Action=GetRole&$iam_version&RoleName=bench-role-75"
    "iam:ListRoles (100 of 151)|iam|form|Action=ListRoles&$iam_version&MaxItems=100"
    "iam:GetPolicyVersion|iam|form|Action=GetPolicyVersion&$iam_version&PolicyArn=$(urlencode "$policy_arn")&VersionId=v1"
    "iam:SimulatePrincipalPolicy|iam|form|Action=SimulatePrincipalPolicy&$iam_version&PolicySourceArn=$user_arn&ActionNames.member.1=iam%3AGetRole"
    "ecs:DescribeClusters|ecs|$ecs.DescribeClusters|{\"clusters\":[\"fleet-sim\"]}"
    "ecs:DescribeTasks (10)|ecs|$ecs.DescribeTasks|{\"cluster\":\"fleet-sim\",\"tasks\":$task_arns}"
    "ecs:ListTasks|ecs|$ecs.ListTasks|{\"cluster\":\"fleet-sim\"}"
    "ecs:DescribeContainerInstances (2)|ecs|$ecs.DescribeContainerInstances|{\"cluster\":\"fleet-sim\",\"containerInstances\":$instance_arns}"
    "ecr:GetAuthorizationToken|ecr|AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken|{}"
    "logs:PutLogEvents (100 events)|preset|put-log-events|"
    "logs:GetLogEvents (100 events)|logs|$logs.GetLogEvents|{\"logGroupName\":\"/bench/loadgen\",\"logStreamName\":\"read\"}"
  )
}

# nginx answering every request with a canned ~300-byte XML body: what wrk c64 can drive on
# this machine. Two workers (one per core) beat one here: wrk and nginx share both cores as
# wrk and the server do. Sets $ceiling (req/s) or leaves it empty without nginx.
measure_ceiling() {
  ceiling=""
  command -v nginx > /dev/null || { echo "nginx is absent: the client's ceiling was not measured"; return; }
  local prefix=$work/nginx port lua
  mkdir -p "$prefix/logs"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$prefix/nginx.conf" << CONF
worker_processes 2;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path $prefix/body;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type text/xml;
      return 200 '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:user/bench</Arn><UserId>AIDAEXAMPLEEXAMPLEXX</UserId><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></GetCallerIdentityResponse>';
    }
  }
}
CONF
  nginx -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' 2> "$prefix/logs/stderr" &
  local nginx_pid=$!
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  lua=$(wrk_script "$work/credentials" "${calls[0]}")
  run_wrk wrk -t2 -c64 --timeout 30s -d"${seconds}s" -s "$lua" "http://127.0.0.1:$port/"
  ceiling=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$work/wrk.out")
  kill "$nginx_pid"
  wait "$nginx_pid" 2> /dev/null || true
}

measure_calls() {
  results=()
  local line name lua cpu
  for line in "${calls[@]}"; do
    name=$(call_name "$line")
    check_call "$work/credentials" "$line"
    lua=$(wrk_script "$work/credentials" "$line")
    cpu=$(cpu_per_request "$seconds" "$lua")
    wrk_unpinned "$seconds" "$lua"
    echo "  $name: ${cpu} µs/req, $rps req/s"
    results+=("$name|$cpu|$rps")
  done
}

print_table() {
  local base name cpu rps share
  base=$(cut -d'|' -f2 <<< "${results[0]}")
  echo
  echo "Homeport $(git rev-parse --short HEAD)${server_bin:+ (server: $server_bin)}, $(date -u '+%Y-%m-%d %H:%M UTC'), wrk ${seconds}s per run, $(nproc) CPUs"
  echo
  echo "| call | server CPU µs/req (1 core) | x GetCallerIdentity | req/s c64 | share of ceiling |"
  echo "|---|---:|---:|---:|---:|"
  for line in "${results[@]}"; do
    IFS='|' read -r name cpu rps <<< "$line"
    share=$([ -n "$ceiling" ] && awk -v r="$rps" -v c="$ceiling" 'BEGIN { printf "%.0f%%", 100 * r / c }' || echo "n/a")
    awk -v n="$name" -v c="$cpu" -v b="$base" -v r="$rps" -v s="$share" \
      'BEGIN { printf "| %s | %d | %.1f | %d | %s |\n", n, c, c / b, r, s }'
  done
  echo
  if [ -n "$ceiling" ]; then
    echo "Ceiling: nginx (2 workers, canned 300-byte body) under the same wrk -t2 -c64: $ceiling req/s."
  else
    echo "Ceiling: not measured (no nginx)."
  fi
}

build
start_server
setup_iam
setup_ecs
setup_logs
define_calls
echo "measuring ${#calls[@]} calls, ${seconds}s pinned + ${seconds}s unpinned each:"
measure_calls
measure_ceiling
print_table
