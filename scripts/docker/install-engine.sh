#!/usr/bin/env bash
# Installs what the docker-compose end-to-end test needs on a Debian host (CI runs as root): Debian's docker.io
# (dockerd 20.10 + containerd + runc), docker-compose 1.29 and iptables. Idempotent: apt-get runs only when one
# of the commands is missing, so a second run costs nothing and never touches the network.
# See docs/docker.md and ../shared/research/containers.md §2c for why this engine and not podman.
set -euo pipefail

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
# The docker CLI ships with docker.io; a host may have a newer standalone CLI already (it talks API 1.41 fine).
command -v docker >/dev/null 2>&1 || missing+=(docker.io)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-engine: dockerd, docker, docker-compose and iptables already present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-engine: missing ${missing[*]}; installing needs root (apt-get)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-engine: missing ${missing[*]} and no apt-get on this host (Debian/Ubuntu expected)" >&2
  exit 1
fi
# Another apt run (unattended upgrades, a sibling job) holds the dpkg lock: wait for it rather than fail.
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=300)
apt-get "${apt_opts[@]}" update -qq
# Deduplicate (docker.io may be listed twice); --no-install-recommends keeps it to the daemon, CLI and runtime.
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
# docker.io's postinst would start a system dockerd in the host network namespace (rewriting the host's iptables);
# we only ever run our own, in a private namespace. A policy-rc.d that answers 101 ("not allowed") stops the
# package scripts from starting services; we add one only if the host has none, and remove only what we added.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  added_policy=1
fi
trap 'if [ "$added_policy" -eq 1 ]; then rm -f "$policy"; fi' EXIT
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${packages[@]}"
echo "install-engine: installed ${packages[*]}"
