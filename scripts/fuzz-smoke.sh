#!/usr/bin/env bash
# Every fuzz target for a short time (FUZZ_SECONDS, default 20), as CI does. Needs the nightly
# toolchain and cargo-fuzz (installed here from crates.io when missing); without nightly it says
# so loudly and exits 0, since the stable build and tests do not depend on it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "############################################################"
  echo "# fuzz smoke SKIPPED: no nightly toolchain (rustup toolchain install nightly)"
  echo "############################################################"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
seconds=${FUZZ_SECONDS:-20}
(cd fuzz && cargo +nightly fuzz build -O)
targets=$(cd fuzz && cargo +nightly fuzz list)
failed=()
for t in $targets; do
  echo "== fuzz $t (${seconds}s)"
  if ! scripts/fuzz.sh "$t" "$seconds" > "fuzz/$t.smoke.txt" 2>&1; then
    tail -40 "fuzz/$t.smoke.txt"
    failed+=("$t")
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "fuzz/$t.smoke.txt" | tr '\n' ' '; echo
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz smoke FAILED: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
echo "fuzz smoke: $(echo $targets | wc -w) targets, no crash"
