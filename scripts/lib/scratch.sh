# Shared by the capture scripts (sourced, from the project root): the dbkit binary, a work dir,
# and a scratch cluster started in the background and stopped on exit.
#   dbkit            DBKIT, or a release build
#   work             a temp dir, deleted on exit
#   scratch_start ARGS...   `dbkit scratch start ARGS --format json`; sets url and the path of
#                           its JSON report ($work/scratch.json)
dbkit=${DBKIT:-}
if [ -z "$dbkit" ]; then
  cargo build --release --quiet
  dbkit=./target/release/dbkit
fi
work=$(mktemp -d)
chmod 755 "$work"
pid=
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

scratch_start() {
  "$dbkit" scratch start --format json "$@" >"$work/scratch.json" &
  pid=$!
  url=
  for _ in $(seq 1 300); do
    url=$(jq -r '.url // empty' "$work/scratch.json" 2>/dev/null || true)
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "scratch cluster did not start" >&2
  exit 1
}
