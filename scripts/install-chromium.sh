#!/usr/bin/env bash
# Installs Debian's chromium for the cluster-page browser test (driven by playwright-core), unless present.
exec bash "$(dirname "$0")/install-debian-package.sh" chromium /usr/bin/chromium
