#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time on the stable toolchain.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     (default: 60 seconds each, every target)
#
# Stable rustc cannot take `-Zsanitizer`, so the targets are built with `--sanitizer none`:
# cargo-fuzz then passes only stable `-C` flags (SanitizerCoverage via `-Cpasses=sancov-module`,
# debug assertions and overflow checks on, release optimisations). Nothing needs nightly or
# RUSTC_BOOTSTRAP.
#
# New inputs libFuzzer finds go to fuzz/work/TARGET/ (ignored); the committed seeds in
# fuzz/corpus/TARGET/ are only read. Crash inputs land in fuzz/artifacts/TARGET/: commit them,
# and `cargo test --test fuzz_corpus` replays them on every CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(webhook_body cliq_callback command_args)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "+ cargo install cargo-fuzz --locked"
  cargo install cargo-fuzz --locked
fi

status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t"
  cmd=(cargo fuzz run --sanitizer none "$t" "fuzz/work/$t" "fuzz/corpus/$t"
    -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  echo "+ ${cmd[*]}"
  if ! "${cmd[@]}"; then
    echo "!! $t failed: see fuzz/artifacts/$t/" >&2
    status=1
  fi
done
exit "$status"
