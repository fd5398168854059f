#!/usr/bin/env bash
# usage: install-debian-package.sh PACKAGE EXECUTABLE — installs Debian's PACKAGE unless EXECUTABLE is already on the
# PATH (idempotent). Needs root and apt-get (CI runs as root on Debian); says what is missing otherwise.
set -euo pipefail
package=$1
executable=$2
if command -v "$executable" >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-$package: $executable is missing; install Debian's $package package (needs root and apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$package"
echo "install-$package: installed $package"
