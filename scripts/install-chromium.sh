#!/usr/bin/env bash
# Installs Debian's chromium for the cluster-page browser test (driven by playwright-core). Idempotent: apt-get
# runs only when /usr/bin/chromium is missing. Needs root and apt-get (CI runs as root on Debian).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: /usr/bin/chromium is missing; install Debian's chromium package (needs root and apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium
echo "install-chromium: installed chromium"
