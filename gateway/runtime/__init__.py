"""What runs inside an acceptor beside the handlers: shared state, leases, timers, background
tasks."""
