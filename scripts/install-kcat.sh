#!/usr/bin/env bash
# Installs Debian's kcat (on librdkafka 2.0.2) for the Kafka-listener tests, which drive it as a Kafka user would.
exec bash "$(dirname "$0")/install-debian-package.sh" kcat kcat
