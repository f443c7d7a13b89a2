"""channels/webform/multipart.py and the form reader on bytes: what browsers and odd clients send.

The refusals of hostile bodies are in test_hostile_input.py and test_fuzz.py (over HTTP); these
pin the accepted shapes the reader keeps from aiohttp's and RFC 7578's rules."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from channels.base import Delivery
from channels.errors import IntakeError
from channels.webform.adapter import read_fields

KIND = "multipart/form-data; boundary=B"


def part(disposition: str, value: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in (f"Content-Disposition: form-data; {disposition}", *headers))
    return b"--B\r\n" + head.encode() + b"\r\n" + value + b"\r\n"


EMAIL = part('name="email"', b"a@example.org")


def read(body: bytes, kind: str = KIND) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    fields, files = read_fields(Delivery(CIMultiDict({"Content-Type": kind}), body))
    return fields, [(a.name, a.type, a.data) for a in files]


def refused(body: bytes, kind: str = KIND) -> tuple[str, str | None]:
    with pytest.raises(IntakeError) as caught:
        read(body, kind)
    return caught.value.code, caught.value.field


def test_preamble_epilogue_and_bare_line_feeds_in_headers_are_read() -> None:
    assert read(b"preamble\r\n" + EMAIL + b"--B--\r\nepilogue")[0] == {"email": "a@example.org"}
    lf = b'--B\nContent-Disposition: form-data; name="email"\n\na@example.org\r\n--B--\n'
    assert read(lf)[0] == {"email": "a@example.org"}  # a part still ends at CRLF + delimiter
    assert read(EMAIL + b"--B--", 'multipart/form-data; boundary="B"')[0] == {
        "email": "a@example.org"
    }


def test_files_keep_their_bytes_and_names() -> None:
    data = b"\x00\xff\r\n--b-lookalike\r\n-B--\n--B"  # no CRLF + "--B": no delimiter
    euro = part("name=\"f\"; filename*=utf-8''%E2%82%AC.txt", data, "Content-Type: text/plain")
    _, files = read(EMAIL + euro + part('name="g"; filename="/etc/passwd"', b"") + b"--B--\r\n")
    assert files == [("€.txt", "text/plain", data), ("etc/passwd", "application/octet-stream", b"")]


def test_text_fields_undo_their_transfer_encoding_and_charset() -> None:
    body = (
        EMAIL
        + part('name="b"', b"0J/RgNC40LLQtdGC", "Content-Transfer-Encoding: base64")
        + part('name="q"', b"a=3Db", "Content-Transfer-Encoding: quoted-printable")
        + part('name="k"', "привет".encode("koi8-r"), "Content-Type: text/plain; charset=koi8-r")
        + b"--B--\r\n"
    )
    assert read(body)[0] == {"email": "a@example.org", "b": "Привет", "q": "a=b", "k": "привет"}


def test_a_first_charset_field_sets_the_charset_of_the_others() -> None:
    body = part('name="_charset_"', b"koi8-r") + part('name="text"', "да".encode("koi8-r"))
    assert read(body + b"--B--\r\n")[0] == {"text": "да"}


def test_parts_without_a_usable_name_are_skipped() -> None:
    body = EMAIL + part("name=", b"x") + part('name="a"; name="b"', b"x") + b"--B--\r\n"
    assert read(body)[0] == {"email": "a@example.org"}


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (EMAIL + b"--B--\r\n", "multipart/form-data; boundary="),
        (EMAIL + b"--B--\r\n", "multipart/form-data; boundary=" + "b" * 71),
        (EMAIL + b"--Bjunk\r\n", KIND),  # a delimiter line with more than white space
        (EMAIL + b"--B\r\n", KIND),  # no close delimiter
        (EMAIL + part('name="t"', b"x", "Content-Type: a/b", "Content-Type: c/d") + b"--B--", KIND),
        (EMAIL + part('name="t"', b"x", "X-Bad Name: 1") + b"--B--\r\n", KIND),
        (part('name="_charset_"', b"x" * 32) + EMAIL + b"--B--\r\n", KIND),
    ],
)
def test_malformed_bodies_are_refused(body: bytes, kind: str) -> None:
    assert refused(body, kind) == ("malformed_form", None)
