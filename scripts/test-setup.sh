#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest): the system packages the tests need
# that npm cannot install. The Prometheus gate is tested against a real
# Prometheus, Debian's package `prometheus`. Installed when missing and apt is
# usable (as root, or with password-less sudo); otherwise a note, and that one
# test fails saying what to install.
set -uo pipefail

if [ -x /usr/bin/prometheus ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test set-up: /usr/bin/prometheus is missing and apt-get is not here; install Prometheus 2.x at /usr/bin/prometheus" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "test set-up: /usr/bin/prometheus is missing; run: sudo apt-get install -y prometheus" >&2
    exit 0
  fi
fi
echo "test set-up: installing Debian's prometheus package (for the Prometheus gate test)…" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 \
  || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1; } \
  || echo "test set-up: could not install prometheus; the Prometheus gate test will fail" >&2
exit 0
