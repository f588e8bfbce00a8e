#!/usr/bin/env bash
# Run the nvml and nvidia-smi collectors against this machine's real NVIDIA GPUs and keep what they read.
#
#   scripts/gpu_check.sh OUTDIR
#
# spendscope must be importable by $PYTHON (default python3): an installed venv, or PYTHONPATH=<repo>.
# Writes to OUTDIR: the driver's own view (nvidia-smi, nvidia-smi -q), the collectors' CLI output idle and
# under load (a torch matmul loop when torch is there), nvidia-smi CSV captured with the collector's field
# list, and the gpu_samples rows both collectors stored, as CSV. A throwaway SPENDSCOPE_HOME is used.
# This is how docs/gpu-collectors.md "Real H100 run" was recorded; run it on a new driver or GPU model.
set -u
out=${1:?usage: scripts/gpu_check.sh OUTDIR}
py=${PYTHON:-python3}
mkdir -p "$out"
SPENDSCOPE_HOME=$(mktemp -d)
export SPENDSCOPE_HOME
ss() { "$py" -c 'import sys; from spendscope.cli import main; sys.argv[0] = "spendscope"; main()' "$@"; }
step() { echo; echo "=== $*"; }

# The field list the live collector asks for, taken from the code rather than copied here.
fields=$("$py" -c 'from collectors.gpu.nvidia_smi import QUERY; print(",".join(QUERY))')

step "driver and GPUs"
nvidia-smi 2>&1 | tee "$out/nvidia-smi.txt"
nvidia-smi -q >"$out/nvidia-smi-q.txt" 2>&1
"$py" -c 'from importlib.metadata import version; print("nvidia-ml-py", version("nvidia-ml-py"))' 2>&1

step "idle: spendscope collect nvml / nvidia-smi"
ss --log-level INFO collect nvml; echo "exit $?"
ss --log-level INFO collect nvidia-smi; echo "exit $?"
nvidia-smi --query-gpu="$fields" --format=csv >"$out/smi-idle.csv" 2>&1

load_pid=""
if "$py" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    step "load: bf16 matmul loop on every GPU for 100 s"
    "$py" - <<'EOF' &
import time, torch
devs = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
mats = [(torch.randn(8192, 8192, device=d, dtype=torch.bfloat16),) * 2 for d in devs]
end = time.time() + 100
while time.time() < end:
    for a, b in mats:
        a @ b
    for d in devs:
        torch.cuda.synchronize(d)
EOF
    load_pid=$!
    sleep 15
    ss --log-level INFO collect nvml; echo "exit $?"
    ss --log-level INFO collect nvidia-smi; echo "exit $?"
    # A saved file, as the Databricks init script writes one, ingested through --from-file.
    timeout 6 nvidia-smi --query-gpu="timestamp,$fields" --format=csv -l 1 >"$out/smi-load.csv" 2>&1
    ss --log-level INFO collect nvidia-smi --from-file "$out/smi-load.csv"; echo "exit $?"
    # The daemon: nvml and nvidia-smi every 15 s, the Prometheus exporter on :9464, scraped under load.
    printf '%s\n' "home = \"$SPENDSCOPE_HOME/home\"" "[warehouse]" "path = \"$SPENDSCOPE_HOME/lake\"" \
        "[collectors.nvml]" "enabled = true" "interval_minutes = 0.25" \
        "[collectors.nvidia_smi]" "enabled = true" "interval_minutes = 0.25" \
        "[exporters.prometheus]" "port = 9464" "[alerts]" "enabled = false" >"$SPENDSCOPE_HOME/daemon.toml"
    step "daemon: spendscope run with nvml + nvidia-smi, /metrics under load"
    # Started directly (not through the ss function) so that $! is the daemon itself and gets the SIGTERM.
    "$py" -c 'import sys; from spendscope.cli import main; sys.argv[0] = "spendscope"; main()' \
        --config "$SPENDSCOPE_HOME/daemon.toml" run >"$out/daemon.log" 2>&1 &
    daemon_pid=$!
    sleep 40  # the exporter's snapshot refreshes every 30 s: the second one holds samples
    "$py" -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9464/metrics").read().decode())' \
        >"$out/metrics.txt" 2>&1
    grep -E '^spendscope_(gpu_|collector_up)' "$out/metrics.txt" | head -60
    kill -TERM "$daemon_pid"
    wait "$daemon_pid"
    echo "daemon exit $?"
    tail -5 "$out/daemon.log"
    wait "$load_pid"
fi

step "no driver: nvml with the library hidden"
"$py" -c '
import pynvml, sys
pynvml.nvmlInit = lambda: (_ for _ in ()).throw(pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND))
sys.argv = ["spendscope", "collect", "nvml"]
from spendscope.cli import main
main()'
echo "exit $?"

step "stored gpu_samples"
ss query --format csv "SELECT * FROM gpu_samples ORDER BY source, ts" | tee "$out/gpu_samples.csv"
echo "gpu_check: done; files in $out"
