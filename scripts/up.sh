#!/usr/bin/env bash
# Run the stack on its embedded defaults: venv + install, demo data when the warehouse is empty,
# the daemon and the Streamlit app (http://127.0.0.1:8501). Extra args go to `spendscope up`.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test bash scripts/bootstrap.sh
exec .venv/bin/spendscope up "$@"
