#!/usr/bin/env bash
# Runs before `npm run bench` (npm's prebench): the load generator and the peer
# proxy the benchmark compares against come from Debian (wrk, nginx). Installed
# when missing and apt is usable (as root, or with password-less sudo); without
# them the bench falls back to autocannon and skips the nginx case, and says so.
set -uo pipefail

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -eq 0 ] || ! command -v apt-get >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "bench set-up: ${missing[*]} missing; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
fi
echo "bench set-up: installing ${missing[*]} from Debian…" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || echo "bench set-up: could not install ${missing[*]}; the bench falls back to autocannon / skips nginx" >&2
exit 0
