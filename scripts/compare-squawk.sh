#!/usr/bin/env bash
# dbkit and squawk on the migration corpus (fixtures/migrations/corpus): for each file, the
# verdict its `-- expect:` line records for dbkit (tests/check_corpus.rs holds dbkit to it) and
# whether squawk reports anything beyond its style rules. A dangerous file squawk is silent on is
# a miss; a safe file it flags is a false alarm.
#   usage: scripts/compare-squawk.sh [-v]   (needs squawk: pip install squawk-cli)
set -euo pipefail
cd "$(dirname "$0")/../fixtures/migrations/corpus"
command -v squawk >/dev/null || { echo "squawk is required (pip install squawk-cli)" >&2; exit 1; }
# Style and robustness rules: not a verdict on danger.
style='prefer-robust-stmts|require-statement-timeout|prefer-text-field|prefer-bigint-over-int|prefer-bigint-over-smallint|prefer-big-int|prefer-identity|prefer-timestamptz|ban-char-field|prefer-timestamp-tz'
# dbkit's style rules likewise: files that expect only these are left out of the count.
dbkit_style='prefer-jsonb|prefer-timestamptz|prefer-bigint-key|prefer-identity|ban-char-field|unused-ignore'
danger=0; safe=0; missed=0; alarms=0
for f in [0-9]*.sql; do
  expect=$(sed -n '1s/^-- expect: //p' "$f")
  if [ "$expect" != nothing ] && ! tr ',' '\n' <<<"$expect" | tr -d ' ' | grep -qvE "^($dbkit_style)$"; then
    continue
  fi
  flagged=$(squawk --reporter gcc "$f" 2>/dev/null | awk '{print $3}' | grep -vE "^($style)$" | sort -u | tr '\n' ' ' || true)
  if [ "$expect" = nothing ]; then
    safe=$((safe + 1))
    if [ -n "$flagged" ]; then alarms=$((alarms + 1)); [ "${1:-}" = -v ] && echo "false alarm: $f: $flagged"; fi
  else
    danger=$((danger + 1))
    if [ -z "$flagged" ]; then missed=$((missed + 1)); [ "${1:-}" = -v ] && echo "missed: $f (dbkit: $expect)"; fi
  fi
done
printf '%s on %d corpus files (%d dangerous, %d safe; style-only files left out)\n' "$(squawk --version)" $((danger + safe)) "$danger" "$safe"
printf 'squawk: %d dangerous files missed, %d safe files flagged (%d%% agree with dbkit)\n' \
  "$missed" "$alarms" $(( 100 * (danger + safe - missed - alarms) / (danger + safe) ))
printf 'dbkit:  0 missed, 0 flagged (tests/check_corpus.rs)\n'
