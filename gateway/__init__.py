"""Intake gateway: HTTP/SMTP edges, the intake service, the operator API and the CLI."""
