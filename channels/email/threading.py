"""Which case a mail continues: the case tag in its subject or a gateway Message-ID it answers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence

from channels.email.headers import decode_header_text

MAX_CASE_ID = 2**53
_ID_SLOT = "{id}"
_TOKEN = re.compile(r"\w+|\S", re.UNICODE)

# Reply and forward markers of the mail clients in use, as they appear before the colon.
_PREFIX_WORDS = (
    "re|fwd?|aw|wg|sv|vs|antw|odp|pd|tr|rif|r|enc|res|rv|ynt|vl|vb|doorst|"
    "ответ|отв|пересл|переслать|на|πθ|σχετ|回复|回覆|转发|答复|轉寄"
)
_PREFIX = re.compile(
    rf"^\s*(?:(?:{_PREFIX_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*)+",
    re.IGNORECASE,
)
_MESSAGE_ID = re.compile(
    r"<?case-([0-9]{1,16})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9]{1,64})@([^<>\s]+?)>?"
)
_BRACKETED = re.compile(r"<([^<>\s]+)>")


class SubjectTag:
    """The `[cases].subject_tag` template, e.g. "[Case #{id}]", as a renderer and a matcher.

    The matcher ignores case and whitespace between the template's words and signs, and takes
    ASCII digits only, so "[ case#12 ]" matches while "[Case #١٢]" does not.
    """

    def __init__(self, template: str) -> None:
        if template.count(_ID_SLOT) != 1:
            raise ValueError("subject_tag must contain {id} exactly once")
        self.template = template
        before, after = template.split(_ID_SLOT)
        self._pattern = re.compile(
            _loose(before) + r"\s*(?<![0-9])([0-9]+)(?![0-9])\s*" + _loose(after), re.IGNORECASE
        )

    def render(self, case_id: int) -> str:
        return self.template.replace(_ID_SLOT, str(case_id))

    def find(self, subject: str) -> int | None:
        """The first valid case id tagged in a subject, raw (RFC 2047) or already decoded."""
        for match in self._pattern.finditer(decode_header_text(subject)):
            case_id = _case_id(match.group(1))
            if case_id is not None:
                return case_id
        return None

    def reply_subject(self, subject: str, case_id: int) -> str:
        """`Re: <subject>` carrying this case's tag exactly once, whatever the subject had."""
        text = self._pattern.sub(" ", strip_reply_prefixes(decode_header_text(subject)))
        body = " ".join(text.split())
        return f"Re: {self.render(case_id)} {body}".rstrip()


def _loose(literal: str) -> str:
    return r"\s*".join(re.escape(token) for token in _TOKEN.findall(literal))


def _case_id(digits: str) -> int | None:
    if len(digits) > 16:
        return None
    value = int(digits)
    return value if 0 < value <= MAX_CASE_ID else None


def strip_reply_prefixes(subject: str) -> str:
    """The subject without its stack of reply/forward prefixes ("Re: AW: Fwd[2]: x" → "x")."""
    return _PREFIX.sub("", subject).strip()


def make_message_id(case_id: int, entry: str, domain: str) -> str:
    """A Message-ID for an outgoing mail on a case; `entry` is the timeline entry it carries."""
    if _case_id(str(case_id)) is None or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", entry):
        raise ValueError("bad case id or entry for a Message-ID")
    return f"<case-{case_id}.{entry}.{secrets.token_hex(8)}@{domain}>"


def parse_message_id(message_id: str, domains: Iterable[str] = ()) -> tuple[int, str] | None:
    """(case id, entry) of a Message-ID the gateway made; with `domains`, only from those."""
    match = _MESSAGE_ID.fullmatch(message_id.strip())
    if match is None:
        return None
    allowed = {d.lower() for d in domains}
    if allowed and match.group(4).lower() not in allowed:
        return None
    case_id = _case_id(match.group(1))
    return None if case_id is None else (case_id, match.group(2))


def message_ids(header: str) -> tuple[str, ...]:
    """The ids in an `In-Reply-To` or `References` value, without angle brackets."""
    found = _BRACKETED.findall(header)
    return tuple(found) if found else tuple(header.split())


def case_from_references(
    in_reply_to: Iterable[str], references: Sequence[str], domains: Iterable[str] = ()
) -> int | None:
    """The case of the newest gateway Message-ID that a mail answers.

    In-Reply-To names the mail answered; References lists the thread oldest first.
    """
    domain_list = list(domains)
    for message_id in [*in_reply_to, *reversed(references)]:
        parsed = parse_message_id(message_id, domain_list)
        if parsed is not None:
            return parsed[0]
    return None


def referenced_case(
    tag: SubjectTag,
    subject: str,
    in_reply_to: Sequence[str],
    references: Sequence[str],
    domains: Iterable[str] = (),
) -> int | None:
    """The case a mail names: by a gateway Message-ID it answers, else by the subject's tag.

    The headers come first: mail clients set them mechanically, while people edit subjects
    (and quote other cases' tags in them).
    """
    by_headers = case_from_references(in_reply_to, references, domains)
    return by_headers if by_headers is not None else tag.find(subject)
