"""Threading of mail by the case tag in the subject and by the gateway's Message-IDs."""

# ruff: noqa: RUF001  (Cyrillic prefixes have letters that look Latin)

from __future__ import annotations

import base64
import quopri

import pytest

from channels.email.threading import (
    MAX_CASE_ID,
    SubjectTag,
    case_from_references,
    make_message_id,
    message_ids,
    parse_message_id,
    referenced_case,
    strip_reply_prefixes,
)

TAG = SubjectTag("[Case #{id}]")
PREFIXES = [
    "Re:", "RE:", "re:", "Re[2]:", "Re(3):", "Re:Re:", "RE: RE:", "Fwd:", "FWD:", "Fw:", "FW:",
    "AW:", "WG:", "SV:", "VS:", "Antw:", "Odp:", "PD:", "TR:", "RIF:", "R:", "Ответ:", "Отв:",
    "Пересл:", "Переслать:", "НА:", "RE :", "Re：",
]  # fmt: skip


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_prefix_finds_the_tag_and_strips_for_display(prefix: str) -> None:
    subject = f"{prefix} [Case #42] Printer on fire"
    assert TAG.find(subject) == 42
    assert strip_reply_prefixes(subject) == "[Case #42] Printer on fire"


@pytest.mark.parametrize(
    "subject",
    [
        "Re: AW: Fwd: RE[2]: Ответ: [Case #42] Printer on fire",
        "Re:Re:Re:Re: [Case #42] Printer on fire",
        "Fw: WG: SV: VS: Antw: Odp: PD: TR: RIF: Отв: Пересл: [Case #42] Printer on fire",
    ],
)
def test_nested_prefixes(subject: str) -> None:
    assert TAG.find(subject) == 42
    assert strip_reply_prefixes(subject) == "[Case #42] Printer on fire"


def encoded(text: str, charset: str, encoding: str) -> str:
    data = text.encode(charset)
    if encoding == "B":
        payload = base64.b64encode(data).decode()
    else:
        payload = quopri.encodestring(data, header=True).decode()
    return f"=?{charset}?{encoding}?{payload}?="


@pytest.mark.parametrize(
    ("charset", "encoding"), [("utf-8", "B"), ("utf-8", "Q"), ("koi8-r", "B"), ("koi8-r", "Q")]
)
def test_tag_inside_encoded_words(charset: str, encoding: str) -> None:
    subject = encoded("Ответ: [Case #77] Не работает", charset, encoding)
    assert "[Case #77]" not in subject
    assert TAG.find(subject) == 77


def test_tag_split_across_two_encoded_words() -> None:
    first, second = encoded("Re: [Ca", "utf-8", "B"), encoded("se #78] тест", "utf-8", "B")
    assert TAG.find(f"{first}\r\n {second}") == 78


@pytest.mark.parametrize(
    "subject",
    ["[case #9] x", "[CASE #9]", "[ Case  #  9 ]", "[Case#9]", "[Case\u00a0#9]", "x[Case #9]y"],
)
def test_tag_with_odd_spacing_and_case(subject: str) -> None:
    assert TAG.find(subject) == 9


@pytest.mark.parametrize(
    "subject",
    [
        "Order 12345 is late",
        "Case #9",
        "[Case 9]",
        "[Ticket #9]",
        "[Case #]",
        "[Case #0]",
        "[Case #9a]",
        "[Case #١٢]",
        f"[Case #{MAX_CASE_ID + 1}]",
        "[Case #" + "9" * 40 + "]",
    ],
)
def test_no_case_without_a_valid_tag(subject: str) -> None:
    assert TAG.find(subject) is None


def test_largest_case_id_and_first_tag_wins() -> None:
    assert TAG.find(f"[Case #{MAX_CASE_ID}]") == MAX_CASE_ID
    assert TAG.find("Re: [Case #5] Fwd: [Case #6]") == 5


def test_other_templates() -> None:
    ticket = SubjectTag("Ticket#{id}")
    assert ticket.find("AW: OTRS [ticket# 118192]") == 118192
    assert ticket.find("Ticket#1181920") == 1181920
    assert SubjectTag("{id}").find("no digits") is None
    with pytest.raises(ValueError):
        SubjectTag("[Case]")


def test_reply_subject_carries_the_tag_once() -> None:
    assert TAG.reply_subject("Printer on fire", 7) == "Re: [Case #7] Printer on fire"
    assert TAG.reply_subject("RE: AW: [case # 7] Printer on fire", 7) == (
        "Re: [Case #7] Printer on fire"
    )
    assert TAG.reply_subject("", 7) == "Re: [Case #7]"


def test_gateway_message_ids_round_trip() -> None:
    first = make_message_id(42, "1733220000000-0", "gw.example.com")
    second = make_message_id(42, "1733220000000-0", "gw.example.com")
    assert first != second
    assert first.startswith("<case-42.1733220000000-0.") and first.endswith("@gw.example.com>")
    assert parse_message_id(first) == (42, "1733220000000-0")
    assert parse_message_id(first.strip("<>"), ["GW.example.com"]) == (42, "1733220000000-0")
    assert parse_message_id(first, ["other.example.com"]) is None
    with pytest.raises(ValueError):
        make_message_id(0, "e", "gw.example.com")
    with pytest.raises(ValueError):
        make_message_id(1, "bad.entry", "gw.example.com")


@pytest.mark.parametrize(
    "message_id",
    [
        "abc@client.example.org",
        "case-x.1.ab@gw.example.com",
        "case-0.1.ab@gw.example.com",
        f"case-{MAX_CASE_ID + 1}.1.ab@gw.example.com",
        "case-5.1.ab",
    ],
)
def test_foreign_message_ids_name_no_case(message_id: str) -> None:
    assert parse_message_id(message_id) is None


def test_tag_only_in_references() -> None:
    references = message_ids(
        "<first@client.example.org>\r\n <case-31.e2.ab@gw.example.com> <later@client.example.org>"
    )
    assert references[1] == "case-31.e2.ab@gw.example.com"
    assert TAG.find("Re: Printer on fire") is None
    assert case_from_references((), references) == 31
    assert case_from_references((), references, ["elsewhere.example.com"]) is None


def test_in_reply_to_wins_over_older_references() -> None:
    references = ("case-1.e1.ab@gw.example.com", "case-2.e1.ab@gw.example.com")
    assert case_from_references((), references) == 2
    assert case_from_references(("case-3.e1.ab@gw.example.com",), references) == 3
    assert case_from_references(("client@x",), ("client@y",)) is None


def test_referenced_case_prefers_the_headers_over_the_subject() -> None:
    gateway_mail = ("case-8.e1.ab@gw.example.com",)
    assert referenced_case(TAG, "Re: [Case #9] x", gateway_mail, (), ["gw.example.com"]) == 8
    assert referenced_case(TAG, "Re: [Case #9] x", ("client@x",), (), ["gw.example.com"]) == 9
    assert referenced_case(TAG, "Re: x", ("client@x",), ("client@y",)) is None
