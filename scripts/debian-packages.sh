#!/usr/bin/env bash
# Installs the Debian packages a step needs that npm cannot: npm test's pretest
# (Prometheus, for the Prometheus gate test against a real one; redis-server,
# for the Redis fleet tests, which start, kill and restart their own; openssl,
# which makes the TLS tests' CA and certificates; curl, an HTTP/2 client the
# gateway tests use with --http2-prior-knowledge; chromium, the browser that
# opens the report's HTML through playwright-core) and
# npm run bench's prebench (wrk and nginx, the load generator and peer proxy;
# redis-server, for the fleet cases and the fleet rollback variant; h2load,
# the HTTP/2 load generator of bench/h2.ts, also its own prebench:h2).
#
#   scripts/debian-packages.sh "WHAT FOR" COMMAND=PACKAGE ...
#
# A COMMAND found on PATH (or as a path that exists) needs nothing. Missing
# ones are installed when apt is usable (as root, or with password-less sudo);
# otherwise it says what to install and exits 0: the step then reports what
# is missing in its own words.
set -uo pipefail

purpose="$1"
shift
missing=()
for pair in "$@"; do
  cmd="${pair%%=*}"
  command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] || missing+=("${pair#*=}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "set-up for $purpose: ${missing[*]} missing, and apt-get is not here" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "set-up for $purpose: run: sudo apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
fi
install() {
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1
}
echo "set-up for $purpose: installing ${missing[*]} from Debian…" >&2
install || { $SUDO apt-get update >/dev/null 2>&1 && install; } \
  || echo "set-up for $purpose: could not install ${missing[*]}" >&2
exit 0
