"""Request reading for the HTTP edge (hooks and the operator API): content types, size limits."""

from __future__ import annotations

from aiohttp import hdrs, web

from channels.errors import PayloadTooLarge, UnsupportedMedia


def media_type(request: web.Request) -> str:
    """`request.content_type` without aiohttp's parser: that one runs the e-mail package, which
    builds a new class per header (cyclic garbage, ~100 us), and caches only 56 headers, while
    browsers send a new multipart boundary with every post. Same rule as aiohttp's."""
    raw = request.headers.get(hdrs.CONTENT_TYPE, "")
    kind = raw.partition(";")[0].strip().lower()
    return kind if kind.count("/") == 1 else "application/octet-stream"


def require_type(request: web.Request, *allowed: str) -> str:
    kind = media_type(request)
    if kind not in allowed:
        raise UnsupportedMedia(f"Content-Type must be {' or '.join(allowed)}, not {kind}.")
    return kind


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The body is larger than {limit} bytes.")


def check_declared_size(request: web.Request, limit: int) -> None:
    """Refuse before reading when Content-Length already says the body is too large."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` (chunked bodies too)."""
    check_declared_size(request, limit)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    return bytes(body)
