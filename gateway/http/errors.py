"""Every HTTP error in the SPEC's JSON shape, mapped in this one place.

Each class of the error family gets its status from `STATUS` (a class not listed answers with
its nearest listed ancestor's). Three sources of errors: the project's own and storage failures
(`error_middleware`), aiohttp's refusals inside the app (router 404/405, body limits), and its
HTTP parser (request line or header too long, unknown method, broken framing), which aiohttp
answers from the protocol layer before any middleware runs; `AppRunner` gives each connection a
handler that answers those too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    IntakeError,
    InvalidField,
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
    Unauthorized,
    UnsupportedMedia,
)

log = logging.getLogger(__name__)

STATUS: dict[type[IntakeError], int] = {
    IntakeError: 500,
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,  # RoutingRefused
    PayloadTooLarge: 413,
    UnsupportedMedia: 415,
    InvalidField: 422,  # ConfigError
    StorageUnavailable: 503,
}


def status_of(error: IntakeError) -> int:
    return next(STATUS[kind] for kind in type(error).__mro__ if kind in STATUS)


def error_body(error: IntakeError) -> dict[str, dict[str, Any]]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field is not None:
        body["field"] = error.field
    body.update(error.extra)
    return {"error": body}


# aiohttp's refusals, named as our IntakeError family names them; others by their reason phrase.
CODES = {
    400: BadRequest.default_code,
    413: PayloadTooLarge.default_code,
    415: UnsupportedMedia.default_code,
    500: IntakeError.default_code,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: IntakeError) -> web.Response:
    headers = {}
    if isinstance(error, StorageUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    return web.json_response(error_body(error), status=status_of(error), headers=headers)


def status_response(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """An error we did not raise ourselves, from its status alone (the reason phrase)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    code = CODES.get(status) or reason.lower().replace(" ", "_").replace("-", "_")
    body = {"error": {"code": code, "message": reason + "."}}
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except IntakeError as error:
        return error_response(error)
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as error:
        # ReadOnlyError: a replica answered while Sentinel fails over; as transient as a timeout.
        log.warning("storage unavailable during %s %s: %s", request.method, request.path, error)
        return error_response(StorageUnavailable("Storage is unavailable; retry later."))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        allow = error.headers.get("Allow")
        return status_response(error.status, {"Allow": allow} if allow else None)
    except Exception:
        # A bug or damaged data, never bad input: the trace goes to the log, not the client.
        log.exception("internal error during %s %s", request.method, request.path)
        return error_response(IntakeError("Something went wrong on our side; it is logged."))


class JsonErrorHandler(RequestHandler):
    """aiohttp's connection handler, answering in the SPEC's shape what its parser refuses and
    what the app raises before its middleware runs (the router's `Expect` check)."""

    async def _handle_request(
        self,
        request: BaseRequest,
        start_time: float | None,
        request_handler: Callable[[BaseRequest], Awaitable[web.StreamResponse]],
    ) -> tuple[web.StreamResponse, bool]:
        async def json_errors(request: BaseRequest) -> web.StreamResponse:
            expect = request.headers.get(hdrs.EXPECT)
            if expect is not None and expect.lower() != "100-continue":
                # aiohttp would answer text/plain, or fail on a value that is not UTF-8
                return status_response(HTTPStatus.EXPECTATION_FAILED)
            try:
                return await request_handler(request)
            except web.HTTPException as error:
                if error.status < 400:
                    raise
                return status_response(error.status)

        return await super()._handle_request(request, start_time, json_errors)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: too late for any answer
            raise ConnectionError("The response was already started.")
        if status >= 500:
            log.error("internal error before routing", exc_info=exc)
        else:  # hostile or broken clients: not worth a trace each
            log.debug("refused by the HTTP parser: %s", message or exc)
        response = status_response(status)
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class AppRunner(web.AppRunner):
    """`web.AppRunner` whose connections answer parser errors with the SPEC's JSON body."""

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return JsonErrorServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )
