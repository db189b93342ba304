#!/usr/bin/env bash
# numbers/system/list of 1,000,000 numbers over HTTP against the database's
# own export of the same rows in the same order, in the same run:
# PostgreSQL: psql's \copy (SELECT ... ORDER BY number) TO; SQLite: the
# sqlite3 shell writing the rows as JSON (.mode json). Several runs each;
# reports medians, their ratio and the server's resident memory before and
# at its peak while listing.
#
#   bench/lists.sh [postgres|sqlite] [runs]
set -euo pipefail
backend="${1:-postgres}"
runs="${2:-3}"
port=18186
source "$(dirname "$0")/lib.sh"

bench_serve_inventory "$port" "$backend"
curl -sf "$api/numbers/system/create?$auth;start=2120000000;end=2120999999;class=1;ingroup=1" | grep -q '"count":1000000'

columns="number, class, ingroup, customer, region, alias, stype, batch, created, shortcut"
rss_mb() { awk -v k="$1" '$1 == k":" {printf "%.0f\n", $2 / 1024}' "/proc/$server/status"; }

baseline() {
  if [ "$backend" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -d "$pg_db" -c "\\copy (SELECT $columns FROM numbers ORDER BY number) TO STDOUT" | wc -c
  else
    sqlite3 -json "$work/server.db" "SELECT $columns FROM numbers ORDER BY number" | wc -c
  fi
}

echo 5 >"/proc/$server/clear_refs"
before=$(rss_mb VmRSS)
: >"$work/api.txt"; : >"$work/base.txt"
for run in $(seq 1 "$runs"); do
  t0=$(seconds); api_bytes=$(curl -s "$api/numbers/system/list?$auth" | wc -c); t1=$(seconds)
  echo "$t1 - $t0" | bc >>"$work/api.txt"
  t0=$(seconds); base_bytes=$(baseline); t1=$(seconds)
  echo "$t1 - $t0" | bc >>"$work/base.txt"
  echo "run $run: list $(tail -n 1 "$work/api.txt") s ($api_bytes bytes), baseline $(tail -n 1 "$work/base.txt") s ($base_bytes bytes)"
done
api_median=$(median <"$work/api.txt")
base_median=$(median <"$work/base.txt")
echo "backend=$backend runs=$runs rows=1000000"
echo "numbers/system/list median: ${api_median} s (runs $(spread <"$work/api.txt"))"
echo "baseline export median:     ${base_median} s (runs $(spread <"$work/base.txt"))"
echo "ratio: $(echo "scale=2; $api_median / $base_median" | bc)"
echo "server RSS before listing: ${before} MB, peak while listing: $(rss_mb VmHWM) MB"
