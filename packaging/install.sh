#!/usr/bin/env bash
# Installs the Homeport agent on this server and registers it with an activation: the
# analogue of ecs-anywhere-install.sh. The control plane serves this script at
# ENDPOINT/install.sh, with its public address (`homeport server --public-url`), its CA's
# SHA-256 fingerprint and its registry's HOST:PORT filled in as the defaults:
#
#   curl -fsSLk https://CONTROL-PLANE:7780/install.sh | sudo bash -s -- \
#       --activation-id ID --activation-code-file /root/activation-code --cluster NAME
#
# (`-k` because this machine does not trust the control plane's CA yet: the script's pin is
# what makes the rest trustworthy, so compare the fingerprint in it, or pass --ca-sha256 HEX
# yourself, as the server printed it at start.)
#
# The code may also come from standard input (`--activation-code-file -`, when the script
# is a file rather than piped), the HOMEPORT_ACTIVATION_CODE variable, or --activation-code
# (which other users of the machine can read in `ps`).
#
# For an https:// endpoint it first fetches ENDPOINT/cacerts and checks its SHA-256 against
# the pin (refusing to go on when they differ), then downloads the homeport binary the
# control plane serves (ENDPOINT/download/homeport) verified by that CA to
# PREFIX/usr/local/bin/homeport, puts the CA where Docker looks for the registry's
# (PREFIX/etc/docker/certs.d/REGISTRY_HOST/ca.crt), registers (`homeport agent register
# --ca-sha256 ...`, which keeps the CA and verifies every connection against it), installs
# the systemd unit into PREFIX/etc/systemd/system/ and, unless --no-start, enables and
# (re)starts it. An http:// endpoint (a server run with --insecure-http) works as before, in
# clear.
set -euo pipefail

# The control plane replaces the placeholder on the next line with its address when it
# serves this script; run from a checkout, pass --endpoint.
ENDPOINT="@HOMEPORT_ENDPOINT@"
# The CA's fingerprint (empty when the server runs plain HTTP) and the registry's HOST:PORT,
# filled in the same way.
CA_SHA256="@HOMEPORT_CA_SHA256@"
REGISTRY_HOST="@HOMEPORT_REGISTRY_HOST@"
ACTIVATION_ID=""
ACTIVATION_CODE=""
ACTIVATION_CODE_FILE=""
CLUSTER=""
REGION="us-east-1"
PREFIX="/"
START=1
FORCE=0

usage() {
    cat <<'USAGE'
Usage: install.sh --activation-id ID --activation-code-file PATH [options]

  --activation-id ID      the SSM activation's id (aws ssm create-activation)
  --activation-code-file PATH
                          read the activation's code from PATH (its first line), or from
                          standard input with - (when this script is not itself piped in);
                          else HOMEPORT_ACTIVATION_CODE from the environment is used
  --activation-code CODE  the activation's code on the command line (visible to other users
                          in ps: prefer the file or the variable)
  --cluster NAME          the ECS cluster this instance will join
  --region REGION         the control plane's region (default us-east-1)
  --endpoint URL          the control plane, https://HOST:PORT (default: the one serving this script)
  --ca-sha256 HEX         the SHA-256 fingerprint of the control plane's CA, required for https://
                          (default: the one the server filled in; the server prints it at start,
                          or run sha256sum DATA/tls/ca.pem on the server)
  --registry-host HOST:PORT
                          the registry's address as images name it, for Docker's CA directory
                          (default: the server's, else the endpoint's HOST:PORT)
  --force                 register again even if this server is already registered
  --no-start              install and register, but do not enable or start the systemd service
  --prefix DIR            install under DIR instead of / (for tests and images)
  -h, --help              show this help
USAGE
}

fail() {
    echo "install.sh: error: $*" >&2
    exit 1
}

step() {
    echo "==> $*"
}

while [ $# -gt 0 ]; do
    option="$1"
    case "$option" in
        --activation-id|--activation-code|--activation-code-file|--cluster|--region|--endpoint|--prefix|--ca-sha256|--registry-host)
            [ $# -ge 2 ] || fail "$option needs a value"
            value="$2"
            shift 2
            ;;
        --*=*)
            value="${option#*=}"
            option="${option%%=*}"
            shift
            ;;
        --no-start) START=0; shift; continue ;;
        --force) FORCE=1; shift; continue ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "unknown option: $option" ;;
    esac
    case "$option" in
        --activation-id) ACTIVATION_ID="$value" ;;
        --activation-code) ACTIVATION_CODE="$value" ;;
        --activation-code-file) ACTIVATION_CODE_FILE="$value" ;;
        --cluster) CLUSTER="$value" ;;
        --region) REGION="$value" ;;
        --endpoint) ENDPOINT="$value" ;;
        --prefix) PREFIX="$value" ;;
        --ca-sha256) CA_SHA256="$value" ;;
        --registry-host) REGISTRY_HOST="$value" ;;
        *) usage >&2; fail "unknown option: $option" ;;
    esac
done

[ -n "$ACTIVATION_ID" ] || fail "--activation-id is required (aws ssm create-activation prints it)"
# The code from a file, standard input or the environment never appears on a command line.
if [ -n "$ACTIVATION_CODE_FILE" ]; then
    [ -z "$ACTIVATION_CODE" ] || fail "give --activation-code-file or --activation-code, not both"
    if [ "$ACTIVATION_CODE_FILE" = "-" ]; then
        # Under `curl ... | bash` standard input is the rest of this script.
        [ -n "${BASH_SOURCE[0]:-}" ] || fail "--activation-code-file - reads standard input, which is this script when it is piped to bash: pass a file, or download the script and run bash install.sh"
        IFS= read -r ACTIVATION_CODE || true
    else
        [ -r "$ACTIVATION_CODE_FILE" ] || fail "cannot read the activation code file $ACTIVATION_CODE_FILE"
        IFS= read -r ACTIVATION_CODE <"$ACTIVATION_CODE_FILE" || true
    fi
    ACTIVATION_CODE="${ACTIVATION_CODE%$'\r'}"
    if [ -z "$ACTIVATION_CODE" ]; then
        [ "$ACTIVATION_CODE_FILE" = "-" ] && fail "standard input holds no activation code"
        fail "$ACTIVATION_CODE_FILE holds no activation code (on its first line)"
    fi
elif [ -z "$ACTIVATION_CODE" ]; then
    ACTIVATION_CODE="${HOMEPORT_ACTIVATION_CODE:-}"
else
    echo "install.sh: warning: --activation-code is visible to other users of this machine (ps); prefer --activation-code-file" >&2
fi
[ -n "$ACTIVATION_CODE" ] || fail "the activation code is required: --activation-code-file PATH (or - for standard input), HOMEPORT_ACTIVATION_CODE, or --activation-code (aws ssm create-activation prints it)"
ENDPOINT="${ENDPOINT%/}"
# A placeholder the control plane did not fill (the script run from a checkout) is empty.
case "$CA_SHA256" in @*@) CA_SHA256="" ;; esac
case "$REGISTRY_HOST" in @*@) REGISTRY_HOST="" ;; esac
case "$ENDPOINT" in
    https://?*)
        [ -n "$CA_SHA256" ] || fail "an https:// endpoint needs the fingerprint of the control plane's CA: pass --ca-sha256 HEX (the server prints it at start as 'CA fingerprint (SHA-256): ...', or run sha256sum DATA/tls/ca.pem on the server)"
        # The forms homeport agent register accepts: sha256: first, : between pairs, any case.
        pin="${CA_SHA256#sha256:}"
        pin="${pin#SHA256:}"
        pin="${pin//:/}"
        pin="$(printf '%s' "$pin" | tr 'A-F' 'a-f')"
        [[ "$pin" =~ ^[0-9a-f]{64}$ ]] || fail "--ca-sha256 '$CA_SHA256' is not a SHA-256 fingerprint (64 hex digits)"
        CA_SHA256="$pin"
        ;;
    http://?*)
        echo "install.sh: warning: $ENDPOINT is plain HTTP: the binary, the activation code and the credentials cross the network in clear" >&2
        [ -z "$CA_SHA256" ] || echo "install.sh: warning: --ca-sha256 is not used for an http:// endpoint" >&2
        CA_SHA256=""
        ;;
    *) fail "no endpoint: pass --endpoint https://HOST:PORT (the control plane fills it in when it serves this script)" ;;
esac
if [ -z "$REGISTRY_HOST" ]; then
    REGISTRY_HOST="${ENDPOINT#*://}"
fi
case "$REGISTRY_HOST" in
    */*|.|..) fail "--registry-host '$REGISTRY_HOST' is not a HOST:PORT" ;;
esac
PREFIX="${PREFIX%/}"
case "$PREFIX" in
    *[[:space:]%\\\"]*) fail "--prefix must not contain spaces, %, \\ or \" (the systemd unit names paths under it)" ;;
    ""|/*) ;;
    *) PREFIX="$(pwd)/$PREFIX" ;;
esac
if [ -z "$PREFIX" ] && [ "$(id -u)" -ne 0 ]; then
    fail "installing into / needs root: run it with sudo (curl -fsSL${CA_SHA256:+k} $ENDPOINT/install.sh | sudo bash -s -- ...)"
fi
command -v curl >/dev/null 2>&1 || fail "curl is required"
if [ -n "$CA_SHA256" ]; then
    command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is required (coreutils) to check the control plane's CA"
fi

BIN_DIR="$PREFIX/usr/local/bin"
BIN="$BIN_DIR/homeport"
UNIT_DIR="$PREFIX/etc/systemd/system"
STATE_DIR="$PREFIX/var/lib/homeport-agent"

# Removed on exit, whatever the way out.
ca_file=""
download=""
cleanup() {
    rm -f "$ca_file" "$download"
}
trap cleanup EXIT

curl_trust=()
if [ -n "$CA_SHA256" ]; then
    # Fetched without verification (this machine does not know the CA yet), and used only if
    # its hash is the pin: from then on every download verifies against it.
    step "Fetching the control plane's CA from $ENDPOINT/cacerts"
    ca_file="$(mktemp)"
    curl -fsSk "$ENDPOINT/cacerts" -o "$ca_file" </dev/null || fail "cannot fetch $ENDPOINT/cacerts (is the endpoint right, and the server running?)"
    served="$(sha256sum "$ca_file" </dev/null)"
    served="${served%% *}"
    if [ "$served" != "$CA_SHA256" ]; then
        fail "the CA served by $ENDPOINT/cacerts has SHA-256 $served, but --ca-sha256 pins $CA_SHA256: refusing to go on (nothing was downloaded or sent). Check the fingerprint: the server prints it at start, or run sha256sum DATA/tls/ca.pem on the server; if they agree, this machine is not talking to that server"
    fi
    grep -q -- "-----BEGIN CERTIFICATE-----" "$ca_file" || fail "$ENDPOINT/cacerts matches the pin but holds no PEM certificate"
    step "The CA matches the pinned fingerprint $CA_SHA256"
    curl_trust=(--cacert "$ca_file")
fi

step "Downloading the homeport binary from $ENDPOINT/download/homeport"
mkdir -p "$BIN_DIR"
download="$(mktemp "$BIN_DIR/.homeport.XXXXXX")"
curl -fsSL ${curl_trust[@]+"${curl_trust[@]}"} "$ENDPOINT/download/homeport" -o "$download" </dev/null || fail "cannot download $ENDPOINT/download/homeport"
chmod 755 "$download"
# A rename, so a running agent keeps its old binary until it restarts.
mv -f "$download" "$BIN"
download=""
"$BIN" --version </dev/null >/dev/null || fail "the downloaded binary does not run on this machine ($(uname -m))"

DOCKER_CERTS_DIR="$PREFIX/etc/docker/certs.d"
if [ -n "$CA_SHA256" ]; then
    # Docker verifies its pulls from (and pushes to) Homeport's registry with this CA, with
    # no insecure-registries entry. `register` writes it there again, the same bytes.
    step "Installing the CA for Docker into $DOCKER_CERTS_DIR/$REGISTRY_HOST/ca.crt"
    mkdir -p "$DOCKER_CERTS_DIR/$REGISTRY_HOST"
    install -m 644 "$ca_file" "$DOCKER_CERTS_DIR/$REGISTRY_HOST/ca.crt"
fi

# A running agent holds its state directory (register refuses to replace the identity under
# it): a forced re-registration stops it first; it is started again below.
if [ "$FORCE" -eq 1 ] && [ "$START" -eq 1 ] && command -v systemctl >/dev/null 2>&1 \
    && systemctl is-active --quiet homeport-agent </dev/null; then
    step "Stopping the running homeport-agent service to register again"
    systemctl stop homeport-agent </dev/null
fi

step "Registering this server with activation $ACTIVATION_ID"
register=("$BIN" agent register --endpoint "$ENDPOINT" --activation-id "$ACTIVATION_ID" --region "$REGION" --state-dir "$STATE_DIR")
[ -z "$CLUSTER" ] || register+=(--cluster "$CLUSTER")
[ "$FORCE" -eq 0 ] || register+=(--force)
if [ -n "$CA_SHA256" ]; then
    register+=(--ca-sha256 "$CA_SHA256" --docker-certs-dir "$DOCKER_CERTS_DIR" --registry-host "$REGISTRY_HOST")
fi
# The code goes through the environment, not the command line other users can see. Under
# `curl ... | bash` the script itself is standard input: no command may read it.
HOMEPORT_ACTIVATION_CODE="$ACTIVATION_CODE" "${register[@]}" </dev/null

step "Installing the systemd unit into $UNIT_DIR"
mkdir -p "$UNIT_DIR"
unit="$("$BIN" agent systemd-unit </dev/null)"
if [ -n "$PREFIX" ]; then
    # The unit names /usr/local/bin and /var/lib: under a prefix it runs what was installed
    # there. systemd's StateDirectory= is always under /var/lib, so the prefix's state
    # directory (made 0700 by register) is named as writable instead. The replacements are
    # quoted, so nothing in the prefix is read as a pattern.
    unit="${unit//"/usr/local/bin/homeport agent run --state-dir /var/lib/homeport-agent"/"$BIN agent run --state-dir $STATE_DIR"}"
    unit="${unit//"StateDirectory=homeport-agent"$'\n'"StateDirectoryMode=0700"/"ReadWritePaths=$STATE_DIR"}"
fi
printf '%s\n' "$unit" >"$UNIT_DIR/homeport-agent.service"
chmod 644 "$UNIT_DIR/homeport-agent.service"

if [ "$START" -eq 1 ]; then
    command -v systemctl >/dev/null 2>&1 || fail "systemctl not found: start the agent yourself with $BIN agent run --state-dir $STATE_DIR"
    step "Starting the homeport-agent service"
    systemctl daemon-reload </dev/null
    # Restart rather than start: on a re-install an agent may be running the old binary
    # or the old registration.
    systemctl enable homeport-agent </dev/null
    systemctl restart homeport-agent </dev/null
    step "Done: the agent is running (journalctl -u homeport-agent -f to follow it)"
else
    step "Done (--no-start): start the agent with: $BIN agent run --state-dir $STATE_DIR"
fi
