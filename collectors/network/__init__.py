"""Network telemetry: per-interface counters and rates from psutil and node_exporter (`net_samples`)."""
