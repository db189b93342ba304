#!/usr/bin/env bash
# codes/create over HTTP (keep-alive, one authenticated person, unique codes)
# at 32 and 64 clients, against pgbench inserting single rows into the same
# codes table at the same concurrency, in the same run.
#
#   bench/codes.sh [sqlite|postgres] [seconds]
#   BENCH_BIN=/path/to/other/switchyard bench/codes.sh ...   (another build, for an A/B)
set -euo pipefail
backend="${1:-postgres}"
secs="${2:-10}"
port=18182
source "$(dirname "$0")/lib.sh"

# pgbench's table lives in a PostgreSQL database migrated by Switchyard itself,
# so that it has exactly the server's columns, key and indexes.
bench_pg_create
"$bin" migrate --database-url "$pg_url" >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; exit 1; }
if [ "$backend" = postgres ]; then url="$pg_url"; else url="sqlite://$work/bench.db"; fi
bench_serve "$port" "$url"

cat >"$work/create.lua" <<LUA
local threads = 0
function setup(thread) thread:set("base", (threads + 1) * 100000000); threads = threads + 1 end
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", "/api/json/codes/create?auth_username=admin;auth_password=$pw;code=" .. (base + n) .. ";dtype=phone;dnumber=1234567")
end
function done(summary, latency, requests)
  io.write(string.format("wrk: %.0f rps, p50 %.2f ms, p99 %.2f ms, errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
LUA

psql -q -h 127.0.0.1 -U postgres -d "$pg_db" -c "CREATE SEQUENCE bench_codes START 1"
cat >"$work/insert.sql" <<'SQL'
INSERT INTO codes (customer, code, dtype, dnumber, description, direct, fax_detect, fax_dtype, fax_dnumber, language,
  maximum_seconds, music, owner, panel, password, play_message, recordgroup, ringtone, routing, screen, shared, sname,
  sname_action, text_dtype, text_dnumber, update_routing, created)
VALUES (2, nextval('bench_codes')::text, 'phone', '1234567', '', 0, 0, '', '', '', -1, 0, 0, 0, '', 0, 0, '', '', 0, 0, '',
  'replace', 'none', '', 0, 1795000000);
SQL

pgbench_run() {
  local clients=$1
  (cd "$work" && rm -f pgbench_log.* && pgbench -n -h 127.0.0.1 -U postgres -c "$clients" -j 2 -T "$secs" -l -f insert.sql "$pg_db" >pgbench.txt 2>&1)
  local tps
  tps=$(awk '/^tps/ {print $3; exit}' "$work/pgbench.txt")
  # Per-transaction latency (microseconds) is the third column of pgbench's log.
  cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n >"$work/lat.txt"
  local count p50 p99
  count=$(wc -l <"$work/lat.txt")
  p50=$(awk -v n="$count" 'NR == int(n * 0.50) + 1 {printf "%.2f", $1 / 1000; exit}' "$work/lat.txt")
  p99=$(awk -v n="$count" 'NR == int(n * 0.99) + 1 {printf "%.2f", $1 / 1000; exit}' "$work/lat.txt")
  printf "pgbench: %.0f tps, p50 %s ms, p99 %s ms\n" "$tps" "$p50" "$p99"
}

echo "backend=$backend duration=${secs}s per run"
for clients in 32 64; do
  http=$(wrk -t2 -c"$clients" -d"${secs}s" -s "$work/create.lua" "http://127.0.0.1:$port/" | grep '^wrk:')
  base=$(pgbench_run "$clients")
  ratio=$(awk -v a="$(echo "$http" | awk '{print $2}')" -v b="$(echo "$base" | awk '{print $2}')" 'BEGIN {printf "%.2f", a / b}')
  echo "clients=$clients  switchyard $http"
  echo "clients=$clients  $base"
  echo "clients=$clients  ratio switchyard/pgbench: $ratio"
done
if [ "$backend" = postgres ]; then
  created=$(psql -qtA -h 127.0.0.1 -U postgres -d "$pg_db" -c "SELECT COUNT(*) FROM codes WHERE customer = 1")
else
  created=$(sqlite3 "$work/bench.db" "SELECT COUNT(*) FROM codes")
fi
echo "codes created through the API: $created"
# Group commit: how many creates each trip to the database wrote, on average.
metrics=$(curl -s "http://127.0.0.1:$port/metrics")
awk '/^switchyard_codes_created_total / {c = $2} /^switchyard_code_batches_total / {b = $2}
  END {if (b > 0) printf "creates per trip to the database: %.1f (%d creates, %d trips)\n", c / b, c, b}' <<<"$metrics"
