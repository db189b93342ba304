# Sourced by the benchmarks: a release build, a scratch directory, a
# PostgreSQL database of the run's own, and servers to measure, all removed
# again when the benchmark exits.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
pw="bench-Password-1"
auth="auth_username=admin;auth_password=$pw"
# The server measured: this tree's release build, or another build of
# Switchyard (BENCH_BIN) to compare the two in one session.
if [ -z "${BENCH_BIN:-}" ]; then cargo build --release -q; fi
bin="${BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release/switchyard}"
work="$(mktemp -d)"
pg_db="switchyard_bench_$$"
pg_url="postgres://postgres@127.0.0.1:5432/$pg_db"
servers=()

bench_cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" 2>/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

# Creates the run's PostgreSQL database.
bench_pg_create() {
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $pg_db"
}

# bench_serve PORT URL [VAR=value ...]: starts a server (the first-start
# administrator's password is $pw), waits until it is ready, and sets
# $server to its pid. Extra variables go to its environment.
bench_serve() {
  local port=$1 url=$2
  shift 2
  env SWITCHYARD_ADMIN_PASSWORD="$pw" SWITCHYARD_LOG__LEVEL=warn "$@" \
    "$bin" serve --listen "127.0.0.1:$port" --database-url "$url" >>"$work/server-$port.log" 2>&1 &
  server=$!
  servers+=("$server")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "the server on port $port did not become ready" >&2
  return 1
}

# bench_serve_inventory PORT BACKEND: a server on a fresh database of the
# run (PostgreSQL, or SQLite at $work/server.db) with the class and inbound
# group every number import names; sets $url and $api.
bench_serve_inventory() {
  local port=$1 backend=$2
  if [ "$backend" = postgres ]; then
    bench_pg_create
    url="$pg_url"
  else
    url="sqlite://$work/server.db"
  fi
  bench_serve "$port" "$url"
  api="http://127.0.0.1:$port/api/json"
  curl -sf "$api/classes/create?$auth;name=Geographic" >/dev/null
  curl -sf "$api/ingroups/create?$auth;name=Main" >/dev/null
}

# Timing and summaries the benchmarks share.
seconds() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
spread() { sort -n | awk '{a[NR] = $1} END {printf "%s-%s", a[1], a[NR]}'; }
