#!/usr/bin/env bash
# Regenerate fixtures/logs/real/: the same small workload logged by a real PostgreSQL under each
# log_line_prefix and log_timezone people run with (distributions, managed services, operators),
# in csvlog and jsonlog, and wrapped the way syslog, Heroku, Cloud Logging, Azure and
# CloudNativePG deliver those lines (scripts/wrap-logs.py, written from their documentation).
# The counts every fixture must give are in fixtures/logs/real/expected.tsv (checked by
# tests/workload_formats.rs; pgBadger agrees on them, see scripts/wrap-logs.py --check).
#   usage: scripts/capture-logs.sh   (DBKIT=path/to/dbkit to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=fixtures/logs/real
mkdir -p "$out"
. scripts/lib/scratch.sh
scratch_start \
  --set logging_collector=on --set log_destination=stderr,csvlog,jsonlog \
  --set log_directory=log --set log_filename=pg.log \
  --set log_min_duration_statement=0 --set log_min_messages=info \
  --set log_connections=on --set log_disconnections=on --set log_lock_waits=on \
  --set log_temp_files=0 --set log_checkpoints=on --set deadlock_timeout=100ms \
  --set compute_query_id=on
logdir="$(jq -r .data_dir "$work/scratch.json")/log"
psql -X -q -v ON_ERROR_STOP=1 "$url" <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);
INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 100) g;
SQL
printf '\\set id random(1, 100)\nSELECT name FROM items WHERE id = :id;\n' >"$work/bench.sql"

# The workload: 26 statements that run (with durations), 2 that fail, 1 temporary file, 1 lock
# wait, 1 checkpoint; 5 of the statements through the extended protocol with parameters.
workload() {
  psql -X -q "$url" >/dev/null 2>&1 <<'SQL'
SELECT id, name FROM items WHERE id = 1;
SELECT id, name FROM items WHERE id = 2;
SELECT id, name FROM items WHERE id = -3;
SELECT name,
       price
  FROM items
 WHERE price > 10
 ORDER BY price DESC
 LIMIT 5;
SELECT 1/0;
SET work_mem TO '64kB';
SELECT count(*) FROM (SELECT g FROM generate_series(1, 20000) g ORDER BY g DESC) s;
SET work_mem = '4MB';
INSERT INTO items VALUES (1, 'dup', 1);
UPDATE items SET price = price + 1 WHERE id = 7;
SELECT 'it''s a "quoted" */ text', E'line\nbreak', 'ünïcødé';
CHECKPOINT;
SQL
  PGOPTIONS='-c application_name=bench' pgbench -n -M extended -t 5 -f "$work/bench.sql" "$url" >/dev/null
  psql -X -q "$url" >/dev/null <<'SQL' &
BEGIN;
LOCK TABLE items IN ACCESS EXCLUSIVE MODE;
SELECT pg_sleep(0.6);
COMMIT;
SQL
  local locker=$!
  sleep 0.3
  psql -X -q "$url" -c 'UPDATE items SET price = 0 WHERE id = 9' >/dev/null
  wait "$locker"
  sleep 0.5
}

# capture NAME PREFIX ZONE: the workload's lines in each destination, as NAME.log (and, for the
# first capture, csvlog.csv and jsonlog.json).
capture() {
  local name=$1 prefix=$2 zone=$3
  psql -X -q -v ON_ERROR_STOP=1 -v p="$prefix" -v z="$zone" "$url" >/dev/null <<'SQL'
ALTER SYSTEM SET log_line_prefix = :'p';
ALTER SYSTEM SET log_timezone = :'z';
SELECT pg_reload_conf();
SQL
  sleep 0.5
  local s c j
  s=$(stat -c %s "$logdir/pg.log")
  c=$(stat -c %s "$logdir/pg.csv")
  j=$(stat -c %s "$logdir/pg.json")
  workload
  tail -c +"$((s + 1))" "$logdir/pg.log" >"$out/$name.log"
  if [ "$name" = debian ]; then
    tail -c +"$((c + 1))" "$logdir/pg.csv" >"$out/csvlog.csv"
    tail -c +"$((j + 1))" "$logdir/pg.json" >"$out/jsonlog.json"
  fi
}

capture debian '%m [%p] %q%u@%d ' UTC
capture default '%m [%p] ' Europe/Paris
capture rds '%t:%r:%u@%d:[%p]:' UTC
capture cloudsql '%m [%p]: [%l-1] db=%d,user=%u ' UTC
capture azure '%t-%c-' UTC
capture pgbadger '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ' America/New_York
capture patroni '%t [%p]: [%l-1] %c %x %d %u %a %h ' Europe/Istanbul
capture epoch '%n [%p] ' America/Caracas
capture escapes '%m|%p|%Q|%h|%r|%a|%c|%l|%v|%x|%b|%e|%u@%d: ' '<-0530>+05:30'
# Sources of the wrapped forms: what syslog and Heroku carry after their own time and pid.
capture syslog-src '%m [%p] user=%u,db=%d,app=%a,client=%h ' UTC
capture heroku-src '%m [%p] sql_error_code = %e ' UTC
python3 scripts/wrap-logs.py "$out"
rm -f "$out/syslog-src.log" "$out/heroku-src.log"
ls -l "$out"
