#!/usr/bin/env bash
# Authenticated requests per second on a cheap call (roles/list), 32 keep-alive
# clients: cold (every request a different person, so argon2 runs every time)
# against warm (one person, served from the credential cache). Both in the
# same run, so their ratio holds on a noisy machine.
#
#   bench/auth.sh [sqlite|postgres] [seconds]
set -euo pipefail
backend="${1:-sqlite}"
secs="${2:-10}"
port=18181
people=200000
source "$(dirname "$0")/lib.sh"

if [ "$backend" = postgres ]; then
  bench_pg_create
  url="$pg_url"
  series="generate_series(1, $people) AS s(n)"
  sql() { psql -q -h 127.0.0.1 -U postgres -d "$pg_db" -c "$1"; }
else
  url="sqlite://$work/bench.db"
  series="(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $people) SELECT n FROM s)"
  sql() { sqlite3 "$work/bench.db" "$1"; }
fi
# Logged at info: the log is where answers other than 2xx are counted.
bench_serve "$port" "$url" SWITCHYARD_LOG__LEVEL=info SWITCHYARD_AUTH__MAX_FAILURES=1000000 SWITCHYARD_AUTH__MAX_FAILURES_PER_IP=1000000

# People u1..uN share the administrator's hash: each check still runs argon2 in full.
sql "INSERT INTO people (customer, username, password_hash, role, email, forename, surname, created)
     SELECT 1, 'u' || n, (SELECT password_hash FROM people WHERE id = 1), 4, '', '', '', 0 FROM $series"

cat >"$work/cold.lua" <<LUA
local threads = 0
function setup(thread) thread:set("base", threads * 100000); threads = threads + 1 end
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", "/api/json/roles/list?auth_username=u" .. (base + n) .. ";auth_password=$pw")
end
LUA

run() { wrk -t2 -c32 -d"${secs}s" --latency "$@"; }
summary() {
  awk '/Requests\/sec/ {rps=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} END {printf "%s rps, p50 %s, p99 %s", rps, p50, p99}' "$1"
}

run -s "$work/cold.lua" "http://127.0.0.1:$port/" >"$work/cold.txt"
run "http://127.0.0.1:$port/api/json/roles/list?auth_username=admin;auth_password=$pw" >"$work/warm.txt"

cold_rps=$(awk '/Requests\/sec/ {print $2}' "$work/cold.txt")
warm_rps=$(awk '/Requests\/sec/ {print $2}' "$work/warm.txt")
not_ok=$(grep -c 'code=[^2]' "$work/server-$port.log" || true)
echo "backend=$backend clients=32 duration=${secs}s each"
echo "cold (argon2 every request): $(summary "$work/cold.txt")"
echo "warm (credential cache):     $(summary "$work/warm.txt")"
echo "warm/cold ratio: $(awk -v w="$warm_rps" -v c="$cold_rps" 'BEGIN {printf "%.1f", w / c}')"
echo "answers other than 2xx in the server log: $not_ok"
