"""Processes: the CLI, `serve`'s supervisor, acceptors and the embedded Valkey (no aiohttp here
except in the acceptor, which the supervisor starts as a child)."""
