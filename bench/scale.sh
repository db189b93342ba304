#!/usr/bin/env bash
# Issue #15's reads and writes at ten million numbers: loads 10,000,000
# numbers through the API's own numbers/system/create (ten ranges of up to a
# million, the way an operator would), then times each read RUNS times
# (median of curl's total time, a new connection each, credentials in the
# query) and a 1,000,000-number create into the loaded table, once into the
# middle of its key and once past its end, against the same create into an
# empty table on a second server, alternating, CREATE_RUNS times, each after
# a checkpoint and undone after; then the same create into the empty table
# without each secondary index in turn, to show what each costs. Prints one
# table of medians and ratios.
#
#   bench/scale.sh [sqlite|postgres|both]      RUNS=21 CREATE_RUNS=3 by default
#
# The key space is 4420 followed by 8 digits. Loaded: 442000000000 to
# 442010999999 except 442005xxxxxx, which the timed creates add in the middle
# of the key (the other timed create adds 442011xxxxxx, past its end); of
# 442009xxxxxx, 10,000 numbers are class 2 (the small class), 10,000 belong
# to customer S and 100 to customer H. PostgreSQL gets a
# VACUUM ANALYZE after the load (what autovacuum does soon after on its own);
# SQLite gets nothing (Switchyard runs no ANALYZE).
set -euo pipefail
which="${1:-both}"
runs="${RUNS:-21}"
create_runs="${CREATE_RUNS:-3}"
source "$(dirname "$0")/lib.sh"
pg_empty="${pg_db}_empty"
trap 'bench_cleanup; psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $pg_empty WITH (FORCE)" 2>/dev/null || true' EXIT

ms() { awk '{printf "%.2f", $1 * 1000}'; }

# call PORT CALL QUERY: the answer's body; fails unless its code is 200 or 204.
call() {
  local body
  body=$(curl -sS "http://127.0.0.1:$1/api/json/$2?$auth;$3")
  case "$body" in
    '{"responses":[{"code":"20'[04]'"'*) printf '%s' "$body" ;;
    *) echo "$2?$3 answered: ${body:0:300}" >&2; return 1 ;;
  esac
}
id_of() { sed -n 's/.*"data":{"id":\([0-9]*\)}.*/\1/p'; }

# timed PORT N CALL QUERY: the median of N calls, in ms (the first answer checked).
timed() {
  local port=$1 n=$2 call_name=$3 query=$4
  call "$port" "$call_name" "$query" >/dev/null
  for _ in $(seq 1 "$n"); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/api/json/$call_name?$auth;$query"
  done | median | ms
}

# setup PORT: the classes, inbound group and customers; sets $small_customer and $hundred.
setup() {
  call "$1" classes/create "name=Geographic" >/dev/null
  call "$1" classes/create "name=Small" >/dev/null
  call "$1" ingroups/create "name=Main" >/dev/null
  small_customer=$(call "$1" customers/create "name=S;email=s@example.com;plan=1" | id_of)
  hundred=$(call "$1" customers/create "name=H;email=h@example.com;plan=1" | id_of)
}

# create PORT START: seconds for numbers/system/create of the million from START.
create_million() {
  local out
  out=$(curl -sS -w '\n%{time_total}' "http://127.0.0.1:$1/api/json/numbers/system/create?$auth;start=$2;end=$(($2 + 999999));class=1;ingroup=1")
  echo "$out" | head -n 1 | grep -q '"count":1000000' || { echo "create failed: $out" >&2; return 1; }
  echo "$out" | tail -n 1
}

# undo PORT URL START: deletes a timed create's numbers again (and vacuums on PostgreSQL).
undo_million() {
  call "$1" numbers/system/delete "number=$3;end=$(($3 + 999999))" >/dev/null
  if [ "$backend" = postgres ]; then sql "$2" "VACUUM numbers" run; fi
}

# settle URL: writes out what earlier runs left in the write-ahead log, so
# that no timed create pays for a checkpoint of the one before it.
settle() {
  if [ "$backend" = postgres ]; then sql "$1" CHECKPOINT run; else sql "$1" "PRAGMA wal_checkpoint(TRUNCATE)" run >/dev/null; fi
}

# timed_create PORT URL START FILE: one settled create, its seconds appended to FILE, then undone.
timed_create() {
  settle "$2"
  create_million "$1" "$3" >>"$4"
  undo_million "$1" "$2" "$3"
}

# sql URL ARG definition|drop|run: an index's definition, dropping it, or running SQL.
sql() {
  local url=$1 arg=$2 what=$3
  if [ "$backend" = postgres ]; then
    local db=${url##*/}
    case "$what" in
      definition) psql -Atq -h 127.0.0.1 -U postgres -d "$db" -c "SELECT indexdef FROM pg_indexes WHERE indexname = '$arg'" ;;
      drop) psql -q -h 127.0.0.1 -U postgres -d "$db" -c "DROP INDEX $arg" ;;
      run) psql -q -h 127.0.0.1 -U postgres -d "$db" -c "$arg" ;;
    esac
  else
    local file=${url#sqlite://}
    case "$what" in
      definition) sqlite3 "$file" ".timeout 60000" "SELECT sql FROM sqlite_master WHERE name = '$arg'" ;;
      drop) sqlite3 "$file" ".timeout 60000" "DROP INDEX $arg" ;;
      run) sqlite3 "$file" ".timeout 60000" "$arg" ;;
    esac
  fi
}

declare -A result
rows=()
record() { result["$backend|$1"]=$2; if [[ ! " ${rows[*]} " == *" $1 "* ]]; then rows+=("$1"); fi; }
declare -A label

run_backend() {
  backend=$1
  local port=$2 empty_port=$(($2 + 1)) url empty_url
  if [ "$backend" = postgres ]; then
    bench_pg_create
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $pg_empty"
    url="$pg_url"
    empty_url="postgres://postgres@127.0.0.1:5432/$pg_empty"
  else
    url="sqlite://$work/scale.db"
    empty_url="sqlite://$work/empty.db"
  fi
  bench_serve "$empty_port" "$empty_url"
  setup "$empty_port"
  bench_serve "$port" "$url"
  setup "$port"

  local t0 t1 middle=442005000000 past_end=442011000000
  t0=$(date +%s.%N)
  for i in 0 1 2 3 4 6 7 8 10; do
    local first=$((442000000000 + i * 1000000))
    call "$port" numbers/system/create "start=$first;end=$((first + 999999));class=1;ingroup=1" >/dev/null
  done
  call "$port" numbers/system/create "start=442009000000;end=442009009999;class=2;ingroup=1" >/dev/null
  call "$port" numbers/system/create "start=442009010000;end=442009019999;class=1;ingroup=1;customer=$small_customer" >/dev/null
  call "$port" numbers/system/create "start=442009020000;end=442009020099;class=1;ingroup=1;customer=$hundred" >/dev/null
  call "$port" numbers/system/create "start=442009020100;end=442009999999;class=1;ingroup=1" >/dev/null
  t1=$(date +%s.%N)
  local loaded
  loaded=$(call "$port" numbers/system/list "count=1" | sed 's/.*"count":\([0-9]*\).*/\1/')
  [ "$loaded" = 10000000 ] || { echo "loaded $loaded numbers, not 10000000" >&2; exit 1; }
  record load "$(echo "$t1 - $t0" | bc | awk '{printf "%.1f s", $1}')"
  if [ "$backend" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -d "$pg_db" -c "VACUUM ANALYZE numbers"
    record size "$(psql -Atq -h 127.0.0.1 -U postgres -d "$pg_db" -c "SELECT pg_size_pretty(pg_total_relation_size('numbers'))")"
    record levels "$(psql -Atq -h 127.0.0.1 -U postgres -d "$pg_db" -c "CREATE EXTENSION IF NOT EXISTS pageinspect" \
      -c "SELECT (SELECT level + 1 FROM bt_metap('numbers_pkey')) || ' and ' || (SELECT level + 1 FROM bt_metap('numbers_class'))")"
  else
    record size "$(du -h "$work/scale.db" | cut -f1)"
    # dbstat's path of a page is /000/ per level below the root.
    record levels "$(sqlite3 "$work/scale.db" "SELECT group_concat((depth - 1) / 4 + 1, ' and ') FROM
      (SELECT max(length(path)) AS depth FROM dbstat WHERE name IN ('numbers', 'numbers_class') GROUP BY name ORDER BY name)")"
  fi
  echo "$backend: 10,000,000 numbers loaded in ${result[$backend|load]}" >&2

  record get "$(timed "$port" "$runs" numbers/system/get "number=442007654321") ms"
  record after "$(timed "$port" "$runs" numbers/system/list "after=442004999999;limit=100") ms"
  record offset "$(timed "$port" 5 numbers/system/list "offset=5000000;limit=100") ms"
  record prefix "$(timed "$port" "$runs" numbers/system/list "prefix=4420071234") ms"
  record prefix_page "$(timed "$port" "$runs" numbers/system/list "prefix=4420071;limit=100") ms"
  record prefix_count "$(timed "$port" "$runs" numbers/system/list "prefix=4420071;count=1") ms"
  record class_count "$(timed "$port" "$runs" numbers/system/list "class=2;count=1") ms"
  record customer_count "$(timed "$port" "$runs" numbers/system/list "customer=$small_customer;count=1") ms"
  record class_page "$(timed "$port" "$runs" numbers/system/list "class=2;after=442009005000;limit=100") ms"
  record held "$(timed "$port" "$runs" numbers/list "customer=$hundred") ms"
  record held_page "$(timed "$port" "$runs" numbers/list "customer=$small_customer;after=442009015000;limit=100") ms"
  record search "$(timed "$port" 3 numbers/system/list "search=7654321") ms"
  record search_count "$(timed "$port" 3 numbers/system/list "search=7654321;count=1") ms"

  : >"$work/create-empty.txt"; : >"$work/create-full.txt"; : >"$work/create-end.txt"
  for run in $(seq 1 "$create_runs"); do
    timed_create "$empty_port" "$empty_url" "$middle" "$work/create-empty.txt"
    timed_create "$port" "$url" "$middle" "$work/create-full.txt"
    timed_create "$port" "$url" "$past_end" "$work/create-end.txt"
    echo "$backend create run $run: empty $(tail -n 1 "$work/create-empty.txt") s," \
      "into the middle $(tail -n 1 "$work/create-full.txt") s, past the end $(tail -n 1 "$work/create-end.txt") s" >&2
  done
  local empty full end
  empty=$(median <"$work/create-empty.txt")
  full=$(median <"$work/create-full.txt")
  end=$(median <"$work/create-end.txt")
  two() { paste -sd/ "$1" | sed 's/\([0-9]*\.[0-9][0-9]\)[0-9]*/\1/g'; }
  record create_empty "$(printf '%.2f s' "$empty")"
  record create_full "$(printf '%.2f s' "$full")"
  record create_ratio "$(echo "scale=3; $full / $empty" | bc | awk '{printf "%.2f", $1}')"
  record create_end "$(printf '%.2f s' "$end")"
  record create_end_ratio "$(echo "scale=3; $end / $empty" | bc | awk '{printf "%.2f", $1}')"
  record create_all "empty $(two "$work/create-empty.txt"); middle $(two "$work/create-full.txt"); end $(two "$work/create-end.txt")"

  # Each secondary index's cost: the create into the empty table without it.
  local index definition without
  for index in numbers_batch numbers_class numbers_assigned; do
    definition=$(sql "$empty_url" "$index" definition)
    sql "$empty_url" "$index" drop
    : >"$work/create-without.txt"
    for run in $(seq 1 "$create_runs"); do
      timed_create "$empty_port" "$empty_url" "$middle" "$work/create-without.txt"
    done
    sql "$empty_url" "$definition" run
    without=$(median <"$work/create-without.txt")
    record "cost_$index" "$(printf '%.2f s (the index costs %+.2f s)' "$without" "$(echo "$empty - $without" | bc)")"
  done

  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  servers=()
  if [ "$backend" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE $pg_db WITH (FORCE)" -c "DROP DATABASE $pg_empty WITH (FORCE)"
  else
    rm -f "$work"/scale.db* "$work"/empty.db*
  fi
}

label=(
  [load]="load 10,000,000 numbers (13 creates)"
  [size]="table and indexes on disk"
  [levels]="B-tree levels of the key and of numbers_class"
  [get]="numbers/system/get"
  [after]="100 rows from the middle, after=N"
  [offset]="100 rows from the middle, offset=5000000"
  [prefix]="prefix=4420071234 (100 rows)"
  [prefix_page]="prefix=4420071;limit=100 (of 100,000)"
  [prefix_count]="prefix=4420071;count=1 (100,000)"
  [class_count]="class=2;count=1 (10,000 numbers)"
  [customer_count]="customer=S;count=1 (10,000 numbers)"
  [class_page]="class=2;after=N;limit=100"
  [held]="numbers/list, customer H's 100 numbers"
  [held_page]="numbers/list customer=S;after=N;limit=100"
  [search]="search=7654321 (substring, 10 rows)"
  [search_count]="search=7654321;count=1"
  [create_empty]="1,000,000 create into an empty table"
  [create_full]="1,000,000 create into the 10,000,000"
  [create_ratio]="create ratio, ten million / empty"
  [create_end]="1,000,000 create past the end of the 10,000,000"
  [create_end_ratio]="create ratio, past the end / empty"
  [create_all]="create runs, seconds"
  [cost_numbers_batch]="create into empty, without numbers_batch"
  [cost_numbers_class]="create into empty, without numbers_class"
  [cost_numbers_assigned]="create into empty, without numbers_assigned"
)

backends=()
case "$which" in
  both) backends=(postgres sqlite) ;;
  postgres | sqlite) backends=("$which") ;;
  *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;;
esac
port=18190
for b in "${backends[@]}"; do run_backend "$b" "$port"; port=$((port + 2)); done

echo
echo "bench/scale.sh $which: RUNS=$runs (offset 5, search 3), CREATE_RUNS=$create_runs, $(date -u +%Y-%m-%d), $(nproc) cores"
header="| measurement (median) |"; rule="|---|"
for b in "${backends[@]}"; do header="$header $b |"; rule="$rule---|"; done
echo "$header"; echo "$rule"
for key in "${rows[@]}"; do
  line="| ${label[$key]} |"
  for b in "${backends[@]}"; do line="$line ${result[$b|$key]:-} |"; done
  echo "$line"
done
