"""MIME parsing of received mail: charsets, HTML, attachments, forwards, loops, hostile input."""

# ruff: noqa: RUF001  (Cyrillic test text has letters that look Latin)

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email.mime import MAX_DEPTH, ParsedMail, parse_mail

RUSSIAN = "Здравствуйте, у меня не работает доставка"


def simple(text: str, charset: str, subject: str = "Hello") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Иван Петров <ivan@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = "<abc.1@client.example.org>"
    msg.set_content(text, charset=charset, cte="base64" if charset != "utf-8" else None)
    return msg.as_bytes()


def handwritten(headers: str, body: bytes) -> bytes:
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("utf-8", "Grüße, " + RUSSIAN + " 使って"),
        ("windows-1251", RUSSIAN),
        ("koi8-r", RUSSIAN),
        ("iso-8859-2", "Dzień dobry, Škoda łódź"),
    ],
)
def test_declared_charsets_decode(charset: str, text: str) -> None:
    mail = parse_mail(simple(text, charset))
    assert mail.text == text
    assert mail.flags == ()
    assert mail.attachments == ()
    assert mail.sender.address == "ivan@example.org"
    assert mail.sender.name == "Иван Петров"
    assert mail.message_id == "abc.1@client.example.org"


def test_mislabelled_body_keeps_the_raw_part_and_reads_it_as_cp1251() -> None:
    raw_body = RUSSIAN.encode("cp1251")
    raw = handwritten(
        """
From: a@example.org
Subject: mislabelled
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
""",
        raw_body,
    )
    mail = parse_mail(raw)
    assert mail.text == RUSSIAN
    assert "charset_guessed" in mail.flags
    assert [a.data for a in mail.attachments] == [raw_body]


@pytest.mark.parametrize("label", ["iso-8859-1", "x-mac-cyrillic", "us-ascii"])
def test_utf8_labelled_as_a_legacy_charset_reads_as_utf8(label: str) -> None:
    raw = handwritten(
        f"From: a@example.org\nContent-Type: text/plain; charset={label}\n",
        "Grüße – ".encode() + RUSSIAN.encode(),
    )
    mail = parse_mail(raw)
    assert (mail.text, mail.flags) == ("Grüße – " + RUSSIAN, ())


def test_mac_cyrillic_under_its_x_label() -> None:
    raw = handwritten(
        "From: a@example.org\nContent-Type: text/plain; charset=x-mac-cyrillic\n",
        RUSSIAN.encode("mac_cyrillic"),
    )
    assert parse_mail(raw).text == RUSSIAN


@pytest.mark.parametrize("codec", ["cp1251", "koi8_r"])
def test_undeclared_cyrillic_is_told_apart(codec: str) -> None:
    raw = handwritten("From: a@example.org\nSubject: x\n", RUSSIAN.encode(codec))
    mail = parse_mail(raw)
    assert (mail.text, mail.flags) == (RUSSIAN, ("charset_guessed",))


def test_unknown_charset_name_falls_back_without_losing_bytes() -> None:
    body = "Prüfung bestanden".encode()
    raw = handwritten(
        """
From: a@example.org
Subject: =?x-no-such-charset?Q?Pr=C3=BCfung?=
Content-Type: text/plain; charset="x-no-such-charset"
Content-Transfer-Encoding: 8bit
""",
        body,
    )
    mail = parse_mail(raw)
    assert mail.text == "Prüfung bestanden"
    assert mail.subject == "Prüfung"


def test_latin_fallback_for_bytes_that_are_not_utf8() -> None:
    body = "Größe: 3 €".encode("cp1252")
    raw = handwritten("From: a@example.org\nContent-Type: text/plain\n", body)
    mail = parse_mail(raw)
    assert mail.text == "Größe: 3 €"
    assert mail.attachments[0].data == body


def test_raw_8bit_subject_in_cp1251_is_recovered() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: "
        + "Привет мир".encode("cp1251")
        + b"\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n"
        + "тело".encode("cp1251")
    )
    mail = parse_mail(raw)
    assert mail.subject == "Привет мир"
    assert mail.text == "тело"


@pytest.mark.parametrize(
    "subject",
    ["=?UTF-8?B?0J/RgNC40LLQtdGCINC80LjRgA==?=", "=?koi8-r?Q?=F0=D2=C9=D7=C5=D4_=CD=C9=D2?="],
)
def test_rfc2047_subjects(subject: str) -> None:
    raw = handwritten(f"From: a@example.org\nSubject: {subject}\n", b"x")
    assert parse_mail(raw).subject == "Привет мир"


HOSTILE = (
    "<html><head><title>t</title><style>p{color:red}</style></head><body>"
    '<p onclick="steal()">Hello <b>there</b></p><script>alert(1)</script>'
    '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">link</a>'
    '<iframe src="https://evil.example"></iframe><img src="cid:logo@x"></body></html>'
)


def test_html_only_is_sanitized_and_gives_text() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg.set_content(HOSTILE, subtype="html")
    mail = parse_mail(msg.as_bytes())
    lowered = mail.html.lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "<iframe", "alert(1)", "color:red"):
        assert bad not in lowered
    assert "<b>there</b>" in mail.html
    assert 'src="cid:logo@x"' in mail.html
    assert mail.text == "Hello there\nlink"


def test_alternative_prefers_text_plain_and_keeps_html() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg.set_content("plain version")
    msg.add_alternative("<p>html <i>version</i></p>", subtype="html")
    mail = parse_mail(msg.as_bytes())
    assert mail.text == "plain version"
    assert mail.html == "<p>html <i>version</i></p>"


def test_nested_alternative_inside_related_inside_mixed_with_inline_image() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg.set_content("see the logo")
    msg.add_alternative('<p>see the logo <img src="cid:logo@x"></p>', subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(b"\x89PNG fake", "image", "png", cid="<logo@x>")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    mail = parse_mail(msg.as_bytes())
    assert mail.text == "see the logo"
    assert 'src="cid:logo@x"' in mail.html
    image, pdf = mail.attachments
    assert (image.content_type, image.inline, image.content_id) == ("image/png", True, "logo@x")
    assert image.data == b"\x89PNG fake"
    assert (pdf.name, pdf.inline, pdf.size) == ("a.pdf", False, 8)


def test_empty_plain_alternative_falls_back_to_html_text() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg.set_content("\n\n")
    msg.add_alternative("<b>only here</b>", subtype="html")
    assert parse_mail(msg.as_bytes()).text == "only here"


def test_non_ascii_file_names_rfc2231_and_rfc2047() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg.set_content("files")
    msg.add_attachment(b"one", maintype="application", subtype="pdf", filename="Счёт №5.pdf")
    rfc2231 = msg.as_bytes()
    assert b"filename*=" in rfc2231
    raw2047 = handwritten(
        """
From: a@example.org
Content-Type: multipart/mixed; boundary="b"
""",
        b"--b\r\nContent-Type: text/plain\r\n\r\nfiles\r\n--b\r\n"
        b'Content-Type: application/pdf; name="=?UTF-8?B?0KHRh9GR0YIg4oSWNS5wZGY=?="\r\n'
        b'Content-Disposition: attachment; filename="=?UTF-8?B?0KHRh9GR0YIg4oSWNS5wZGY=?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"one") + b"\r\n--b--\r\n",
    )
    for raw in (rfc2231, raw2047):
        (attachment,) = parse_mail(raw).attachments
        assert (attachment.name, attachment.data) == ("Счёт №5.pdf", b"one")


def test_file_names_never_carry_a_path() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg.add_attachment(b"x", maintype="text", subtype="plain", filename="../../etc/passwd")
    (attachment,) = parse_mail(msg.as_bytes()).attachments
    assert attachment.name == "passwd"


def forwarded() -> bytes:
    inner = EmailMessage()
    inner["From"] = "Boss <boss@example.net>"
    inner["Subject"] = "Original question"
    inner["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    inner.set_content("the original text")
    inner.add_attachment(b"data", maintype="application", subtype="zip", filename="orig.zip")
    outer = EmailMessage()
    outer["From"] = "a@example.org"
    outer["Subject"] = "Fwd: Original question"
    outer.set_content("please look at this")
    outer.add_attachment(inner)
    return outer.as_bytes()


def test_message_rfc822_forward_contributes_text_and_attachments() -> None:
    mail = parse_mail(forwarded())
    assert mail.text.startswith("please look at this\n\n---------- Forwarded message")
    assert "Subject: Original question" in mail.text
    assert mail.text.endswith("the original text")
    eml, zipped = mail.attachments
    assert (eml.name, eml.content_type) == ("Original question.eml", "message/rfc822")
    assert parse_mail(eml.data).text == "the original text"
    assert (zipped.name, zipped.data) == ("orig.zip", b"data")


def test_multipart_signed_keeps_the_signature_as_an_attachment() -> None:
    signed = MIMEMultipart("signed", protocol="application/pgp-signature", micalg="pgp-sha256")
    signed["From"] = "a@example.org"
    signed.attach(MIMEText("signed words", "plain", "utf-8"))
    signature = MIMEApplication(b"-----BEGIN PGP SIGNATURE-----", "pgp-signature")
    signature.add_header("Content-Disposition", "attachment", filename="signature.asc")
    signed.attach(signature)
    mail = parse_mail(signed.as_bytes())
    assert mail.text == "signed words"
    assert [a.name for a in mail.attachments] == ["signature.asc"]


def report(report_type: str, sender: str) -> bytes:
    return handwritten(
        f"""
From: {sender}
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type={report_type}; boundary="r"
""",
        b"--r\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--r--\r\n",
    )


def test_bounces() -> None:
    by_report = parse_mail(report("delivery-status", "mx@example.net"))
    assert (by_report.kind, by_report.no_reply) == ("bounce", True)
    assert by_report.text == "Your mail could not be delivered."
    (status,) = by_report.attachments
    assert status.content_type == "message/delivery-status"
    assert b"Status: 5.1.1" in status.data
    daemon = parse_mail(simple("x", "utf-8").replace(b"ivan@example.org", b"MAILER-DAEMON@mx.net"))
    assert daemon.kind == "bounce"
    plain = simple("x", "utf-8")
    assert parse_mail(plain, envelope_from="").kind == "bounce"
    assert parse_mail(plain, envelope_from="ivan@example.org").kind == "human"
    assert parse_mail(b"Return-Path: <>\r\n" + plain).kind == "bounce"


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated; owner-email=x@example.org",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "Precedence: bulk",
        "Precedence: junk",
    ],
)
def test_auto_replies(header: str) -> None:
    mail = parse_mail(header.encode() + b"\r\n" + simple("away", "utf-8"))
    assert (mail.kind, mail.no_reply) == ("auto", True)


LIST_HEADERS = ["Precedence: list", "List-Id: <help.example.com>", "X-Auto-Response-Suppress: All"]


@pytest.mark.parametrize("header", LIST_HEADERS)
def test_list_mail_opens_a_case_but_gets_no_reply(header: str) -> None:
    mail = parse_mail(header.encode() + b"\r\n" + simple("hi", "utf-8"))
    assert (mail.kind, mail.no_reply) == ("human", True)


def test_ordinary_mail_and_auto_submitted_no() -> None:
    mail = parse_mail(b"Auto-Submitted: no\r\n" + simple("hi", "utf-8"))
    assert (mail.kind, mail.no_reply) == ("human", False)
    assert parse_mail(report("disposition-notification", "a@example.org")).kind == "auto"


def test_threading_headers_and_date() -> None:
    raw = b"In-Reply-To: <case-7.e1.ab12@gw.example.com>\r\n" + (
        b"References: <first@x> <case-7.e1.ab12@gw.example.com>\r\n"
        b"Date: Tue, 01 Dec 2026 10:00:00 +0300\r\n" + simple("hi", "utf-8")
    )
    mail = parse_mail(raw)
    assert mail.in_reply_to == ("case-7.e1.ab12@gw.example.com",)
    assert mail.references == ("first@x", "case-7.e1.ab12@gw.example.com")
    assert mail.date is not None and mail.date.utcoffset() is not None
    assert mail.date.isoformat() == "2026-12-01T10:00:00+03:00"


def test_deep_nesting_is_bounded_and_the_whole_mail_kept() -> None:
    depth = MAX_DEPTH + 5
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth)
    )
    tail = "".join(f"\r\n--b{i}--" for i in reversed(range(depth)))
    leaf = "Content-Type: text/plain\r\n\r\ndeep"
    raw = ("From: a@example.org\r\n" + head + leaf + tail).encode()
    mail = parse_mail(raw)
    assert "truncated" in mail.flags
    assert mail.attachments[-1].data == raw


def test_too_many_parts_keeps_the_headers_and_the_whole_mail() -> None:
    part = b"--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n"
    parts = part * 2000
    raw = handwritten(
        """
From: Flood <flood@example.org>
Subject: [Case #5] many parts
Content-Type: multipart/mixed; boundary="b"
""",
        parts + b"--b--\r\n",
    )
    mail = parse_mail(raw)
    assert (mail.subject, mail.sender.address, mail.flags) == (
        "[Case #5] many parts",
        "flood@example.org",
        ("truncated",),
    )
    assert [a.data for a in mail.attachments] == [raw]


def assert_sane(mail: ParsedMail, raw: bytes) -> None:
    assert mail.size == len(raw)
    if "unparsed" in mail.flags:
        assert mail.attachments[0].data == raw
    assert "<script" not in mail.html.lower()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert_sane(parse_mail(raw), raw)


VALID = forwarded() + report("delivery-status", "mx@example.net")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(max_size=8)), max_size=12))
def test_mutated_mail_never_raises(edits: list[tuple[int, bytes]]) -> None:
    raw = bytearray(VALID)
    for position, replacement in edits:
        raw[position : position + len(replacement)] = replacement
    assert_sane(parse_mail(bytes(raw)), bytes(raw))
