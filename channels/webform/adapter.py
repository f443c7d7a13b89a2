"""Web forms: urlencoded, multipart (attachments) or JSON posts to `/forms/{form_id}`.

Every submission is a new case. A filled honeypot field `website` marks a bot: accepted, dropped.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web
from aiohttp.hdrs import (
    CONTENT_DISPOSITION,
    CONTENT_ENCODING,
    CONTENT_TRANSFER_ENCODING,
    CONTENT_TYPE,
)
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from channels import validate
from channels.errors import BadRequest, InvalidField, NotFound, UnsupportedMedia
from channels.message import Attachment, InboundMessage
from channels.phones import normalize
from channels.webform.settings import Form, WebformSettings
from gateway.http.body import check_declared_size, require_type, too_large

HONEYPOT = "website"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TEXT_FIELDS = ("message", "text")
# gateway.http.app.MAX_BODY caps read()/post(); aiohttp does not cap a multipart stream as a whole.
MAX_MULTIPART = 25 * 1024 * 1024
MAX_FILENAME = 255  # what file systems keep; longer names are not from a real file
MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,63}/[a-z0-9!#$&^_.+-]{1,63}")
TRANSFER_ENCODINGS = ("binary", "8bit", "7bit", "base64", "quoted-printable")


def find_form(settings: WebformSettings | None, form_id: str) -> Form:
    form = settings.forms.get(form_id) if settings else None
    if form is None:
        raise NotFound(f"There is no form '{form_id}'.", code="form_not_found")
    return form


@lru_cache(maxsize=1024)
def _names(header: str) -> tuple[str | None, str | None]:
    """(field name, file name) of a part. aiohttp parses the header again on every read of
    `part.name`/`part.filename`, and that parser was 30 % of multipart intake (bench/intake.py);
    the headers repeat from one submission to the next, so each is parsed once."""
    _, params = parse_content_disposition(header)
    return params.get("name"), content_disposition_filename(params, "filename")


def _attachment(name: str, filename: str, kind: str, data: bytes) -> Attachment:
    if len(filename) > MAX_FILENAME:
        raise InvalidField(f"A file name is longer than {MAX_FILENAME} characters.", field=name)
    media = kind.split(";", 1)[0].strip().lower()  # parameters would break the download's header
    if not MEDIA_TYPE.fullmatch(media):
        raise InvalidField(
            f"The file's Content-Type '{kind[:80]}' is not a media type.", field=name
        )
    return Attachment(validate.storable(filename, name), media, data)


async def _field_text(part: BodyPartReader, name: str) -> str:
    encoding = part.headers.get(CONTENT_TRANSFER_ENCODING, "binary").lower()
    if (
        encoding not in TRANSFER_ENCODINGS
        or part.headers.get(CONTENT_ENCODING, "identity") != "identity"
    ):
        raise UnsupportedMedia(f"The part '{name[:80]}' has an encoding this form does not take.")
    return validate.storable(await part.text(), name)


async def _read_multipart(request: web.Request) -> tuple[dict[str, str], list[Attachment]]:
    fields: dict[str, str] = {}
    files: list[Attachment] = []
    check_declared_size(request, MAX_MULTIPART)
    total = 0
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        name, filename = _names(part.headers.get(CONTENT_DISPOSITION, ""))
        if not name:
            continue
        name = validate.storable(name, "name")
        if filename:
            data = bytes(await part.read())
            kind = part.headers.get(CONTENT_TYPE, "application/octet-stream")
            files.append(_attachment(name, filename, kind, data))
            total += len(data)
        else:
            fields[name] = await _field_text(part, name)
            total += len(fields[name])
        if total > MAX_MULTIPART:
            raise too_large(MAX_MULTIPART)
    return fields, files


def _urlencoded(raw: bytes, charset: str) -> dict[str, str]:
    """Strictly decoded: invalid bytes (raw or percent-encoded) are refused, never replaced."""
    pairs = parse_qsl(
        raw.decode(charset), keep_blank_values=True, encoding=charset, errors="strict"
    )
    return {validate.storable(k, "name"): validate.storable(v, k) for k, v in pairs}


def _json_fields(raw: bytes) -> dict[str, str]:
    body = validate.json_object(raw)
    return {validate.storable(k, "name"): validate.text(v, k) for k, v in body.items()}


async def _read_fields(request: web.Request) -> tuple[dict[str, str], list[Attachment]]:
    kind = require_type(request, *FORM_TYPES)
    try:
        if kind == "multipart/form-data":
            return await _read_multipart(request)
        if kind == "application/json":
            return _json_fields(await request.read()), []
        return _urlencoded(await request.read(), request.charset or "utf-8"), []
    except LookupError:  # an unknown charset, or a codec that is no text encoding (rot13)
        raise UnsupportedMedia("The body's charset is not one this server knows.") from None
    except (ValueError, AssertionError, RuntimeError, zlib.error, HttpProcessingError) as error:
        # aiohttp's multipart reader says "no boundary", "truncated" or "unknown encoding" so
        raise BadRequest(f"The form body is malformed: {error}.", code="malformed_form") from None


def is_bot(fields: dict[str, str]) -> bool:
    return bool(fields.get(HONEYPOT, "").strip())


def _contact(fields: dict[str, str], region: str) -> tuple[str, str]:
    phone = fields.get("phone", "").strip()
    email = fields.get("email", "").strip()
    if not phone and not email:
        raise InvalidField("A phone or an e-mail is required.", code="missing_field", field="phone")
    if email and not EMAIL.match(email):
        raise InvalidField(f"'{email}' is not an e-mail address.", field="email")
    return (normalize(phone, region) if phone else ""), email


async def parse(request: web.Request, region: str, form: Form) -> tuple[InboundMessage, bool]:
    """The message and whether it came from a bot (then it must not be stored)."""
    fields, files = await _read_fields(request)
    bot = is_bot(fields)
    phone, email = ("", "") if bot else _contact(fields, region)
    text = next((fields[name] for name in TEXT_FIELDS if fields.get(name)), "")
    extra = {k: v for k, v in fields.items() if k != HONEYPOT}
    message = InboundMessage(
        channel="webform",
        dedupe_scope=f"form:{form.id}",
        delivery_id=validate.idempotency_key(request.headers.get("Idempotency-Key")),
        sender_phone=phone,
        sender_email=email,
        sender_name=fields.get("name", "").strip(),
        to=form.id,
        text=text,
        subject=fields.get("subject", "").strip(),
        form=form.id,
        fields=extra,
        attachments=tuple(files),
        threading="new",
        service_hint=form.service,
    )
    return message, bot
