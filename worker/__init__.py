"""RQ worker jobs (outbound delivery, SLA, notifications) and the worker entry point."""
