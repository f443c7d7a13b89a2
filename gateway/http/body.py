"""Request reading for the HTTP edge (hooks and the operator API): content types, size limits."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import hdrs, web

from channels import base, schema
from channels.errors import PayloadTooLarge

T = TypeVar("T")


def media_type(request: web.Request) -> str:
    """`request.content_type` without aiohttp's parser, which runs the e-mail package
    (a new class per header: cyclic garbage, ~100 us) and caches only 56 headers."""
    return base.media_type(request.headers.get(hdrs.CONTENT_TYPE, ""))


def require_type(request: web.Request, *allowed: str) -> str:
    return base.require_type(media_type(request), *allowed)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The body is larger than {limit} bytes.")


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` (chunked bodies too).

    Content-Length already past `limit` is refused before a byte is read."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    return bytes(body)


async def json_as(request: web.Request, kind: type[T]) -> T:
    """The JSON body decoded as its route's declared schema (gateway/http/schemas/)."""
    require_type(request, "application/json")
    return schema.decode(await request.read(), kind)
