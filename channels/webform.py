"""Web forms: urlencoded, multipart (attachments) or JSON posts to `/forms/{form_id}`.

Every submission is a new case. A filled honeypot field `website` marks a bot: accepted, dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.hdrs import CONTENT_DISPOSITION
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from channels.errors import InvalidField, NotFound
from channels.http import check_declared_size, parse_json_object, require_type, too_large
from channels.message import Attachment, InboundMessage
from channels.phones import normalize
from channels.webform_settings import Form, WebformSettings

HONEYPOT = "website"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TEXT_FIELDS = ("message", "text")
# gateway.http.app.MAX_BODY caps read()/post(); aiohttp does not cap a multipart stream as a whole.
MAX_MULTIPART = 25 * 1024 * 1024


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
        if filename:
            data = bytes(await part.read())
            kind = part.headers.get("Content-Type", "application/octet-stream")
            files.append(Attachment(filename, kind, data))
            total += len(data)
        else:
            fields[name] = await part.text()
            total += len(fields[name])
        if total > MAX_MULTIPART:
            raise too_large(MAX_MULTIPART)
    return fields, files


async def _read_fields(request: web.Request) -> tuple[dict[str, str], list[Attachment]]:
    kind = require_type(request, *FORM_TYPES)
    if kind == "multipart/form-data":
        return await _read_multipart(request)
    if kind == "application/json":
        body: dict[str, Any] = parse_json_object(await request.read())
        return {str(k): "" if v is None else str(v) for k, v in body.items()}, []
    return {k: v for k, v in (await request.post()).items() if isinstance(v, str)}, []


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
        delivery_id=request.headers.get("Idempotency-Key"),
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
