"""`multipart/form-data` (RFC 7578) read from the whole body: its parts in order, lazily.

The rules are aiohttp's (its reader served this form before): the first delimiter line may follow
a preamble, a delimiter is `CRLF--boundary` followed by only white space (or `--` at the close),
part headers are HTTP fields (a token name, no control characters, 8190 bytes and 128 fields at
most) and a part ends at the next delimiter. Anything else is `malformed_form`. aiohttp's stream
reader cost 600-900 us per browser post; this reads bytes that the edge already bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from channels.errors import BadRequest

MAX_BOUNDARY = 70  # RFC 2046 §5.1.1
MAX_LINE = 8190  # a part header line, as aiohttp's max_field_size
MAX_FIELDS = 128  # header fields of one part
TOKEN = re.compile(r"[0-9A-Za-z!#$%&'*+\-.^_`|~]+")
FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # RFC 9110 §5.5: no CTL but HTAB
SINGLETONS = frozenset({"content-type", "content-length", "content-disposition"})
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"\s*;\s*(?:([^\s;=]+)\s*=\s*({_QUOTED}|[^\s;\"]+)\s*)?")
_EXTENDED = re.compile(r"([^']*)'[^']*'([!#$%&+\-.^_`|~0-9A-Za-z]*)")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class Part:
    headers: dict[str, str]  # names lower-cased; the first of repeated fields wins
    content: bytes  # as sent: a Content-Transfer-Encoding is not undone here


def malformed(why: str) -> BadRequest:
    return BadRequest(f"The form body is malformed: {why}.", code="malformed_form")


def parts(body: bytes, boundary: str | None) -> Iterator[Part]:
    """Each part in order; a malformed body raises when the reading reaches the fault."""
    delimiter = _delimiter(boundary)
    at = _first_part(body, delimiter)
    while at >= 0:
        headers, start = _headers(body, at)
        if body.startswith(delimiter, start):  # an empty part whose CRLF ended the headers
            end = after = start
        else:
            end = body.find(b"\r\n" + delimiter, start)
            if end < 0:
                raise malformed("a part has no closing delimiter")
            after = end + 2
        at = _next_part(body, after + len(delimiter))
        yield Part(headers, body[start:end])


def _delimiter(boundary: str | None) -> bytes:
    if not boundary:
        raise malformed("Content-Type names no boundary")
    if len(boundary) > MAX_BOUNDARY or not boundary.isascii() or not boundary.isprintable():
        raise malformed(f"the boundary is not 1 to {MAX_BOUNDARY} printable ASCII characters")
    return b"--" + boundary.encode("ascii")


def _first_part(body: bytes, delimiter: bytes) -> int:
    """Where the first part starts (a preamble skipped), or -1 when the body closes at once."""
    found = body.find(delimiter)
    while found >= 0:
        if found == 0 or body[found - 1] == 0x0A:  # at the start of a line
            try:
                return _next_part(body, found + len(delimiter))
            except BadRequest:
                pass  # a preamble line that merely starts like the delimiter
        found = body.find(delimiter, found + 1)
    raise malformed("the body has no delimiter line")


def _next_part(body: bytes, at: int) -> int:
    """After a delimiter: where the next part starts, or -1 after the close delimiter."""
    eol = body.find(b"\n", at)
    rest = body[at : len(body) if eol < 0 else eol].rstrip()
    if rest == b"--":
        return -1
    if rest or eol < 0:
        raise malformed("a delimiter is followed by more than white space or ends the body")
    return eol + 1


def _headers(body: bytes, at: int) -> tuple[dict[str, str], int]:
    """A part's header fields and where its content starts."""
    fields: dict[str, str] = {}
    count = 0
    while True:
        eol = body.find(b"\n", at)
        if eol < 0:
            raise malformed("a part's headers never end")
        line = body[at:eol].rstrip(b"\r\n")
        at = eol + 1
        if len(line) > MAX_LINE or count >= MAX_FIELDS:
            raise malformed("a part's headers are too long")
        if not line:
            return fields, at
        count += 1
        name, value = _field(line)
        if name in fields and name in SINGLETONS:
            raise malformed(f"a part repeats its {name} header")
        fields.setdefault(name, value)


def _field(line: bytes) -> tuple[str, str]:
    """(lower-cased name, value) of one header line."""
    raw_name, colon, raw_value = line.partition(b":")
    name = raw_name.decode("utf-8", "surrogateescape")
    value = raw_value.strip(b" \t").decode("utf-8", "surrogateescape")
    if not colon or not TOKEN.fullmatch(name) or FORBIDDEN.search(value):
        raise malformed("a part has a header field that is not one")
    return name.lower(), value


@lru_cache(maxsize=1024)
def disposition(header: str) -> tuple[str | None, str | None]:
    """(field name, file name) of a part; (None, None) when the header is not a disposition.

    Cached: the headers repeat from one submission to the next."""
    params = _disposition_params(header)
    if params is None:
        return None, None
    return params.get("name"), params.get("filename*", params.get("filename"))


def _disposition_params(header: str) -> dict[str, str] | None:
    kind = header.split(";", 1)[0]
    if not TOKEN.fullmatch(kind.strip()):
        return None
    params: dict[str, str] = {}
    at = len(kind)
    while at < len(header):
        found = _PARAM.match(header, at)
        if found is None or found.end() == at:
            return None
        at = found.end()
        name, value = (found[1] or "").lower(), found[2]
        if name in params:
            return None  # which of two names would be the real one?
        if value is not None and TOKEN.fullmatch(name):
            decoded = _param_value(name, value)
            if decoded is not None:
                params[name] = decoded
    return params


def _param_value(name: str, value: str) -> str | None:
    if name.endswith("*"):  # RFC 8187: charset'language'percent-encoded
        extended = _EXTENDED.fullmatch(value)
        if extended is None:
            return None
        try:
            return unquote(extended[2], extended[1] or "utf-8", "strict")
        except (LookupError, UnicodeDecodeError):
            return None
    if value.startswith('"'):
        # leading slashes dropped, as aiohttp did: no file name is an absolute path
        return _ESCAPE.sub(r"\1", value[1:-1]).lstrip("\\/")
    return value
