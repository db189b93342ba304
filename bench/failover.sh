#!/usr/bin/env bash
# Two Switchyard processes on one PostgreSQL database, each under load from
# its own wrk (warm roles/list, 16 keep-alive clients); process two is killed
# (SIGKILL) at 5 s and started again at 8 s. Reports each process's requests
# per second and errors over the run.
#
#   bench/failover.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
pw="bench-Password-1"
cargo build --release -q
work="$(mktemp -d)"
pg_db="switchyard_bench_$$"
cleanup() {
  kill "${one:-}" "${two:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" || true
  [ -n "${KEEP:-}" ] && cp "$work"/*.txt /tmp/ 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $pg_db"
url="postgres://postgres@127.0.0.1:5432/$pg_db"
serve() {
  SWITCHYARD_ADMIN_PASSWORD="$pw" SWITCHYARD_LOG__LEVEL=warn \
    target/release/switchyard serve --listen "127.0.0.1:$1" --database-url "$url" >>"$work/server-$1.log" 2>&1 &
  echo $!
}
ready() { for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.05; done; }
one=$(serve 18191); ready 18191
two=$(serve 18192); ready 18192
path="/api/json/roles/list?auth_username=admin;auth_password=$pw"
wrk -t1 -c16 -d"${secs}s" "http://127.0.0.1:18191$path" >"$work/one.txt" &
w1=$!
wrk -t1 -c16 -d"${secs}s" "http://127.0.0.1:18192$path" >"$work/two.txt" &
w2=$!
sleep 5
kill -9 "$two"
killed=$(date +%s.%N)
sleep 3
two=$(serve 18192); ready 18192
back=$(date +%s.%N)
wait "$w1" "$w2"
report() {
  local rps errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$1")
  errors=$(awk '/Socket errors/ {gsub(",", ""); s = $4 + $6 + $8 + $10} /Non-2xx/ {n = $5} END {print s + n}' "$1")
  echo "$2: ${rps} rps, ${errors} errors (socket errors and non-2xx)"
}
echo "two processes, one PostgreSQL, ${secs}s; process two killed at 5 s, serving again $(echo "$back - $killed" | bc) s later"
report "$work/one.txt" "process one (untouched)"
report "$work/two.txt" "process two (killed and restarted)"
