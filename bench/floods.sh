#!/usr/bin/env bash
# The server under each flood a hostile client can send, against itself idle
# in the same run: /healthz latency (wrk, one connection) and the server's
# resident memory. Loopback only, each flood bounded in time.
#
#   bench/floods.sh [sqlite|postgres] [seconds]
set -euo pipefail
backend="${1:-sqlite}"
secs="${2:-10}"
port=18183
source "$(dirname "$0")/lib.sh"

if [ "$backend" = postgres ]; then
  bench_pg_create
  url="$pg_url"
else
  url="sqlite://$work/bench.db"
fi
bench_serve "$port" "$url" SWITCHYARD_LIMITS__BODY_WRITE_TIMEOUT_SECS=5
base="http://127.0.0.1:$port/api/json"

# A customer with 50,000 numbers and a User-role person in it, for the streams.
curl -sf "$base/classes/create?$auth;name=c" >/dev/null
curl -sf "$base/ingroups/create?$auth;name=i" >/dev/null
customer=$(curl -sf "$base/customers/create?$auth;name=Big;email=big@example.com;plan=1" | sed 's/.*"id":\([0-9]*\).*/\1/')
curl -sf "$base/people/create?$auth;username=reader;password=$pw;role=4;customer=$customer" >/dev/null
curl -sf "$base/numbers/system/create?$auth;start=7000000;end=7049999;class=1;ingroup=1;customer=$customer" >/dev/null

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }

# Latency of /healthz for $secs seconds on one connection: "p50 p99" in ms.
health() {
  cat >"$work/latency.lua" <<'LUA'
function done(summary, latency, requests)
  io.write(string.format("%.3f %.3f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
  wrk -t1 -c1 -d"${secs}s" -s "$work/latency.lua" "http://127.0.0.1:$port/healthz" | tail -n 1
}

# Floods, each a Python program on loopback that stops by itself after $secs.
flood() {
  python3 - "$1" "$port" "$secs" "$pw" <<'PY'
import socket, sys, threading, time
kind, port, secs, pw = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
end = time.time() + secs
def conn():
    s = socket.create_connection(("127.0.0.1", port)); return s
def bad_keys():
    body = "&".join(f"k{i}=%zz" for i in range(90000)).encode()
    head = f"POST /api/json/roles/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    while time.time() < end:
        try:
            s = conn(); s.sendall(head + body)
            while s.recv(65536): pass
            s.close()
        except OSError: pass
def no_body():
    held = []
    while time.time() < end:
        try:
            s = conn(); s.sendall(b"POST /api/json/roles/list HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"); held.append(s)
        except OSError: pass
        if len(held) >= 300: time.sleep(0.1)
    for s in held: s.close()
def silent_streams():
    held = []
    for _ in range(16):
        s = conn(); s.sendall(f"GET /api/json/numbers/list?auth_username=reader;auth_password={pw} HTTP/1.1\r\nHost: x\r\n\r\n".encode()); held.append(s)
    time.sleep(max(0, end - time.time()))
    for s in held: s.close()
def guesses():
    n = 0
    while time.time() < end:
        try:
            s = conn(); s.sendall(f"GET /api/json/roles/list?auth_username=admin;auth_password=guess{n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            while s.recv(65536): pass
            s.close(); n += 1
        except OSError: pass
work = {"bad_keys": bad_keys, "no_body": no_body, "silent_streams": silent_streams, "guesses": guesses}[kind]
threads = [threading.Thread(target=work) for _ in range(1 if kind in ("no_body", "silent_streams") else 4)]
for t in threads: t.start()
for t in threads: t.join()
PY
}

idle_rss=$(rss_kb)
read -r idle_p50 idle_p99 <<<"$(health)"
printf "%-15s healthz p50 %7.3f ms  p99 %7.3f ms  rss %6d KiB\n" idle "$idle_p50" "$idle_p99" "$idle_rss"
for kind in bad_keys no_body silent_streams guesses; do
  flood "$kind" &
  flooder=$!
  sleep 1
  read -r p50 p99 <<<"$(health)"
  rss=$(rss_kb)
  wait "$flooder" || true
  awk -v k="$kind" -v p50="$p50" -v p99="$p99" -v rss="$rss" -v i50="$idle_p50" -v i99="$idle_p99" -v irss="$idle_rss" \
    'BEGIN {printf "%-15s healthz p50 %7.3f ms  p99 %7.3f ms  rss %6d KiB  (x idle: p50 %.1f, p99 %.1f, rss %.2f)\n", k, p50, p99, rss, p50 / i50, p99 / i99, rss / irss}'
  sleep 6 # the write timeout (5 s) frees what a flood held
done
