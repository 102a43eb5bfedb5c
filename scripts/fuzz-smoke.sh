#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a short budget each: a smoke test that the parsers
# still survive a few hundred thousand hostile inputs, not a fuzzing campaign.
#
#   scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]     (default 20)
#
# Installs cargo-fuzz if it is missing (cargo install cargo-fuzz --locked). The toolchain is
# stable, so the sanitizer flags cargo-fuzz passes are allowed with RUSTC_BOOTSTRAP=1. The
# build goes to CARGO_TARGET_DIR when it is set (else fuzz/target); corpora are temporary, so
# the run leaves nothing in the tree. A target that crashes fails the script, and its input
# is kept in fuzz/artifacts/TARGET/ for `cargo fuzz run TARGET FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version > /dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  # Its own build directory: the fuzz build below must not inherit its artifacts' flags.
  env -u CARGO_TARGET_DIR cargo install cargo-fuzz --locked --quiet
fi

target_dir_args=()
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  target_dir_args=(--target-dir "$CARGO_TARGET_DIR")
fi

corpora=$(mktemp -d)
trap 'rm -rf "$corpora"' EXIT

targets=$(cargo fuzz list)
echo "== building $(echo "$targets" | wc -l) fuzz targets"
started=$(date +%s)
cargo fuzz build "${target_dir_args[@]}"
echo "   built in $(($(date +%s) - started)) s"

failed=()
for target in $targets; do
  echo "== $target: ${seconds} s"
  mkdir -p "$corpora/$target" "fuzz/artifacts/$target"
  if ! cargo fuzz run "${target_dir_args[@]}" "$target" "$corpora/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$target/" 2> "$corpora/$target.log"; then
    tail -n 40 "$corpora/$target.log" >&2
    failed+=("$target")
  fi
  grep -E '^stat::number_of_executed_units' "$corpora/$target.log" | sed "s/^/   /" || true
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz smoke FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz smoke: every target ran ${seconds} s without a crash"
