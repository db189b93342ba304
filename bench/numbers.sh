#!/usr/bin/env bash
# numbers/system/create of 1,000,000 numbers against the database's own bulk
# load of the same rows into a table with the same columns and indexes
# (PostgreSQL: psql's \copy; SQLite: the sqlite3 shell's .import), several
# runs each in the same session; then listing the million through
# numbers/system/list. Reports medians, their ratio and the server's peak RSS.
#
#   bench/numbers.sh [postgres|sqlite] [runs]
set -euo pipefail
backend="${1:-postgres}"
runs="${2:-5}"
port=18184
start=2120000000
end=2120999999
source "$(dirname "$0")/lib.sh"

bench_serve_inventory "$port" "$backend"

# The same rows the call writes, for the baseline's bulk load.
now=$(date +%s)
seq "$start" "$end" | awk -v now="$now" '{print $1 "\t1\t1\t0\t0\t\tnumber\t1\t" now}' >"$work/rows.tsv"

peak_reset() { echo 5 >"/proc/$server/clear_refs"; }
peak_mb() { awk '/VmHWM/ {printf "%.0f\n", $2 / 1024}' "/proc/$server/status"; }

if [ "$backend" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -d "$pg_db" -c "CREATE TABLE copy_target (LIKE numbers INCLUDING ALL)"
  reset_server() { psql -q -h 127.0.0.1 -U postgres -d "$pg_db" -c "TRUNCATE numbers"; }
  baseline() {
    psql -q -h 127.0.0.1 -U postgres -d "$pg_db" -c "TRUNCATE copy_target"
    local t0 t1
    t0=$(seconds)
    psql -q -h 127.0.0.1 -U postgres -d "$pg_db" \
      -c "\\copy copy_target (number, class, ingroup, customer, region, alias, stype, batch, created) FROM '$work/rows.tsv'"
    t1=$(seconds)
    echo "$t1 - $t0" | bc
  }
else
  sqlite3 "$work/server.db" ".schema numbers" | sed 's/CREATE TABLE numbers/CREATE TABLE copy_target/; s/ON numbers/ON copy_target/; s/numbers_batch/copy_batch/; s/numbers_assigned/copy_assigned/' >"$work/schema.sql"
  reset_server() { sqlite3 "$work/server.db" ".timeout 60000" "DELETE FROM numbers" >/dev/null; }
  baseline() {
    rm -f "$work/copy.db"*
    sqlite3 "$work/copy.db" "PRAGMA journal_mode=WAL" "PRAGMA synchronous=NORMAL" ".read $work/schema.sql" >/dev/null
    local t0 t1
    t0=$(seconds)
    sqlite3 "$work/copy.db" "PRAGMA synchronous=NORMAL" ".mode tabs" ".import $work/rows.tsv copy_target"
    t1=$(seconds)
    echo "$t1 - $t0" | bc
  }
fi

: >"$work/api.txt"; : >"$work/base.txt"; : >"$work/peak.txt"
for run in $(seq 1 "$runs"); do
  reset_server
  peak_reset
  answer=$(curl -s -w '\n%{time_total}' "$api/numbers/system/create?$auth;start=$start;end=$end;class=1;ingroup=1")
  echo "$answer" | tail -n 1 >>"$work/api.txt"
  echo "$answer" | head -n 1 | grep -q '"count":1000000' || { echo "run $run failed: $answer" >&2; exit 1; }
  peak_mb >>"$work/peak.txt"
  baseline >>"$work/base.txt"
  echo "run $run: api $(tail -n 1 "$work/api.txt") s, baseline $(tail -n 1 "$work/base.txt") s, peak RSS $(tail -n 1 "$work/peak.txt") MB"
done
api_median=$(median <"$work/api.txt")
base_median=$(median <"$work/base.txt")
echo "backend=$backend runs=$runs numbers=1000000"
echo "numbers/system/create median: ${api_median} s"
echo "baseline bulk load median:    ${base_median} s"
echo "ratio: $(echo "scale=2; $api_median / $base_median" | bc)"
echo "server peak RSS during create (max of runs): $(sort -n "$work/peak.txt" | tail -n 1) MB"

peak_reset
t0=$(seconds)
bytes=$(curl -s "$api/numbers/system/list?$auth" | wc -c)
t1=$(seconds)
elapsed=$(echo "$t1 - $t0" | bc)
echo "numbers/system/list of 1000000 rows: ${elapsed} s, $(echo "1000000 / $elapsed" | bc) rows/s, ${bytes} bytes, peak RSS $(peak_mb) MB"
