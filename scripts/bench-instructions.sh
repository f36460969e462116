#!/usr/bin/env bash
# Instructions per read + analysis of the 10,000-node plan, per format: a figure that does not
# move with the load of a shared host (CPU and wall time on a busy 2-core VM vary by half).
# Runs the plan_analyze benchmark under callgrind with 1 and 3 timed runs; the difference over
# two is one read and one analysis.
#   usage: scripts/bench-instructions.sh [FORMAT…]   (JSON text YAML XML by default; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
cargo bench --bench plan_analyze --no-run 2>/dev/null
bin=$(ls -t target/release/deps/plan_analyze-* | grep -v '\.d$' | head -1)
ir() { # format runs
  DBKIT_BENCH_FORMAT=$1 DBKIT_BENCH_RUNS=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" --bench 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-6s %s\n' format "instructions per read + analysis (millions)"
for f in ${*:-JSON text YAML XML}; do
  one=$(ir "$f" 1)
  three=$(ir "$f" 3)
  printf '%-6s %d\n' "$f" $(( (three - one) / 2 / 1000000 ))
done
