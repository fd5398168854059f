#!/usr/bin/env bash
# Stops the private Docker engine started by start-engine.sh and removes everything it made: dockerd (by the PID in
# its pidfile, never by name; it stops its containers and its own containerd on the way out), any mount left under
# the scratch directory, the veth pair and the network namespace. With --purge, also the data and exec roots.
# Safe to run twice and on a half-started engine.
# Usage: stop-engine.sh <scratch-dir> [--purge]
set -euo pipefail

if [ "$#" -lt 1 ]; then
  echo "usage: $0 <scratch-dir> [--purge]" >&2
  exit 2
fi
dir=$(cd "$1" 2>/dev/null && pwd) || { echo "stop-engine: no such directory $1" >&2; exit 0; }
purge=${2:-}

# Sends $2 to the process in pidfile $1 if it is still the program $3 (a recycled PID is left alone), then waits up to
# $4 seconds for it to exit. Returns 1 if it is still alive.
stop_pid () {
  local pidfile=$1 signal=$2 program=$3 wait_s=$4 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$program" ] || return 0
  kill "-$signal" "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + wait_s))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# 1. dockerd: SIGTERM stops the containers (each within its stop timeout) and the supervised containerd. A daemon
# that does not exit within 60 s is killed, then its containerd (pidfile under the exec root) too.
if ! stop_pid "$dir/dockerd.pid" TERM dockerd 60; then
  echo "stop-engine: dockerd did not stop within 60 s; SIGKILL" >&2
  stop_pid "$dir/dockerd.pid" KILL dockerd 10 || true
  stop_pid "$dir/exec/containerd/containerd.pid" KILL containerd 10 || true
fi

# 2. Mounts a killed daemon may leave behind (overlay layers, container netns bind mounts), deepest first.
if [ -d "$dir" ]; then
  awk -v prefix="$dir/" 'index($2, prefix) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
fi

# 3. The namespace; its end of the veth pair goes with it and takes the host end along. Delete the host end
# explicitly too, in case the namespace was already gone.
if [ -s "$dir/netns" ]; then
  ns=$(cat "$dir/netns")
  if [ -e "/run/netns/$ns" ]; then ip netns del "$ns"; fi
  rm -f "$dir/netns"
fi
if [ -s "$dir/host-link" ]; then
  link=$(cat "$dir/host-link")
  if ip link show "$link" >/dev/null 2>&1; then ip link del "$link" 2>/dev/null || true; fi
  rm -f "$dir/host-link"
fi

if [ "$purge" = "--purge" ]; then
  rm -rf "$dir/data" "$dir/exec" "$dir/docker.sock" "$dir/dockerd.pid"
fi
echo "stop-engine: stopped engine of $dir" >&2
