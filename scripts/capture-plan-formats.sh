#!/usr/bin/env bash
# Regenerate fixtures/plans/formats/: the plans of queries.tsv in every form people paste them.
# A scratch cluster is loaded with setup.sql; each plan is run once in the text format and once in
# JSON (EXPLAIN ANALYZE inside a subtransaction that is rolled back, lines kept in a table), and
# real psql prints those same rows in every setting (aligned, unicode, borders 0 and 2,
# unaligned, expanded, wrapped at the terminal's width). YAML, XML and auto_explain (text and
# JSON, from the server log) are runs of their own. GUI copies are made from psql's output the way those tools write them: every
# line in double quotes (pgAdmin), a trailing `|` (DBeaver), lines hard-wrapped at 80 columns (a
# terminal), a psql session transcript.
#   usage: scripts/capture-plan-formats.sh [NAME…]   (only the named plans of queries.tsv; all by
#          default. DBKIT=path/to/dbkit to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=fixtures/plans/formats
. scripts/lib/scratch.sh
scratch_start --schema "$out/setup.sql"
log="$(dirname "$(jq -r .data_dir "$work/scratch.json")")/postgres.log"

only=" $* "
while IFS=$'\t' read -r name settings sql; do
  case "$name" in ''|'#'*) continue ;; esac
  [ $# -eq 0 ] || [[ "$only" == *" $name "* ]] || continue
  rm -f "$out/$name".*.txt "$out/$name".*.log "$out/$name".json "$out/$name".yaml "$out/$name".xml
  opts=
  [ "$settings" != "-" ] && opts=$(printf -- '-c %s ' ${settings//,/ })
  q() { PGOPTIONS="$opts" psql -X -q -v ON_ERROR_STOP=1 -v name="$name" -v sql="$sql" "$url" "$@"; }
  for f in text json yaml xml; do
    case $f in text) o='ANALYZE, BUFFERS' ;; *) o="ANALYZE, BUFFERS, FORMAT ${f^^}" ;; esac
    q -v fmt="$f" -v opts="$o" <<'SQL'
INSERT INTO captured SELECT :'name', :'fmt', ord, line FROM capture(:'sql', :'opts') WITH ORDINALITY AS c(line, ord);
SQL
  done
  show() { # fmt, psql options…
    local f=$1
    shift
    q "$@" -v fmt="$f" <<'SQL'
SELECT line AS "QUERY PLAN" FROM captured WHERE name = :'name' AND fmt = :'fmt' ORDER BY ord;
SQL
  }
  # The text format as psql prints it in every setting.
  show text >"$out/$name.text.txt"
  show text -P linestyle=unicode >"$out/$name.text-unicode.txt"
  show text -P border=0 >"$out/$name.text-border0.txt"
  show text -P border=2 >"$out/$name.text-border2.txt"
  show text -P border=2 -P linestyle=unicode >"$out/$name.text-border2-unicode.txt"
  show text -A >"$out/$name.text-unaligned.txt"
  show text -x >"$out/$name.text-expanded.txt"
  show text -x -P linestyle=unicode >"$out/$name.text-expanded-unicode.txt"
  show text -x -P border=0 >"$out/$name.text-expanded-border0.txt"
  show text -x -P border=2 >"$out/$name.text-expanded-border2.txt"
  # psql's wrapped format: cells cut at the terminal's width, the cuts marked.
  show text -P format=wrapped -P columns=60 >"$out/$name.text-psql-wrapped.txt"
  show text -P format=wrapped -P columns=60 -P border=0 >"$out/$name.text-psql-wrapped-border0.txt"
  show text -P format=wrapped -P columns=60 -P border=2 -P linestyle=unicode >"$out/$name.text-psql-wrapped-border2-unicode.txt"
  show text -x -P format=wrapped -P columns=60 >"$out/$name.text-psql-wrapped-expanded.txt"
  # GUI copies and terminals, from the same rows.
  { echo '"QUERY PLAN"'; show text -At | sed 's/"/""/g; s/.*/"&"/'; } >"$out/$name.text-pgadmin.txt"
  show text -At | awk '{ l[NR] = $0; if (length($0) > w) w = length($0) }
    END { printf "%-*s|\n", w, "QUERY PLAN"; s = ""; for (i = 0; i < w; i++) s = s "-"; print s "|";
          for (i = 1; i <= NR; i++) printf "%-*s|\n", w, l[i] }' >"$out/$name.text-dbeaver.txt"
  fold -w 80 "$out/$name.text.txt" >"$out/$name.text-wrapped.txt"
  { echo "shop=# EXPLAIN (ANALYZE, BUFFERS) $sql;"; cat "$out/$name.text.txt"; echo; echo "shop=# "; } >"$out/$name.text-transcript.txt"
  # JSON, bare and as psql prints it.
  show json -At >"$out/$name.json"
  show json >"$out/$name.json-aligned.txt"
  show json -P linestyle=unicode >"$out/$name.json-unicode.txt"
  show json -P border=2 -P linestyle=unicode >"$out/$name.json-border2-unicode.txt"
  show json -A >"$out/$name.json-unaligned.txt"
  show json -x >"$out/$name.json-expanded.txt"
  show json -x -P border=0 >"$out/$name.json-expanded-border0.txt"
  show json -P format=wrapped -P columns=40 >"$out/$name.json-psql-wrapped.txt"
  show json -x -P format=wrapped -P columns=40 -P border=0 >"$out/$name.json-psql-wrapped-expanded-border0.txt"
  show yaml -At >"$out/$name.yaml"
  show xml -At >"$out/$name.xml"
  # auto_explain, straight from the server log (its prefix included).
  for f in text json; do
    before=$(stat -c %s "$log")
    q -v fmt="$f" >/dev/null <<'SQL'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_triggers = on;
SET auto_explain.log_format = :'fmt';
BEGIN;
:sql;
ROLLBACK;
SQL
    sleep 0.2
    tail -c +"$((before + 1))" "$log" >"$out/$name.auto-explain-$f.log"
  done
  echo "captured $name"
done <"$out/queries.tsv"
