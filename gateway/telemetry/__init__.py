"""Operating the gateway: its settings ([logging], [metrics]), logs, request ids and metrics."""
