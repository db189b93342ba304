#!/usr/bin/env bash
# The Debian package as an operator installs it: built with `cargo deb` from
# the binary `cargo test` already built, its contents and conffiles checked,
# its systemd unit verified, installed with dpkg, the installed binary started
# as the package's user with the packaged settings, answering roles/list with
# the generated password, then removed and purged.
#
# Needs root, cargo-deb, dpkg, systemd-analyze, curl and jq (.ci/run installs
# the missing ones). Refuses to run where Switchyard is installed for real.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "package: $*"; }
fail() { echo "package: FAILED: $*" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-target}"
[ "$(id -u)" = 0 ] || fail "must run as root (dpkg -i, a system user)"
[ -x "$target/debug/switchyard" ] || fail "$target/debug/switchyard is missing: run cargo test first"

# Left by an interrupted run of this script: safe to clear. Anything else is
# an operator's real installation, which this test must not touch.
marker=/var/lib/switchyard/.package-test
# Where systemd runs, dpkg -i would start the real unit on the same database.
[ -d /run/systemd/system ] && fail "systemd runs on this machine: the installed unit would start beside this test's server"
if [ ! -e "$marker" ]; then
  dpkg-query -W -f '${Status}' switchyard 2>/dev/null | grep -q 'installed' \
    && fail "switchyard is installed on this machine; this test would replace it"
  getent passwd switchyard >/dev/null && fail "a user switchyard exists on this machine; this test would delete it"
  [ -e /var/lib/switchyard ] && fail "/var/lib/switchyard exists on this machine; this test would delete it"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  dpkg --purge switchyard >/dev/null 2>&1 || true
  # The package keeps its data and its user on purge (see the README); the test takes both away.
  rm -rf /var/lib/switchyard
  getent passwd switchyard >/dev/null && userdel switchyard
  getent group switchyard >/dev/null && groupdel switchyard
  rm -rf "$work"
}
trap cleanup EXIT
cleanup_first() { [ -e "$marker" ] && { dpkg --purge switchyard >/dev/null 2>&1 || true; rm -rf /var/lib/switchyard; } ; true; }
cleanup_first

say "debian/config.toml is config.example.toml with the state directory's paths"
diff <(sed -e 's#^database_url = "sqlite://switchyard.db"#database_url = "sqlite:///var/lib/switchyard/switchyard.db"#' \
           -e 's#^admin_password_file = "switchyard-admin-password.txt"#admin_password_file = "/var/lib/switchyard/switchyard-admin-password.txt"#' \
           config.example.toml) debian/config.toml \
  || fail "debian/config.toml drifted from config.example.toml (apply the same change to both)"

say "cargo deb (the debug binary cargo test built; releases use plain cargo deb)"
# cargo-deb warns that the dev profile is meant for testing, which this is.
cargo deb --profile dev --no-build --fast --strip --quiet -o "$work/" >/dev/null
deb="$(ls "$work"/switchyard_*.deb)"

say "contents of $(basename "$deb")"
contents="$(dpkg-deb -c "$deb")"
for path in ./usr/bin/switchyard ./etc/switchyard/config.toml ./usr/lib/systemd/system/switchyard.service \
            ./usr/share/doc/switchyard/README.md ./usr/share/doc/switchyard/config.example.toml; do
  grep -q " $path\$" <<<"$contents" || fail "$path is not in the package: $contents"
done
grep -Eq '^-rwxr-xr-x .* \./usr/bin/switchyard$' <<<"$contents" || fail "the binary is not mode 755"
grep -Eq '^-rw-r----- .* \./etc/switchyard/config.toml$' <<<"$contents" || fail "the settings are readable by everyone"
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/switchyard/config.toml ] || fail "conffiles: $(dpkg-deb -I "$deb" conffiles)"
dpkg-deb -f "$deb" Depends | grep -q adduser || fail "Depends lacks adduser"
dpkg-deb -I "$deb" postinst | grep -q 'adduser --system' || fail "postinst makes no system user"
dpkg-deb -I "$deb" postinst | grep -q 'deb-systemd-helper enable switchyard.service' || fail "postinst does not enable the unit"
dpkg-deb -x "$deb" "$work/root"
cmp -s "$work/root/etc/switchyard/config.toml" debian/config.toml || fail "the packaged settings are not debian/config.toml"
unit="$work/root/usr/lib/systemd/system/switchyard.service"
for line in 'User=switchyard' 'StateDirectory=switchyard' 'WorkingDirectory=/var/lib/switchyard' \
            'ExecStart=/usr/bin/switchyard --config /etc/switchyard/config.toml serve' \
            'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
            'ProtectKernelTunables=yes' 'CapabilityBoundingSet=' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
  grep -qxF "$line" "$unit" || fail "the unit lacks '$line'"
done

say "dpkg -i"
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
touch "$marker"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd switchyard) || fail "no user switchyard"
[ "$uid" -lt 1000 ] || fail "switchyard is not a system user (uid $uid)"
[ "$home" = /var/lib/switchyard ] && [ "$shell" = /usr/sbin/nologin ] || fail "switchyard: home $home, shell $shell"
[ "$(stat -c '%U:%G %a' /var/lib/switchyard)" = "switchyard:switchyard 750" ] \
  || fail "/var/lib/switchyard is $(stat -c '%U:%G %a' /var/lib/switchyard)"
[ "$(stat -c '%U:%G %a' /etc/switchyard/config.toml)" = "root:switchyard 640" ] \
  || fail "/etc/switchyard/config.toml is $(stat -c '%U:%G %a' /etc/switchyard/config.toml)"
[ -L /etc/systemd/system/multi-user.target.wants/switchyard.service ] || fail "the unit is not enabled"

say "systemd-analyze verify (no systemd runs here: the unit is checked, not started)"
# verify exits 0 on some problems (an unknown key is only a warning), so any output is a failure.
verify="$(systemd-analyze verify /usr/lib/systemd/system/switchyard.service 2>&1)" || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
exposure="$(systemd-analyze security --offline=yes /usr/lib/systemd/system/switchyard.service 2>&1 | tail -n 1)"
say "systemd-analyze security: ${exposure#→ }"

say "the installed binary, as switchyard, with /etc/switchyard/config.toml"
# From / rather than the state directory: the packaged settings' paths must be absolute.
# setpriv execs the server in place (runuser would stay its parent), so that
# SIGTERM reaches the server itself and its exit status is the server's.
(cd / && exec setpriv --reuid=switchyard --regid=switchyard --init-groups -- env SWITCHYARD_LISTEN=127.0.0.1:0 \
   /usr/bin/switchyard --config /etc/switchyard/config.toml serve) >"$work/server.log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 300); do
  addr="$(grep -o 'listening.*127\.0\.0\.1:[0-9]*' "$work/server.log" | grep -o '127\.0\.0\.1:[0-9]*' || true)"
  [ -n "$addr" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; fail "the server exited"; }
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/server.log"; fail "no 'listening' line"; }
pwfile=/var/lib/switchyard/switchyard-admin-password.txt
[ "$(stat -c '%U %a' "$pwfile")" = "switchyard 600" ] || fail "$pwfile is $(stat -c '%U %a' "$pwfile")"
[ "$(stat -c '%U %a' /var/lib/switchyard/switchyard.db)" = "switchyard 600" ] || fail "the database is not owner-only"
# grep answers 1 for "not found"; 0 (found) or 2 (unreadable) both fail.
found=0
grep -qF -- "$(cat "$pwfile")" "$work/server.log" || found=$?
[ "$found" = 1 ] || fail "the password reached the log, whose standard error is no terminal (grep said $found)"
answer="$(curl -sS -u "admin:$(cat "$pwfile")" "http://$addr/api/json/roles/list")"
jq -e '.responses[0].code == "200" and (.data | type == "array") and (.data | length > 0)' <<<"$answer" >/dev/null \
  || fail "roles/list: $answer"
answer="$(curl -sS -u "admin:wrong-Password-1" "http://$addr/api/json/roles/list")"
jq -e '.responses[0].code == "401"' <<<"$answer" >/dev/null || fail "a wrong password: $answer"

say "switchyard backup, as switchyard, while the server runs"
runuser -u switchyard -- /usr/bin/switchyard --config /etc/switchyard/config.toml backup /var/lib/switchyard/copy.db \
  >"$work/backup.log" 2>&1 || { cat "$work/backup.log"; fail "backup"; }
[ -s /var/lib/switchyard/copy.db ] || fail "the backup is empty"

kill -TERM "$server_pid"
status=0; wait "$server_pid" || status=$?
server_pid=""
[ "$status" = 0 ] || { cat "$work/server.log"; fail "the server exited $status on SIGTERM"; }
wal=/var/lib/switchyard/switchyard.db-wal
[ ! -s "$wal" ] || fail "the stopped server left $(stat -c %s "$wal") bytes in $wal"

say "dpkg -r keeps the settings; dpkg --purge takes them"
dpkg -r switchyard >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r"; }
[ ! -e /usr/bin/switchyard ] || fail "dpkg -r left the binary"
[ ! -e /usr/lib/systemd/system/switchyard.service ] || fail "dpkg -r left the unit"
[ -e /etc/switchyard/config.toml ] || fail "dpkg -r removed the settings (a conffile stays until purge)"
dpkg --purge switchyard >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg --purge"; }
[ ! -e /etc/switchyard/config.toml ] || fail "dpkg --purge left the settings"
[ ! -e /etc/systemd/system/multi-user.target.wants/switchyard.service ] || fail "dpkg --purge left the unit enabled"
[ -e /var/lib/switchyard/switchyard.db ] || fail "dpkg --purge deleted the database"

echo "package: 1 passed, 0 failed"
