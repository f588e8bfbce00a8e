#!/usr/bin/env bash
# The whole test suite, as CI runs it: install, lint, type-check, unit + integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test bash scripts/bootstrap.sh
# Real servers the integration tests start on loopback (DESIGN §8): Prometheus (+ promtool), Alertmanager,
# and the headless Chromium that loads every dashboard page.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null || ! command -v amtool >/dev/null \
   || ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager \
      chromium >/dev/null
  else
    echo "integration tests need prometheus, promtool, amtool, chromium:" \
      "sudo apt-get install prometheus prometheus-alertmanager chromium" >&2
    exit 1
  fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy spendscope collectors exporters alerts dashboards app.py
# Benchmarks run only on demand (bench/); everything else, integration included, runs here.
.venv/bin/python -m pytest -m "not bench" -q "$@"
