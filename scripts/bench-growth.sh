#!/usr/bin/env bash
# How the cost of a call grows with the account (issue 21), as markdown tables: per size, the
# server's CPU per request (server on CPU 0, wrk -t1 -c64 on CPU 1) and p50/p99 latency
# (unpinned, wrk -t2 -c64; a call slower than 5 ms alone is measured one request at a time instead,
# marked c1), and the ratio largest/smallest size. Three curves, each on a
# fresh server, all calls signed by the IAM user `bench` (an inline policy allowing them):
#
#   users:    USERS users and as many roles (seeded with `loadgen --count`, timed), for
#             GetUser (self), GetRole, ListRoles (first page of 100), SimulatePrincipalPolicy
#   policies: the bench user with POLICIES customer managed policies (the first 10 attached
#             to it, the rest to a group it is in), for GetUser and GetCallerIdentity (control)
#   tasks:    TASKS tasks in one cluster whose instances are fleet-sim's (1,024 tasks fit on
#             one), for DescribeTasks of 10, ListTasks (first page), DescribeContainerInstances
#             (up to 100), and RunTask of count 1 (RUNTASKS calls one at a time, timed)
#
#   [USERS="1000 10000 100000"] [POLICIES="1 5 10 20"] [TASKS="10 1000 10000 100000"]
#   [RUNTASKS=300] [PARTS="users policies tasks"] scripts/bench-growth.sh [SECONDS]
#                                                 (default 5 per run; needs wrk, taskset, aws)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
users_sizes=(${USERS:-1000 10000 100000})
policies_sizes=(${POLICIES:-1 5 10 20})
tasks_sizes=(${TASKS:-10 1000 10000 100000})
runtasks=${RUNTASKS:-300}
parts=${PARTS:-users policies tasks}
source scripts/lib.sh
source scripts/measure.sh

iam_version=Version=2010-05-08
ecs=AmazonEC2ContainerServiceV20141113
declare -A results # "call|size" -> "cpu|p50|p99"

# A fresh server and the bench user allowed these calls; sets $account.
fresh_server() {
  [ -z "$server_pid" ] || stop_server
  start_server
  account=$(aws sts get-caller-identity --query Account --output text)
  policy_user bench '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*","Action":[
    "sts:GetCallerIdentity","iam:GetUser","iam:GetRole","iam:ListRoles","iam:SimulatePrincipalPolicy",
    "ecs:DescribeTasks","ecs:ListTasks","ecs:DescribeContainerInstances","ecs:RunTask"]}]}' "$work/credentials"
}

# Sends COUNT requests from START as root: fill START COUNT LOADGEN_FLAGS...
fill() {
  local start=$1 count=$2
  shift 2
  [ "$count" -gt 0 ] || return 0
  "$bin" loadgen --endpoint "$endpoint" --credentials "$AWS_SHARED_CREDENTIALS_FILE" --concurrency 8 \
    --start "$start" --count "$count" "$@" | sed 's/^/    /'
}

# Measures each call line at SIZE: measure_at SIZE LINE...
measure_at() {
  local size=$1 line name
  shift
  for line in "$@"; do
    name=$(call_name "$line")
    measure_call "$work/credentials" "$seconds" "$line"
    echo "  $size: $name ${cpu} µs/req, p50 ${p50} ms, p99 ${p99} ms ($load)"
    results["$name|$size"]="$cpu|$p50|$p99$([ "$load" = c64 ] || echo " ($load)")"
  done
}

# print_growth TITLE "SIZE..." NAME...: one row per call, a cell per size, the ratios.
print_growth() {
  local title=$1 sizes=($2) name size first last cpu p50 p99 row header rule
  shift 2
  header="| call |" rule="|---|"
  for size in "${sizes[@]}"; do header+=" $size |" rule+="---:|"; done
  echo
  echo "$title (cells: server CPU µs/req on 1 core · p50 / p99 ms at c64;"
  echo "(c1): slower than 5 ms alone, so measured one request at a time, as c64 would only time out)"
  echo
  echo "$header CPU largest/smallest | p99 largest/smallest |"
  echo "$rule---:|---:|"
  for name in "$@"; do
    row="| $name |"
    for size in "${sizes[@]}"; do
      IFS='|' read -r cpu p50 p99 <<< "${results["$name|$size"]:-?|?|?}"
      row+=" $cpu · $p50 / $p99 |"
    done
    first=${results["$name|${sizes[0]}"]:-1|1|1} last=${results["$name|${sizes[-1]}"]:-1|1|1}
    row+=$(awk -v a="$first" -v b="$last" 'BEGIN { split(a, x, "|"); split(b, y, "|");
      printf " %.1f | %s |", y[1] / x[1], (a ~ /c1/) == (b ~ /c1/) ? sprintf("%.1f", y[3] / x[3]) : "n/a (c1 vs c64)" }')
    echo "$row"
  done
}

grow_users() {
  fresh_server
  local trust size have=0 started calls
  trust=$(urlencode "$(cat examples/ecs-tasks-trust-policy.json)")
  calls=(
    "iam:GetUser|iam|form|Action=GetUser&$iam_version"
    "iam:GetRole|iam|form|Action=GetRole&$iam_version&RoleName=role-$((users_sizes[0] / 2))"
    "iam:ListRoles (first 100)|iam|form|Action=ListRoles&$iam_version&MaxItems=100"
    "iam:SimulatePrincipalPolicy|iam|form|Action=SimulatePrincipalPolicy&$iam_version&PolicySourceArn=$(urlencode "arn:aws:iam::$account:user/bench")&ActionNames.member.1=iam%3AGetRole"
  )
  seeding=()
  for size in "${users_sizes[@]}"; do
    echo "users and roles: seeding up to $size each"
    started=$(date +%s.%N)
    fill "$have" $((size - have)) --service iam --form "Action=CreateUser&$iam_version&UserName=user-{n}"
    fill "$have" $((size - have)) --service iam --form "Action=CreateRole&$iam_version&RoleName=role-{n}&AssumeRolePolicyDocument=$trust"
    seeding+=("| $size | $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') | $(rss) |")
    have=$size
    measure_at "$size" "${calls[@]}"
  done
  print_growth "Users and roles (as many of each)" "${users_sizes[*]}" "${calls[@]%%|*}"
  echo
  echo "| users + roles | seeding time s (from the previous size) | server RSS after |"
  echo "|---:|---:|---:|"
  printf '%s\n' "${seeding[@]}"
}

grow_policies() {
  fresh_server
  local size have=0 policy calls
  aws iam create-group --group-name bench-group > /dev/null
  aws iam add-user-to-group --group-name bench-group --user-name bench
  calls=(
    "iam:GetUser|iam|form|Action=GetUser&$iam_version"
    "sts:GetCallerIdentity|sts|form|Action=GetCallerIdentity&Version=2011-06-15"
  )
  for size in "${policies_sizes[@]}"; do
    echo "policies: the bench user with $size customer managed policies"
    for ((; have < size; have++)); do
      policy=$(aws iam create-policy --policy-name "bench-$have" --query Policy.Arn --output text --policy-document \
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\"],\"Resource\":\"arn:aws:s3:::bucket-$have/*\"},{\"Effect\":\"Deny\",\"Action\":\"ec2:*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"aws:RequestedRegion\":\"eu-west-$have\"}}}]}")
      if [ "$have" -lt 10 ]; then
        aws iam attach-user-policy --user-name bench --policy-arn "$policy"
      else
        aws iam attach-group-policy --group-name bench-group --policy-arn "$policy"
      fi
    done
    measure_at "$size" "${calls[@]}"
  done
  print_growth "Customer managed policies on the signing user (plus its inline policy)" "${policies_sizes[*]}" "${calls[@]%%|*}"
}

grow_tasks() {
  fresh_server
  local size have largest=${tasks_sizes[-1]} instances started line calls task_arns instance_arns
  instances=$(((largest + 1023) / 1024 + 1))
  echo "tasks: fleet-sim with $instances instances and ${tasks_sizes[0]} tasks"
  start_fleet "$instances" "${tasks_sizes[0]}"
  have=$(aws ecs list-tasks --cluster fleet-sim --query 'length(taskArns)' --output text)
  task_arns=$(aws ecs list-tasks --cluster fleet-sim --query 'taskArns[:10]' --output json | jq -c .)
  instance_arns=$(aws ecs list-container-instances --cluster fleet-sim --max-items 100 --query 'containerInstanceArns' --output json | jq -c .)
  calls=(
    "ecs:DescribeTasks (10)|ecs|$ecs.DescribeTasks|{\"cluster\":\"fleet-sim\",\"tasks\":$task_arns}"
    "ecs:ListTasks (first page)|ecs|$ecs.ListTasks|{\"cluster\":\"fleet-sim\"}"
    "ecs:DescribeContainerInstances ($(jq length <<< "$instance_arns"))|ecs|$ecs.DescribeContainerInstances|{\"cluster\":\"fleet-sim\",\"containerInstances\":$instance_arns}"
  )
  placing=()
  for size in "${tasks_sizes[@]}"; do
    echo "tasks: placing up to $size (have $have)"
    started=$(date +%s.%N)
    fill 0 $(((size - have) / 10)) --service ecs --target "$ecs.RunTask" \
      --json '{"cluster":"fleet-sim","taskDefinition":"fleet-sim","count":10}'
    have=$((have + (size - have) / 10 * 10))
    placing+=("| $size | $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') | $(rss) |")
    measure_at "$size" "${calls[@]}"
    measure_run_task "$size"
    have=$((have + runtasks))
  done
  print_growth "Tasks in the cluster" "${tasks_sizes[*]}" "${calls[@]%%|*}" "ecs:RunTask (count 1)"
  echo
  echo "RunTask (count 1): $runtasks calls one at a time, signed by bench; CPU includes delivering the task to its instance."
  echo
  echo "| tasks | placing time s (RunTask count 10, from the previous size) | server RSS after |"
  echo "|---:|---:|---:|"
  printf '%s\n' "${placing[@]}"
}

# RUNTASKS RunTask calls of count 1, one at a time: latency (client side) and server CPU.
measure_run_task() {
  local before after out
  before=$(server_ticks)
  out=$("$bin" loadgen --endpoint "$endpoint" --credentials "$work/credentials" --concurrency 1 --count "$runtasks" \
    --service ecs --target "$ecs.RunTask" --json '{"cluster":"fleet-sim","taskDefinition":"fleet-sim","count":1}' | tail -1)
  after=$(server_ticks)
  local cpu p50 p99
  cpu=$(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$runtasks" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }')
  p50=$(grep -o 'p50=[0-9.]*' <<< "$out" | cut -d= -f2)
  p99=$(grep -o 'p99=[0-9.]*' <<< "$out" | cut -d= -f2)
  echo "  $1: ecs:RunTask (count 1) ${cpu} µs/req, p50 ${p50} ms, p99 ${p99} ms"
  results["ecs:RunTask (count 1)|$1"]="$cpu|$p50|$p99 (c1)"
}

build
echo "Homeport $(git rev-parse --short HEAD)${server_bin:+ (server: $server_bin)}, $(date -u '+%Y-%m-%d %H:%M UTC'), wrk ${seconds}s per run, $(nproc) CPUs"
for part in $parts; do
  started=$(date +%s)
  "grow_$part"
  echo
  echo "($part took $(($(date +%s) - started)) s)"
done
