# How the per-call bench scripts measure; sourced after scripts/lib.sh (needs $bin, $endpoint,
# $server_pid, $work). Requests are described by a line of a call table:
#
#   NAME|SERVICE|form|Action=GetRole&Version=2010-05-08&RoleName=r1        (awsQuery)
#   NAME|SERVICE|Prefix.Operation|{"cluster":"c"}                          (awsJson 1.1)
#   NAME|preset|put-log-events|                                            (a loadgen --call)
#
#   loadgen_request LINE           the loadgen flags for that request (in the array $request)
#   check_call CREDENTIALS LINE    sends it once; exits the script unless it answers 2xx
#   wrk_script CREDENTIALS LINE    writes $work/wrk/NAME.lua (signed now: valid five minutes)
#   cpu_per_request SECONDS LUA    server on CPU 0, wrk -t1 -c64 on CPU 1: µs of server CPU
#                                  per request (utime+stime of the whole process)
#   wrk_unpinned SECONDS LUA [FLAGS]  server on both CPUs, wrk -t2 -c64: sets $rps, $p50, $p99
#   measure_call CREDENTIALS SECONDS LINE   both of the above, or for a call slower than 5 ms
#                                  (c64 would only time out) both from requests sent one at a
#                                  time, server on CPU 0: sets $cpu, $p50, $p99, $load (c64/c1)
#   urlencode TEXT                 TEXT percent-encoded for a form value

clk_tck=$(getconf CLK_TCK)
mkdir -p "$work/wrk"

urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

loadgen_request() {
  local name service kind body
  IFS='|' read -r name service kind body <<< "$1"
  case "$service|$kind" in
    preset\|*) request=(--call "$kind") ;;
    *\|form) request=(--service "$service" --form "$body") ;;
    *) request=(--service "$service" --target "$kind" --json "$body") ;;
  esac
}

call_name() { echo "${1%%|*}"; }

check_call() {
  loadgen_request "$2"
  "$bin" loadgen --endpoint "$endpoint" --credentials "$1" "${request[@]}" --count "${3:-1}" --concurrency 1 > "$work/check.out" 2>&1 || {
    echo "$(call_name "$2") does not answer 2xx: refusing to benchmark an error response" >&2
    cat "$work/check.out" >&2
    exit 1
  }
}

wrk_script() {
  local lua
  lua="$work/wrk/$(call_name "$2" | tr ':' '-').lua"
  loadgen_request "$2"
  "$bin" loadgen --endpoint "$endpoint" --credentials "$1" "${request[@]}" --wrk-script "$lua"
  echo "$lua"
}

# Runs wrk with "$@", saving its report in $work/wrk.out; exits if any answer was not 2xx.
run_wrk() {
  "$@" > "$work/wrk.out" 2>&1 || { cat "$work/wrk.out" >&2; exit 1; }
  if grep -q -e 'Non-2xx' -e 'Socket errors' "$work/wrk.out"; then
    echo "wrk saw errors ($*):" >&2
    cat "$work/wrk.out" >&2
    kill -0 "$server_pid" 2> /dev/null || echo "the server has exited; its last words:" >&2
    tail -20 "$work/server.err" >&2
    exit 1
  fi
}

server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }

cpu_per_request() {
  local seconds=$1 lua=$2 before after requests perf_pid=""
  taskset -a -p -c 0 "$server_pid" > /dev/null
  # PROFILE=NAME (the call's name, ':' as '-', e.g. 'ecs-DescribeTasks (10)'): perf-NAME.data in the current
  # directory, recorded during this run (the CPU figure then includes perf's own cost).
  if [ -n "${PROFILE:-}" ] && [ "$(basename "$lua" .lua)" = "$PROFILE" ]; then
    perf record -F 999 -g --call-graph dwarf,16384 -p "$server_pid" -o "perf-$PROFILE.data" -- sleep "$seconds" > /dev/null 2>&1 &
    perf_pid=$!
  fi
  before=$(server_ticks)
  run_wrk taskset -c 1 wrk -t1 -c64 --timeout 30s -d"${seconds}s" -s "$lua" "$endpoint/"
  after=$(server_ticks)
  [ -z "$perf_pid" ] || wait "$perf_pid" || true
  taskset -a -p -c 0-1 "$server_pid" > /dev/null
  requests=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
  awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }'
}

# wrk's latency in ms whatever unit it printed (us, ms, s).
_ms() { awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/) v *= 1000; printf "%.2f", v }' <<< "$1"; }

wrk_unpinned() {
  local seconds=$1 lua=$2
  taskset -a -p -c 0-1 "$server_pid" > /dev/null
  run_wrk wrk -t2 -c64 --timeout 30s -d"${seconds}s" --latency -s "$lua" "$endpoint/"
  rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$work/wrk.out")
  p50=$(_ms "$(awk '$1 == "50%" { print $2 }' "$work/wrk.out")")
  p99=$(_ms "$(awk '$1 == "99%" { print $2 }' "$work/wrk.out")")
}

measure_call() {
  local credentials=$1 seconds=$2 line=$3 lua single count before after
  check_call "$credentials" "$line" 3
  single=$(grep -o 'p50=[0-9.]*' "$work/check.out" | cut -d= -f2)
  if awk -v ms="$single" 'BEGIN { exit !(ms < 5) }'; then
    lua=$(wrk_script "$credentials" "$line")
    cpu=$(cpu_per_request "$seconds" "$lua")
    wrk_unpinned "$seconds" "$lua"
    load=c64
    return
  fi
  count=$(awk -v ms="$single" -v s="$seconds" 'BEGIN { n = int(s * 1000 / ms); print n < 3 ? 3 : n }')
  taskset -a -p -c 0 "$server_pid" > /dev/null
  before=$(server_ticks)
  check_call "$credentials" "$line" "$count"
  after=$(server_ticks)
  taskset -a -p -c 0-1 "$server_pid" > /dev/null
  cpu=$(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$count" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }')
  p50=$(grep -o 'p50=[0-9.]*' "$work/check.out" | cut -d= -f2)
  p99=$(grep -o 'p99=[0-9.]*' "$work/check.out" | cut -d= -f2)
  load=c1
}

# A user allowed exactly the given IAM policy (an inline one) and its key in FILE:
#   policy_user NAME POLICY_JSON FILE
policy_user() {
  aws iam create-user --user-name "$1" > /dev/null
  aws iam put-user-policy --user-name "$1" --policy-name bench --policy-document "$2"
  aws iam create-access-key --user-name "$1" --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text |
    awk '{ printf "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", $1, $2 }' > "$3"
}

# fleet-sim in the background on the cluster `fleet-sim`: start_fleet INSTANCES TASKS; returns
# once every task is placed and the instances hold (long-polling) for an hour, and prints
# fleet-sim's report. fleet-sim's runners each place 10 tasks a call until TASKS are placed, so
# it may overshoot by 10 per runner: one runner per 100 tasks (up to 32) keeps that within 10%.
start_fleet() {
  local runners=$(($2 / 100))
  [ "$runners" -ge 1 ] || runners=1
  [ "$runners" -le 32 ] || runners=32
  aws iam get-role --role-name fleetRole > /dev/null 2>&1 || {
    aws iam create-role --role-name fleetRole --assume-role-policy-document file://examples/ssm-trust-policy.json > /dev/null
    aws iam attach-role-policy --role-name fleetRole --policy-arn arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role
  }
  "$bin" fleet-sim --endpoint "$endpoint" --credentials "$AWS_SHARED_CREDENTIALS_FILE" --role fleetRole \
    --instances "$1" --tasks "$2" --concurrency "$runners" --hold-seconds 3600 > "$work/fleet.out" 2>&1 &
  fleet_pid=$!
  on_exit "kill $fleet_pid"
  until grep -q '^holding' "$work/fleet.out"; do
    kill -0 "$fleet_pid" 2> /dev/null || { echo "fleet-sim failed:" >&2; cat "$work/fleet.out" >&2; exit 1; }
    sleep 0.5
  done
  sed 's/^/  fleet-sim: /' "$work/fleet.out"
}

stop_fleet() {
  kill "$fleet_pid" 2> /dev/null || true
  wait "$fleet_pid" 2> /dev/null || true
}
