#!/usr/bin/env bash
# Starts a private Docker engine for the compose end-to-end test, isolated from the host:
#   - dockerd (Debian docker.io 20.10) runs inside its own network namespace, so the bridges and iptables rules it
#     creates never touch the host's network; published ports live in that namespace;
#   - its data root, exec root, socket, pidfile, config and log all live under the given scratch directory, so it
#     shares no state with any other engine on the machine (images tagged node:20-slim there shadow nothing);
#   - a veth pair links the host namespace to it (/30 subnet): the host reaches published ports at
#     $GREGOR_DOCKER_ADDRESS. The namespace gets no default route, so containers and builds have no way out:
#     an image that builds here builds offline.
# Usage: start-engine.sh <scratch-dir> [name]     (root; prints `export ...` lines for eval on stdout)
# Undo with stop-engine.sh <scratch-dir>. Needs: dockerd, docker, ip (iproute2), nsenter (util-linux).
set -euo pipefail

if [ "$#" -lt 1 ]; then
  echo "usage: $0 <scratch-dir> [name]" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "start-engine: must run as root (network namespaces, dockerd)" >&2
  exit 1
fi
for tool in dockerd docker ip nsenter; do
  command -v "$tool" >/dev/null 2>&1 || { echo "start-engine: $tool not found (run scripts/docker/install-engine.sh)" >&2; exit 1; }
done

mkdir -p "$1"
dir=$(cd "$1" && pwd)
name=${2:-$(basename "$dir")}
# Interface names are limited to 15 characters; the netns name is free-form but kept short and recognisable.
ns="gregor-$name"
socket="$dir/docker.sock"
# A unix socket path longer than 107 bytes cannot be bound: fail clearly instead of with dockerd's EINVAL.
if [ "${#socket}" -gt 100 ]; then
  echo "start-engine: scratch dir path too long for a unix socket: $socket" >&2
  exit 1
fi
if [ -e "$dir/dockerd.pid" ] && kill -0 "$(cat "$dir/dockerd.pid")" 2>/dev/null; then
  echo "start-engine: a dockerd already runs for $dir (pid $(cat "$dir/dockerd.pid")); stop-engine.sh it first" >&2
  exit 1
fi

# On any failure below, undo whatever was already set up (stop-engine copes with partial state).
cleanup_on_error () {
  echo "start-engine: failed; log tail:" >&2
  tail -n 20 "$dir/dockerd.log" >&2 2>/dev/null || true
  "$(dirname "$0")/stop-engine.sh" "$dir" >&2 || true
}
trap cleanup_on_error ERR

# 1. The namespace, recorded so stop-engine.sh finds it.
ip netns add "$ns"
echo "$ns" >"$dir/netns"
ip -n "$ns" link set lo up

# 2. The host link: pick a free 10.213.X.0/30 (X from 0) so two engines on one host do not collide.
host_if=""
for x in $(seq 0 255); do
  if ! ip -4 -o addr show | grep -q " 10\.213\.$x\."; then
    host_if="gdk$x-${name:0:6}"
    host_if=${host_if:0:15}
    host_addr="10.213.$x.1"
    engine_addr="10.213.$x.2"
    break
  fi
done
[ -n "$host_if" ] || { echo "start-engine: no free 10.213.X.0/30 subnet" >&2; false; }
ip link add "$host_if" type veth peer name host0 netns "$ns"
echo "$host_if" >"$dir/host-link"
ip addr add "$host_addr/30" dev "$host_if"
ip link set "$host_if" up
ip -n "$ns" addr add "$engine_addr/30" dev host0
ip -n "$ns" link set host0 up

# 3. dockerd. `nsenter --net=` and not `ip netns exec`: the latter remounts /sys, hiding /sys/fs/cgroup, and dockerd
# then fails with "Devices cgroup isn't mounted". An empty --config-file keeps a host /etc/docker/daemon.json out.
# setsid detaches it from this script's session; its PID comes from its own pidfile, which stop-engine.sh kills.
echo '{}' >"$dir/daemon.json"
mkdir -p "$dir/data" "$dir/exec"
nsenter --net="/run/netns/$ns" -- setsid dockerd \
  --config-file "$dir/daemon.json" \
  --data-root "$dir/data" \
  --exec-root "$dir/exec" \
  --pidfile "$dir/dockerd.pid" \
  --host "unix://$socket" \
  </dev/null >"$dir/dockerd.log" 2>&1 &

# 4. Ready when the API answers (about half a second here); give up after 60 s.
export DOCKER_HOST="unix://$socket"
deadline=$((SECONDS + 60))
until docker version >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "start-engine: dockerd did not answer within 60 s" >&2
    false
  fi
  sleep 0.2
done

trap - ERR
echo "export DOCKER_HOST=unix://$socket"
echo "export GREGOR_DOCKER_NETNS=$ns"
echo "export GREGOR_DOCKER_ADDRESS=$engine_addr"
