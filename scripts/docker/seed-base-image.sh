#!/usr/bin/env bash
# Seeds the engine at $DOCKER_HOST with a local `node:20-slim`, built from this host's own files, because there is
# no image registry to pull from (../shared/research/containers.md §2a, "no debootstrap"). The image holds just what
# the Dockerfile uses: node 20 (the host's glibc build and the libraries it links), npm, /bin/sh (dash),
# /usr/bin/env (npm's shebang), the CA bundle, users root and node (uid 1000) — and an npm cache holding every
# package of the repository's package-lock.json at root's default cache path (/root/.npm), so the Dockerfile's
# `npm ci --prefer-offline` runs with no network, as on a machine whose cache is warm.
# Usage: DOCKER_HOST=... seed-base-image.sh <scratch-dir> [repo-dir]   (repo-dir defaults to this script's repo)
# Idempotent: an image already labelled with the same lockfile and node version is kept.
set -euo pipefail

if [ "$#" -lt 1 ]; then
  echo "usage: DOCKER_HOST=... $0 <scratch-dir> [repo-dir]" >&2
  exit 2
fi
mkdir -p "$1"
dir=$(cd "$1" && pwd)
repo=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
tag=node:20-slim
node_bin=$(command -v node)
case "$("$node_bin" --version)" in
  v20.*) ;;
  *) echo "seed-base-image: host node is $("$node_bin" --version), the image must be node 20" >&2; exit 1 ;;
esac

# The label ties the image to the lockfile, this recipe and the node version: any change reseeds.
stamp=$( (cat "$repo/package-lock.json" "$0"; "$node_bin" --version; npm --version 2>/dev/null) | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "gregor.seed"}}' "$tag" 2>/dev/null || true)" = "$stamp" ]; then
  echo "seed-base-image: $tag already seeded ($stamp)" >&2
  exit 0
fi

# 1. The npm cache. Start from the host's cache (warm after `npm ci` in CI), then let npm fill whatever is missing
# by installing the lockfile into a scratch copy of the workspace manifests: only packages absent from the host
# cache touch the registry. --ignore-scripts: nothing needs to build here, we only want the cache filled.
cache="$dir/npm-cache"
if [ ! -d "$cache/_cacache" ] && [ -d "$(npm config get cache 2>/dev/null)/_cacache" ]; then
  mkdir -p "$cache"
  cp -a "$(npm config get cache 2>/dev/null)/_cacache" "$cache/"
fi
ws="$dir/npm-workspace"
rm -rf "$ws"
mkdir -p "$ws"
(cd "$repo" && for manifest in package.json package-lock.json packages/*/package.json; do
  mkdir -p "$ws/$(dirname "$manifest")"
  cp "$manifest" "$ws/$manifest"
done)
(cd "$ws" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund --cache "$cache" --loglevel=error >&2)
rm -rf "$ws"

# 2. The root filesystem, from host files.
root="$dir/base-rootfs"
rm -rf "$root"
mkdir -p "$root/tmp" "$root/etc/ssl/certs" "$root/usr/local/bin" "$root/usr/local/lib/node_modules" \
  "$root/usr/local/etc" "$root/bin" "$root/root" "$root/home/node"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
# Shared libraries: what node, dash and env link, what the repository's native addons (classic-level, lz4-napi,
# @node-rs/crc32: *.node) link — librt, for one, which node itself does not — and, as a real Debian slim image has
# it, the rest of glibc's runtime libraries (libc6's /lib/x86_64-linux-gnu/*.so*; NSS modules for name lookups).
binaries=("$node_bin" /bin/dash /usr/bin/env)
while IFS= read -r addon; do
  ldd "$addon" >/dev/null 2>&1 && binaries+=("$addon")   # only addons this host can load (skips other platforms)
done < <(find "$repo/node_modules" -name '*.node' -type f 2>/dev/null)
libraries=$(ldd "${binaries[@]}" 2>/dev/null | grep -o '/[^ :]*\.so[^ :]*' | sort -u)
if command -v dpkg >/dev/null 2>&1; then
  libraries="$libraries $(dpkg -L libc6 2>/dev/null | grep -E '^(/usr)?/lib/x86_64-linux-gnu/[^/]+\.so[.0-9]*$' || true)"
fi
for file in "$node_bin" /bin/dash /usr/bin/env $libraries; do
  if [ -e "$file" ]; then cp -L --parents "$file" "$root/"; fi
done
mv "$root$node_bin" "$root/usr/local/bin/node"
ln -sf /bin/dash "$root/bin/sh"
cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chown 1000:1000 "$root/home/node"
# npm's global config (prefix /usr/local): the host's registry, so cache keys match what was filled above; no
# update check; and offline=true, which wins over the Dockerfile's --prefer-offline: a package missing from the
# cache fails the build at once with ENOTCACHED naming it, instead of after two minutes of network retries (the
# engine's namespace has no way out). Only this test base image says so; the Dockerfile does not depend on it.
printf 'registry=%s\nupdate-notifier=false\noffline=true\n' "$(npm config get registry 2>/dev/null)" >"$root/usr/local/etc/npmrc"
mkdir -p "$root/root/.npm"
cp -a "$cache/_cacache" "$root/root/.npm/"

# 3. Import under the tag the Dockerfile names. NODE_EXTRA_CA_CERTS: where TLS is intercepted the host trusts the
# extra CA through the bundle; harmless otherwise.
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt NODE_VERSION='"$("$node_bin" --version | cut -c2-)" \
  -c "LABEL gregor.seed=$stamp" \
  -c 'CMD ["node"]' - "$tag" >/dev/null
rm -rf "$root"
echo "seed-base-image: $tag seeded from host files ($("$node_bin" --version), npm $(npm --version), stamp $stamp)" >&2
