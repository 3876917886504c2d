#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests use (real Prometheus/promtool, Alertmanager/amtool,
# PostgreSQL, Chromium) when missing; as root it installs them, otherwise it says exactly what to install.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# test/e2e/ui.test.ts drives Debian's chromium (/usr/bin/chromium) with playwright-core
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# test/pg.ts runs initdb/pg_ctl of the newest /usr/lib/postgresql/<version>; the server itself is started per test file
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "llmscope's end-to-end tests need these Debian packages: ${need[*]}" >&2
  echo "install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages for the end-to-end tests: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the services it installs; the tests start their own on free ports.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter postgresql; do
  (systemctl stop "$svc" || service "$svc" stop) >/dev/null 2>&1 || true
done
