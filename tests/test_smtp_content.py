"""What a mail's content becomes, end to end through SMTP: charsets, HTML, attachments (bytes
in the blob store, downloadable byte-exact, not in Redis)."""

# ruff: noqa: RUF001  (Cyrillic test text has letters that look Latin)

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient

from gateway.config import Config
from routing.keys import Keys
from tests.smtp_helpers import ADMIN, all_cases, mail, messages, send, smtp_app, wire

RUSSIAN = "Здравствуйте, у меня не работает доставка"
Gateway = tuple[TestClient, int]


@pytest.fixture
async def gw(aiohttp_client: Any, config: Config, redis_url: str, keys: Keys) -> Gateway:
    app, port = smtp_app(config, redis_url, keys)
    client: TestClient = await aiohttp_client(app)
    return client, port


async def only_message(client: TestClient) -> dict[str, Any]:
    (case,) = await all_cases(client)
    (entry,) = messages(case)
    return entry


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("utf-8", "Grüße, " + RUSSIAN + " 使って"),
        ("windows-1251", RUSSIAN),
        ("koi8-r", RUSSIAN),
        ("iso-8859-2", "Dzień dobry, Škoda łódź"),
    ],
)
async def test_charsets(gw: Gateway, charset: str, text: str) -> None:
    msg = mail(subject="Доставка")
    msg.set_content(text, charset=charset, cte="base64" if charset != "utf-8" else None)
    await send(gw[1], msg)
    entry = await only_message(gw[0])
    assert (entry["text"].strip(), entry["subject"]) == (text, "Доставка")


async def test_a_mislabelled_body_is_read_and_its_bytes_kept(gw: Gateway) -> None:
    body = RUSSIAN.encode("cp1251")
    raw = (
        b"From: ivan@example.org\r\nTo: support@example.com\r\nSubject: x\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body + b"\r\n"
    )  # fmt: skip
    await send(gw[1], raw)
    entry = await only_message(gw[0])
    assert entry["text"].strip() == RUSSIAN
    (kept,) = entry["attachments"]
    download = await gw[0].get(kept["url"], headers=ADMIN)
    assert (await download.read()).rstrip(b"\r\n") == body


async def test_html_only_is_sanitized_and_gives_text(gw: Gateway) -> None:
    msg = mail()
    msg.set_content(
        '<p>Hello <b>there</b></p><script>alert(1)</script><img src="x" onerror="alert(2)">',
        subtype="html",
    )
    await send(gw[1], msg)
    entry = await only_message(gw[0])
    assert "<b>there</b>" in entry["html"]
    for bad in ("<script", "onerror=", "alert("):
        assert bad not in entry["html"].lower()
    assert entry["text"].strip() == "Hello there"


def with_files(files: list[tuple[str, str, bytes]]) -> EmailMessage:
    msg = mail("files attached")
    for name, content_type, data in files:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


async def test_non_ascii_file_names_download_byte_exact_from_the_blob_store(
    gw: Gateway, config: Config
) -> None:
    files = [
        ("Счёт №5.pdf", "application/pdf", b"%PDF-1.4 " + os.urandom(3000)),
        ("naïve café.bin", "application/octet-stream", bytes(range(256)) * 4),
    ]
    await send(gw[1], with_files(files))
    entry = await only_message(gw[0])
    described = [(a["name"], a["type"], a["size"]) for a in entry["attachments"]]
    assert described == [(name, kind, len(data)) for name, kind, data in files]
    for attachment, (_, _, data) in zip(entry["attachments"], files, strict=True):
        download = await gw[0].get(attachment["url"], headers=ADMIN)
        assert download.status == 200 and await download.read() == data
    stored = [p for p in Path(config.blobs_dir).rglob("*") if p.is_file()]
    assert sorted(p.read_bytes() for p in stored) == sorted(data for _, _, data in files)


async def test_attachment_bytes_stay_out_of_redis(gw: Gateway, redis_url: str, keys: Keys) -> None:
    data = os.urandom(200_000)  # random: no compression can hide it in Redis
    await send(gw[1], with_files([("big.bin", "application/octet-stream", data)]))
    client = redis.Redis.from_url(redis_url)
    try:
        used = sum(
            int(client.memory_usage(key) or 0)
            for key in client.scan_iter(match=f"{keys.prefix}*", count=1000)
        )
    finally:
        client.close()
    assert used < 20_000


async def test_a_mail_too_nested_to_walk_is_kept_raw_on_a_case_flagged_unparsed(
    gw: Gateway,
) -> None:
    client, port = gw
    inner = mail("deep inside", subject="Nested")
    for _ in range(40):  # past the parser's depth bound
        outer = EmailMessage()
        outer["From"], outer["To"] = inner["From"], inner["To"]
        outer["Subject"] = "Nested"
        outer.make_mixed()
        outer.attach(inner)
        inner = outer
    raw = wire(inner)
    await send(port, raw)
    (case,) = await all_cases(client)
    assert "unparsed" in case["flags"]
    (entry,) = messages(case)
    (kept,) = [a for a in entry["attachments"] if a["name"].endswith(".eml")]
    download = await client.get(kept["url"], headers=ADMIN)
    assert download.status == 200 and await download.read() == raw
