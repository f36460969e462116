#!/usr/bin/env bash
# Run one cargo-fuzz target: scripts/fuzz.sh TARGET [SECONDS] [RUNS]
# The corpus (fuzz/corpus/TARGET, not in git) is seeded from fixtures/ and fuzz/seeds/; crashes
# land in fuzz/artifacts/TARGET. A run stops at SECONDS (default 20) or RUNS executions (default
# unlimited), whichever comes first; any crash, timeout over 1 s or RSS over 2 GB fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS] [RUNS]}
seconds=${2:-20}
runs=${3:--1}

corpus=fuzz/corpus/$target
mkdir -p "$corpus"
seed() { for f in "$@"; do [ -f "$f" ] && cp -f "$f" "$corpus/seed-$(basename "$f")"; done; return 0; }
case "$target" in
  sql_*|migration_check|schema_table)
    seed fixtures/*/*.sql fixtures/migrations/*/*.sql fixtures/migrations/corpus/*/*.sql ;;
  plan_json)
    seed fixtures/plans/*.json fixtures/plans/formats/*.json ;;
  plan_text)
    seed fixtures/plans/*.txt fixtures/plans/formats/*.txt fixtures/plans/formats/*.log ;;
  plan_yaml)
    seed fixtures/plans/formats/*.yaml ;;
  plan_xml)
    seed fixtures/plans/formats/*.xml ;;
  shard_map)
    seed fixtures/shardmaps/* ;;
  routing_map)
    seed fixtures/routing/*.toml ;;
  config_toml)
    seed fixtures/plans/*.toml ;;
esac
[ -d "fuzz/seeds/$target" ] && seed fuzz/seeds/"$target"/*

cd fuzz
exec cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
  -max_total_time="$seconds" -runs="$runs" -timeout=1 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1
