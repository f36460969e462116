#!/usr/bin/env bash
# The long fuzz run FUZZING.md records: every target for RUNS executions (default 10 million) or
# SECONDS (default 1800), JOBS targets at a time (default 2). Prints one line per target:
#   target  executions  seconds  exec/s  peak-RSS-MB  result
# Usage: scripts/fuzz-campaign.sh [RUNS] [SECONDS] [JOBS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
seconds=${2:-1800}
jobs=${3:-2}
shift $(( $# > 3 ? 3 : $# ))
(cd fuzz && cargo +nightly fuzz build -O >/dev/null)
targets=${*:-$(cd fuzz && cargo +nightly fuzz list)}
one() {
  t=$1
  start=$(date +%s)
  if scripts/fuzz.sh "$t" "$2" "$3" > "fuzz/$t.run.txt" 2>&1; then result=ok; else result=FAILED; fi
  end=$(date +%s)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/$t.run.txt" | grep -o '[0-9]*$' || echo 0)
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "fuzz/$t.run.txt" | grep -o '[0-9]*$' || echo 0)
  secs=$((end - start))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$execs" "$secs" "$((execs / (secs > 0 ? secs : 1)))" "$rss" "$result"
}
export -f one
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c "one {} $seconds $runs"
