#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a short budget each: a smoke test that the parsers
# still survive a few hundred thousand hostile inputs, not a fuzzing campaign (for that,
# `cargo fuzz run TARGET` with AddressSanitizer, as README.md says).
#
#   scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]     (default 20)
#
# It builds the targets as cargo-fuzz does without a sanitizer (the same coverage flags, all
# stable), with plain cargo: no cargo-fuzz to install (a cold `cargo install cargo-fuzz` cost
# minutes of CI's budget) and no nightly features. 16 codegen units keep a cold build short.
# The build goes to CARGO_TARGET_DIR when it is set (else fuzz/target), under the host triple,
# so it never mixes with the workspace's own builds. Corpora are temporary, so the run leaves
# nothing in the tree. A target that crashes fails the script, and its input is kept in
# fuzz/artifacts/TARGET/ for `cargo fuzz run TARGET FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
host=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${CARGO_TARGET_DIR:-fuzz/target}
flags=(
  --cfg fuzzing
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  -Cllvm-args=-sanitizer-coverage-stack-depth
  -Cllvm-args=-simplifycfg-branch-fold-threshold=0
  -Cdebug-assertions
  -Ccodegen-units=16
)

corpora=$(mktemp -d)
trap 'rm -rf "$corpora"' EXIT

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^homeport-fuzz$')
echo "== building $(echo "$targets" | wc -l) fuzz targets"
started=$(date +%s)
RUSTFLAGS="${flags[*]}" cargo build --quiet --release --manifest-path fuzz/Cargo.toml \
  --target "$host" --target-dir "$target_dir" --bins
echo "   built in $(($(date +%s) - started)) s"

failed=()
for target in $targets; do
  echo "== $target: ${seconds} s"
  mkdir -p "$corpora/$target" "fuzz/artifacts/$target"
  if ! "$target_dir/$host/release/$target" "$corpora/$target" \
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
