#!/usr/bin/env bash
# Two Switchyard processes on one PostgreSQL database, each under load from
# its own wrk (warm roles/list, 16 keep-alive clients); process two is killed
# (SIGKILL) at 5 s and started again at 8 s. Reports each process's requests
# per second and errors over the run.
#
#   bench/failover.sh [seconds]
set -euo pipefail
secs="${1:-15}"
source "$(dirname "$0")/lib.sh"
bench_pg_create
bench_serve 18191 "$pg_url"
bench_serve 18192 "$pg_url"
two=$server
path="/api/json/roles/list?auth_username=admin;auth_password=$pw"
wrk -t1 -c16 -d"${secs}s" "http://127.0.0.1:18191$path" >"$work/one.txt" &
w1=$!
wrk -t1 -c16 -d"${secs}s" "http://127.0.0.1:18192$path" >"$work/two.txt" &
w2=$!
sleep 5
kill -9 "$two"
killed=$(date +%s.%N)
sleep 3
bench_serve 18192 "$pg_url"
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
