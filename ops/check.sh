#!/usr/bin/env bash
# Checks the Prometheus files by hand: the rules' syntax, their unit tests (alerts.test.yml) and the
# example configuration. Needs promtool (Debian: apt-get install prometheus). The end-to-end check
# against a running sidecar is PrometheusCheckTest (bin/test).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/prometheus"
if ! command -v promtool >/dev/null 2>&1; then
  echo "error: promtool is needed (Debian/Ubuntu: apt-get install prometheus; or the binary from prometheus.io)." >&2
  exit 1
fi
promtool check rules alerts.yml
promtool test rules alerts.test.yml
promtool check config prometheus.yml
