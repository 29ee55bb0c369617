#!/usr/bin/env bash
# CI entry point: install everything mailroom's tests need on a clean machine, then run
# the README's test command. Safe to run again (every step is idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
need_apt=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need_apt+=(dovecot-imapd)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# the monitoring and deployment tools tests/unit/test_deploy_files.py and tests/ops run
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v kubectl >/dev/null 2>&1 || need_apt+=(kubernetes-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt: ${need_apt[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# the system dovecot, prometheus and alertmanager services are not used: each test starts
# its own instance on a free port
for unit in dovecot prometheus prometheus-alertmanager; do
  systemctl disable --now "$unit" >/dev/null 2>&1 || true
done
# without systemd the packages' init scripts may have started them; these stop only the
# instance in the package's pidfile, never a test's
for unit in prometheus prometheus-alertmanager; do
  [ -x "/etc/init.d/$unit" ] && "/etc/init.d/$unit" stop >/dev/null 2>&1 || true
done

echo "== PostgreSQL"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

echo "== Python environment"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import mailroom, confluent_kafka, aiosmtpd, playwright, kubernetes_validate"
promtool --version >/dev/null && amtool --version >/dev/null && kubectl version --client >/dev/null

