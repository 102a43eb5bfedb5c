#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a short budget each: a smoke test that the parsers
# still survive a few hundred thousand hostile inputs, not a fuzzing campaign.
#
#   scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]     (default 20)
#
# Installs cargo-fuzz if it is missing (cargo install cargo-fuzz --locked). The toolchain is
# stable, so the unstable flags cargo-fuzz passes are allowed with RUSTC_BOOTSTRAP=1. The
# build goes to CARGO_TARGET_DIR when it is set (else fuzz/target); corpora are temporary, so
# the run leaves nothing in the tree. A target that crashes fails the script, and its input
# is kept in fuzz/artifacts/TARGET/ for `cargo fuzz run TARGET FILE`.
#
# Built for a short run, not a campaign: no sanitizer (the code under test is safe Rust; what
# a smoke run finds is panics, hangs and runaway memory, which libFuzzer reports by itself),
# 16 codegen units, which cut a cold build on a busy two-core machine from 10m45s to 6m20s
# (warm: no build; the run is then the budget times the targets plus a few seconds each).
# FUZZ_SANITIZER=address restores AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version > /dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  # Its own build directory: the fuzz build below must not inherit its artifacts' flags.
  env -u CARGO_TARGET_DIR cargo install cargo-fuzz --locked --quiet
fi

build_args=(--sanitizer "${FUZZ_SANITIZER:-none}" --codegen-units 16)
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  build_args+=(--target-dir "$CARGO_TARGET_DIR")
fi

corpora=$(mktemp -d)
trap 'rm -rf "$corpora"' EXIT

targets=$(cargo fuzz list)
echo "== building $(echo "$targets" | wc -l) fuzz targets"
started=$(date +%s)
cargo fuzz build "${build_args[@]}"
echo "   built in $(($(date +%s) - started)) s"

failed=()
for target in $targets; do
  echo "== $target: ${seconds} s"
  mkdir -p "$corpora/$target" "fuzz/artifacts/$target"
  if ! cargo fuzz run "${build_args[@]}" "$target" "$corpora/$target" -- \
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
