"""GPU telemetry collectors: dcgm-exporter, Prometheus, NVML and nvidia-smi."""
