# What the bench scripts share; sourced by each, from the repository root, after
# `set -euo pipefail`.
#
#   build [CARGO_ARGS...]      a release build of homeport; sets $bin
#   on_exit COMMAND            runs COMMAND when the script exits (after stopping the server)
#   start_server [FLAGS...]    a server ($server_bin, else $bin) on a free loopback port with
#                              a fresh data directory ($data_dir, else $work/data); sets
#                              $server_pid and $endpoint, and points the aws CLI at it as
#                              root; plain HTTP (--insecure-http) unless $tls is set
#   bench_user                 a user allowed iam:GetUser on itself; its key in $work/credentials
#   rss / hwm                  the server's resident set now / at its peak, as "12.3 MiB"

work=$(mktemp -d)
server_pid=""
exit_commands=()

_on_exit() {
  [ -z "$server_pid" ] || kill "$server_pid" 2> /dev/null || true
  for command in "${exit_commands[@]}"; do eval "$command" || true; done
  rm -rf "$work"
}
trap _on_exit EXIT

on_exit() {
  exit_commands+=("$1")
}

build() {
  cargo build --release --quiet -p homeport "$@"
  bin=${CARGO_TARGET_DIR:-target}/release/homeport
}

start_server() {
  local server=${server_bin:-$bin} data=${data_dir:-$work/data} plain=()
  rm -rf "$data"
  # The built-in generator speaks plain HTTP: plain unless $tls is set (builds from before TLS
  # have no such flag and are plain anyway).
  if [ -z "${tls:-}" ] && "$server" server --help | grep -q -- --insecure-http; then plain=(--insecure-http); fi
  # Removed first: the background server truncates it only once it runs, and a second start
  # must not read the first server's address.
  rm -f "$work/server.out"
  "$server" server --listen 127.0.0.1:0 --data-dir "$data" "${plain[@]}" "$@" > "$work/server.out" 2> "$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q 'listening on' "$work/server.out" 2> /dev/null && break; sleep 0.1; done
  endpoint=$(grep -o -m 1 'https\?://[0-9.:]*' "$work/server.out") || {
    echo "the server did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
  }
  export AWS_ENDPOINT_URL=$endpoint AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null
  export AWS_SHARED_CREDENTIALS_FILE="$data/root-credentials"
  if [ "${endpoint#https://}" != "$endpoint" ]; then export AWS_CA_BUNDLE="$data/tls/ca.pem"; else unset AWS_CA_BUNDLE; fi
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2> /dev/null || true
  server_pid=""
}

bench_user() {
  aws iam create-user --user-name bench > /dev/null
  aws iam put-user-policy --user-name bench --policy-name self --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::*:user/${aws:username}"}]}'
  aws iam create-access-key --user-name bench --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text |
    awk '{ printf "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", $1, $2 }' > "$work/credentials"
}

rss() { awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }
hwm() { awk '/^VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }
