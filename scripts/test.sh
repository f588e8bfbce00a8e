#!/usr/bin/env bash
# The whole test suite, as CI runs it: install, lint, type-check, unit + integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy spendscope collectors exporters alerts dashboards app.py
# Benchmarks run only on demand (bench/); everything else, integration included, runs here.
.venv/bin/python -m pytest -m "not bench" -q "$@"
