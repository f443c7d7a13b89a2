"""Web forms: urlencoded, multipart (attachments) or JSON posts to `/forms/{form_id}`.

Every submission is a new case. A filled honeypot field `website` marks a bot: accepted, dropped.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl

from channels import schema, validate
from channels.base import Delivery, Ignored, Outcome, Reply, Stored, require_type, type_params
from channels.errors import InvalidField, NotFound, UnsupportedMedia
from channels.message import Attachment, InboundMessage
from channels.phones import normalize
from channels.webform.body import FormJson
from channels.webform.multipart import Part, disposition, malformed, parts
from channels.webform.settings import Form, WebformSettings

HONEYPOT = "website"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TEXT_FIELDS = ("message", "text")
MAX_BODY = 25 * 1024 * 1024  # attachments included; the edge refuses a longer body with 413
MAX_FILENAME = 255  # what file systems keep; longer names are not from a real file
MAX_CHARSET = 31  # `_charset_`: the longest WHATWG encoding label is 19 characters
MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,63}/[a-z0-9!#$&^_.+-]{1,63}")
TRANSFER_ENCODINGS = ("binary", "8bit", "7bit", "base64", "quoted-printable")


def find_form(settings: WebformSettings | None, form_id: str) -> Form:
    form = settings.forms.get(form_id) if settings else None
    if form is None:
        raise NotFound(f"There is no form '{form_id}'.", code="form_not_found")
    return form


def _attachment(name: str, filename: str, kind: str, data: bytes) -> Attachment:
    if len(filename) > MAX_FILENAME:
        raise InvalidField(f"A file name is longer than {MAX_FILENAME} characters.", field=name)
    media = kind.split(";", 1)[0].strip().lower()  # parameters would break the download's header
    if not MEDIA_TYPE.fullmatch(media):
        raise InvalidField(
            f"The file's Content-Type '{kind[:80]}' is not a media type.", field=name
        )
    return Attachment(validate.storable(filename, name), media, data)


def _field_text(part: Part, name: str, charset: str) -> str:
    encoding = part.headers.get("content-transfer-encoding", "binary").lower()
    if (
        encoding not in TRANSFER_ENCODINGS
        or part.headers.get("content-encoding", "identity") != "identity"
    ):
        raise UnsupportedMedia(f"The part '{name[:80]}' has an encoding this form does not take.")
    data = part.content
    if encoding == "base64":
        data = base64.b64decode(data)  # binascii.Error (a ValueError) when broken
    elif encoding == "quoted-printable":
        data = binascii.a2b_qp(data)
    charset = type_params(part.headers.get("content-type", "")).get("charset", charset)
    return validate.storable(data.decode(charset), name)


def _default_charset(part: Part) -> str:
    """The browser's `_charset_` field: the encoding of the fields that follow (RFC 7578 §4.6)."""
    if len(part.content) > MAX_CHARSET:
        raise malformed("the _charset_ field is too long")
    return part.content.strip().decode()


def _read_multipart(delivery: Delivery) -> tuple[dict[str, str], list[Attachment]]:
    fields: dict[str, str] = {}
    files: list[Attachment] = []
    charset = "utf-8"
    for index, part in enumerate(parts(delivery.body, delivery.type_params.get("boundary"))):
        if part.headers.get("content-type", "").lower().startswith("multipart/"):
            continue  # a nested multipart (RFC 7578 §4.3 retired it): no field, no file
        name, filename = disposition(part.headers.get("content-disposition", ""))
        if index == 0 and name == "_charset_":
            charset = _default_charset(part)
            continue
        if not name:
            continue
        name = validate.storable(name, "name")
        if filename:
            kind = part.headers.get("content-type", "application/octet-stream")
            files.append(_attachment(name, filename, kind, part.content))
        else:
            fields[name] = _field_text(part, name, charset)
    return fields, files


def _urlencoded(raw: bytes, charset: str) -> dict[str, str]:
    """Strictly decoded: invalid bytes (raw or percent-encoded) are refused, never replaced."""
    pairs = parse_qsl(
        raw.decode(charset), keep_blank_values=True, encoding=charset, errors="strict"
    )
    return {validate.storable(k, "name"): validate.storable(v, k) for k, v in pairs}


def _json_fields(raw: bytes) -> dict[str, str]:
    body = schema.decode(raw, FormJson)
    return {validate.storable(k, "name"): validate.text(v, k) for k, v in body.items()}


def read_fields(delivery: Delivery) -> tuple[dict[str, str], list[Attachment]]:
    """The fields and files of a form post, each value checked (SPEC §4 "Input values")."""
    kind = require_type(delivery.content_type, *FORM_TYPES)
    try:
        if kind == "multipart/form-data":
            return _read_multipart(delivery)
        if kind == "application/json":
            return _json_fields(delivery.body), []
        return _urlencoded(delivery.body, delivery.type_params.get("charset") or "utf-8"), []
    except LookupError:  # an unknown charset, or a codec that is no text encoding (rot13)
        raise UnsupportedMedia("The body's charset is not one this server knows.") from None
    except ValueError as error:  # undecodable text or base64 (BadRequest is no ValueError)
        raise malformed(str(error)) from None


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


def parse(delivery: Delivery, settings: WebformSettings | None, region: str) -> Outcome:
    """The message, or `Ignored` when a bot filled the honeypot (accepted, nothing stored)."""
    form = find_form(settings, delivery.route.get("form_id", ""))
    fields, files = read_fields(delivery)
    key = validate.idempotency_key(delivery.headers.get("Idempotency-Key"))
    if is_bot(fields):
        return Ignored("the honeypot field is filled")
    phone, email = _contact(fields, region)
    text = next((fields[name] for name in TEXT_FIELDS if fields.get(name)), "")
    return InboundMessage(
        channel="webform",
        dedupe_scope=f"form:{form.id}",
        delivery_id=key,
        sender_phone=phone,
        sender_email=email,
        sender_name=fields.get("name", "").strip(),
        to=form.id,
        text=text,
        subject=fields.get("subject", "").strip(),
        form=form.id,
        fields={k: v for k, v in fields.items() if k != HONEYPOT},
        attachments=tuple(files),
        threading="new",
        service_hint=form.service,
    )


def _wants_json(delivery: Delivery) -> bool:
    accept = delivery.headers.get("Accept", "")
    if delivery.content_type == "application/json":
        return "text/html" not in accept
    return "application/json" in accept and "text/html" not in accept


def answer(delivery: Delivery, settings: WebformSettings | None, stored: Stored | None) -> Reply:
    """JSON clients get 201 `{"case_id"}` (null for a bot), browsers 303 to the form's page."""
    if _wants_json(delivery):
        return Reply.json({"case_id": stored.case_id if stored else None}, status=201)
    form = find_form(settings, delivery.route.get("form_id", ""))
    return Reply(303, b"", "", {"Location": form.redirect})
