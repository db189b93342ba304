#!/usr/bin/env bash
# codes/conflicts over 10,000 feature codes in one customer (9,990 codes of
# seven characters and ten of six that each shadow ten of them: 100
# conflicts), against codes/list of the same 10,000 codes in the same run:
# the median of 50 sequential calls of each, on one keep-alive connection.
#
#   bench/conflicts.sh [sqlite|postgres]
set -euo pipefail
backend="${1:-postgres}"
port=18183
source "$(dirname "$0")/lib.sh"

if [ "$backend" = postgres ]; then
  bench_pg_create
  url="$pg_url"
else
  url="sqlite://$work/bench.db"
fi
"$bin" migrate --database-url "$url" >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; exit 1; }

# The codes go in directly (one statement, the same on both databases):
# what is measured is reading them, not creating them.
python3 - >"$work/codes.sql" <<'PY'
codes = [f"*{1000000 + n}" for n in range(9990)] + [f"*{100000 + 10 * n}" for n in range(10)]
print("INSERT INTO codes (customer, code, dtype, dnumber, description, direct, fax_detect, fax_dtype, fax_dnumber,"
      " language, maximum_seconds, music, owner, panel, password, play_message, recordgroup, ringtone, routing,"
      " screen, shared, sname, sname_action, text_dtype, text_dnumber, update_routing, created) VALUES")
print(",\n".join(f"(1, '{c}', 'phone', '1234567', '', 0, 0, '', '', '', -1, 0, 0, 0, '', 0, 0, '', '', 0, 0, '',"
                  " 'replace', 'none', '', 0, 0)" for c in codes) + ";")
PY
if [ "$backend" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -d "$pg_db" -f "$work/codes.sql" -c "ANALYZE codes"
else
  python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript(open(sys.argv[2]).read())' \
    "$work/bench.db" "$work/codes.sql"
fi
bench_serve "$port" "$url"

# median_ms CALL QUERY: the median of 50 calls' total times, in milliseconds.
median_ms() {
  local call=$1 query=$2 urls=()
  for _ in $(seq 1 50); do urls+=("http://127.0.0.1:$port/api/json/$call/?$auth;$query" -o /dev/null); done
  curl -s -w '%{time_total}\n' "${urls[@]}" | sort -n | awk 'NR == 25 {printf "%.2f", $1 * 1000}'
}

conflicts=$(curl -s "http://127.0.0.1:$port/api/json/codes/conflicts/?$auth" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
list_ms=$(median_ms codes/list "")
conflicts_ms=$(median_ms codes/conflicts "")
echo "backend=$backend codes=10000 conflicts=$conflicts"
echo "codes/list      median ${list_ms} ms"
echo "codes/conflicts median ${conflicts_ms} ms  ($(awk -v a="$conflicts_ms" -v b="$list_ms" 'BEGIN {printf "%.2f", a / b}')x codes/list)"
