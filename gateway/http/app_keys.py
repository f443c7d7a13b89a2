"""Typed keys of the aiohttp application's shared state."""

from __future__ import annotations

from aiohttp import web

from gateway.runtime.state import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
