#!/usr/bin/env bash
# Soak: mixed calls at about half the measured capacity for a long run,
# printing each minute the server's resident memory, open descriptors,
# database connections in use, throughput and p99 latency; at the end, the
# growth of memory and descriptors from the end of minute 5 to the end.
#
#   bench/soak.sh [sqlite|postgres] [minutes, default 30]
#
# The mix, per connection in turn: codes/create (a new code), codes/list
# (a page of 10), numbers/system/create (a new range of 10), numbers/system/list
# (a page of 100), numbers/system/get, customers/balance/add, roles/list.
# Capacity is measured first with the same mix and no pause (15 s, 16
# connections); the soak then paces 16 connections to half of it.
set -euo pipefail
backend="${1:-postgres}"
minutes="${2:-30}"
# One port per database, so that the two can soak side by side.
if [ "$backend" = postgres ]; then port=18191; else port=18190; fi
source "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null || { echo "soak: wrk is needed (apt-get install wrk)" >&2; exit 1; }

bench_serve_inventory "$port" "$backend"
pid=$server
base="http://127.0.0.1:$port"

# $1: the pause after each answer, per connection, in milliseconds (0: none).
mix() {
  cat >"$work/mix.lua" <<LUA
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
local n = 0
local auth = "auth_username=admin;auth_password=$pw"
function request()
  n = n + 1
  local k = id * 100000000 + n + $2
  local kind = n % 7
  local path
  if kind == 0 then path = "codes/create?" .. auth .. ";code=" .. (1000000000 + k) .. ";dtype=hangup;dnumber="
  elseif kind == 1 then path = "codes/list?" .. auth .. ";limit=10"
  elseif kind == 2 then path = "numbers/system/create?" .. auth .. ";start=" .. (10000000000 + k * 10) .. ";end=" .. (10000000000 + k * 10 + 9) .. ";class=1;ingroup=1"
  elseif kind == 3 then path = "numbers/system/list?" .. auth .. ";limit=100"
  elseif kind == 4 then path = "numbers/system/get?" .. auth .. ";number=" .. (10000000000 + (k - 2) * 10)
  elseif kind == 5 then path = "customers/balance/add?" .. auth .. ";customer=1;amount=0.01"
  else path = "roles/list?" .. auth end
  return wrk.format("GET", "/api/json/" .. path)
end
function delay() return $1 end
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("%.0f %.2f %d\n", summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000, errors))
end
LUA
}

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
busy() { curl -s "$base/metrics" | awk '/^switchyard_db_connections\{.*state="busy"/ {s += $2} END {print s + 0}'; }

# Each wrk run's codes and ranges start past the previous run's.
offset=0
run() { # $1 seconds, $2 pause ms
  mix "$2" "$offset"
  offset=$((offset + 10000000))
  wrk -t 2 -c 16 -d "${1}s" --timeout 10s -s "$work/mix.lua" "$base" | tail -n 1
}

read -r capacity _ _ < <(run 15 0)
target=$((capacity / 2))
# 16 connections each pausing d ms after an answer: d = 16 s / target.
pause=$((16000 / (target > 0 ? target : 1)))
echo "backend=$backend capacity ${capacity} calls/s; soak at about ${target} calls/s (pause ${pause} ms per connection) for ${minutes} min"
printf "%6s %10s %8s %8s %8s %10s %8s\n" minute "calls/s" "p99 ms" errors "rss MB" "open fds" "db busy"
for minute in $(seq 1 "$minutes"); do
  read -r rate p99 errors < <(run 60 "$pause")
  r=$(rss_mb); f=$(fds); b=$(busy)
  printf "%6d %10s %8s %8s %8s %10s %8s\n" "$minute" "$rate" "$p99" "$errors" "$r" "$f" "$b"
  if [ "$minute" -eq 5 ]; then rss5=$r; fds5=$f; fi
  rss_last=$r; fds_last=$f
done
if [ -n "${rss5:-}" ]; then
  awk -v a="$rss5" -v b="$rss_last" -v c="$fds5" -v d="$fds_last" 'BEGIN {
    rg = (b - a) / a * 100; fg = (d - c) / c * 100
    printf "growth after minute 5: resident memory %+.1f%% (%s -> %s MB), open descriptors %+.1f%% (%s -> %s)\n", rg, a, b, fg, c, d
    if (rg >= 10 || fg >= 10) { print "soak: FAILED: growth of 10% or more"; exit 1 }
  }'
fi
