#!/usr/bin/env bash
# Regenerate fixtures/plans/ from a real PostgreSQL: a scratch cluster loaded with
# fixtures/plans/setup.sql, every case of fixtures/plans/cases.tsv explained with `dbkit explain
# --save`, plus text-format and psql-wrapped copies and a before/after pair for `plan diff`.
#   usage: scripts/capture-plans.sh            (needs the PostgreSQL server binaries and psql)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
dbkit=./target/release/dbkit
out=fixtures/plans
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$dbkit" scratch start --schema "$out/setup.sql" --format json >"$work/scratch.json" &
pid=$!
for _ in $(seq 1 200); do
  url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/scratch.json" 2>/dev/null || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "scratch cluster did not start" >&2; exit 1; }

with_settings() { # url settings -> url with ?options=-c k=v …
  local s=$1
  [ "$s" = "-" ] && { echo "$url"; return; }
  python3 - "$url" "$s" <<'PY'
import sys, urllib.parse
url, s = sys.argv[1], sys.argv[2]
opts = " ".join("-c " + kv for kv in s.split(","))
print(url + "?options=" + urllib.parse.quote(opts))
PY
}

while IFS=$'\t' read -r rule expect settings extra sql; do
  case "$rule" in ''|'#'*) continue ;; esac
  name=$rule; [ "$expect" = quiet ] && name="ok-$rule"
  u=$(with_settings "$settings")
  args=(); [ "$extra" != "-" ] && read -r -a args <<<"$extra"
  rm -rf "$work/save"
  "$dbkit" explain "$sql" --url "$u" --save "$work/save" --fail-on none --format json "${args[@]}" >/dev/null
  mv "$work/save"/*.json "$out/$name.json"
  echo "captured $out/$name.json"
done <"$out/cases.tsv"

# The text format and psql's wrapping of JSON, as people paste them.
PGOPTIONS='-c work_mem=64kB' psql -X "$url" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM big ORDER BY pad, id DESC" >"$out/text-sort-spill.txt"
PGOPTIONS='-c enable_hashjoin=off -c enable_mergejoin=off' psql -X "$url" -c "EXPLAIN (ANALYZE, BUFFERS, VERBOSE) SELECT count(*) FROM small s JOIN big b ON b.id = s.big_id" >"$out/text-nested-loop.txt"
psql -X "$url" -c "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM big WHERE b = 1000" >"$out/psql-json-seq-scan.txt"

# A plan before and after an index is dropped, for `dbkit plan diff`.
"$dbkit" explain "SELECT * FROM big WHERE a = 7" --url "$url" --save "$work/before" --format json --fail-on none >/dev/null
mv "$work/before"/*.json "$out/diff-before.json"
psql -X -q "$url" -c "DROP INDEX big_a"
"$dbkit" explain "SELECT * FROM big WHERE a = 7" --url "$url" --save "$work/after" --format json --fail-on none >/dev/null
mv "$work/after"/*.json "$out/diff-after.json"
echo "captured text, psql-wrapped and diff fixtures"
