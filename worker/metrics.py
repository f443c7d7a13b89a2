"""`[metrics] worker_http`: a `python -m worker` run on its own (another host, no `serve`) serves
its per-process metrics (`intake_rq_jobs_total`, the process's CPU and memory) at
`GET /metrics`, with the admin token like the gateway's `/metrics`.

A worker that `serve` started writes them to serve's multiprocess directory instead, and the
acceptors' `/metrics` sums them with the rest: it serves none (M workers cannot share one
port). A thread of the worker process answers; RQ's work horses, forked per job, never do.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from channels.settings import Secret

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no line per scrape
        pass


def _refusal(status: str, code: str, message: str) -> App:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "application/json")])
        return [body]

    return app


NOT_FOUND = _refusal("404 Not Found", "not_found", "Only /metrics is served here.")
UNAUTHORIZED = _refusal("401 Unauthorized", "unauthorized", "This needs the admin token.")


def metrics_app(admin_token: Secret) -> App:
    """prometheus_client's WSGI app behind `Authorization: Bearer <admin_token>`."""
    metrics = make_wsgi_app(REGISTRY)
    expected = f"Bearer {admin_token.reveal()}".encode()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            return NOT_FOUND(environ, start_response)
        given = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
        if not admin_token or not hmac.compare_digest(given, expected):
            return UNAUTHORIZED(environ, start_response)
        answer: Iterable[bytes] = metrics(environ, start_response)
        return answer

    return app


def serve_metrics(address: tuple[str, int], admin_token: Secret) -> WSGIServer:
    """Listening when this returns (a taken port raises OSError); answers in a daemon thread."""
    host, port = address
    server = make_server(host, port, metrics_app(admin_token), ThreadingWSGIServer, _Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("worker metrics on http://%s:%d/metrics", host, server.server_port)
    return server
