#!/usr/bin/env bash
# dbkit workload top, workload summary (every section, pgBadger's whole report) and n-plus-one
# vs pgBadger on the same deterministic log, side by side: throughput (MB/s), query count, peak
# memory.
#   usage: scripts/bench-workload.sh [SIZE_MB]     (default 200; needs python3, pgbadger, GNU time)
#   apt-get install pgbadger time
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-200}
log=${BENCH_LOG:-/tmp/dbkit-bench-pg${size}.log}
gen=../shared/bench/gen_pglog.py
[ -f "$log" ] || python3 "$gen" --size-mb "$size" --seed 42 --out "$log"
cargo build --release --quiet
mb=$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1]) / 1048576)" "$log")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # name command... -> prints seconds and peak kB into $work/name.{s,kb}
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"
  read -r secs kb <"$work/$name.time"
  echo "$secs" >"$work/$name.s"; echo "$kb" >"$work/$name.kb"
}

measure dbkit ./target/release/dbkit workload top "$log" --format json --limit 100
measure summary ./target/release/dbkit workload summary "$log" --format json --limit 100
measure nplus ./target/release/dbkit workload n-plus-one "$log" --format json
summary_queries=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total_queries'])" "$work/summary.out")
dbkit_queries=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total_queries'])" "$work/dbkit.out")
dbkit_shapes=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['shapes_total'])" "$work/dbkit.out")

pgb_count() { # the query count and distinct normalized queries from pgBadger's JSON output
  python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(d['overall_stat']['queries_number'], len(d['normalyzed_info'].get('postgres', {})))
PY
}
measure pgbadger1 pgbadger -j 1 -f stderr --prefix '%m [%p] %q%u@%d ' -x json -o "$work/pgb1.json" "$log"
read -r pgb_queries pgb_shapes < <(pgb_count "$work/pgb1.json")
measure pgbadger2 pgbadger -j 2 -f stderr --prefix '%m [%p] %q%u@%d ' -x json -o "$work/pgb2.json" "$log"

rate() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / max(float(sys.argv[2]), 1e-9)))" "$mb" "$1"; }
d_s=$(cat "$work/dbkit.s"); p1_s=$(cat "$work/pgbadger1.s"); p2_s=$(cat "$work/pgbadger2.s")
s_s=$(cat "$work/summary.s"); n_s=$(cat "$work/nplus.s")
d_rate=$(rate "$d_s"); p1_rate=$(rate "$p1_s"); p2_rate=$(rate "$p2_s"); s_rate=$(rate "$s_s"); n_rate=$(rate "$n_s")
printf '\nlog: %s (%.0f MB), %s cores\n\n' "$log" "$mb" "$(nproc)"
printf '%-22s %10s %10s %12s %10s %12s\n' tool seconds MB/s queries shapes "peak MB"
printf '%-22s %10s %10s %12s %10s %12s\n' "dbkit workload top" "$d_s" "$d_rate" "$dbkit_queries" "$dbkit_shapes" "$(( $(cat "$work/dbkit.kb") / 1024 ))"
printf '%-22s %10s %10s %12s %10s %12s\n' "dbkit workload summary" "$s_s" "$s_rate" "$summary_queries" "$dbkit_shapes" "$(( $(cat "$work/summary.kb") / 1024 ))"
printf '%-22s %10s %10s %12s %10s %12s\n' "dbkit n-plus-one" "$n_s" "$n_rate" "" "" "$(( $(cat "$work/nplus.kb") / 1024 ))"
printf '%-22s %10s %10s %12s %10s %12s\n' "pgbadger -j 1" "$p1_s" "$p1_rate" "$pgb_queries" "$pgb_shapes" "$(( $(cat "$work/pgbadger1.kb") / 1024 ))"
printf '%-22s %10s %10s %12s %10s %12s\n' "pgbadger -j 2" "$p2_s" "$p2_rate" "" "" "$(( $(cat "$work/pgbadger2.kb") / 1024 ))"
python3 -c "import sys; print('\nspeed-up vs pgbadger -j 1: top %.0fx, summary %.0fx (target: 100x); same query count: %s' % (float(sys.argv[1]) / float(sys.argv[2]), float(sys.argv[1]) / float(sys.argv[5]), sys.argv[3] == sys.argv[4] == sys.argv[6]))" "$p1_s" "$d_s" "$dbkit_queries" "$pgb_queries" "$s_s" "$summary_queries"
