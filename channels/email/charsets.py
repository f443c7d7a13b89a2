"""Bytes to text for mail whose declared charset may be missing, unknown or wrong."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

# Labels mailers write that name a superset or a misspelling of what they actually used; the
# superset decodes everything the narrower charset does, so mapping up never loses text.
_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-sjis": "shift_jis",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str
    faithful: bool  # False: a guess; the caller keeps the original bytes too


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when the label is unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    for candidate in (name, name.removeprefix("x-")):
        try:
            return codecs.lookup(candidate).name
        except (LookupError, ValueError):
            continue
    return None


def decode_bytes(data: bytes, declared: str | None) -> Decoded:
    """Decode with the declared charset, then UTF-8, then a guess among legacy code pages.

    Non-ASCII bytes that are valid UTF-8 are read as UTF-8 whatever the label: mailers often
    label UTF-8 as a legacy charset, while legacy text is almost never valid UTF-8 by chance.
    UTF-16/32 are exempt, their bytes often being valid UTF-8.
    """
    codec = codec_for(declared)
    wide = codec is not None and codec.startswith(("utf-16", "utf-32"))
    order = (codec, "utf-8") if wide or data.isascii() else ("utf-8", codec)
    for candidate in order:
        if candidate is None:
            continue
        try:
            return Decoded(data.decode(candidate), candidate, True)
        except (UnicodeDecodeError, LookupError):
            continue
    guess = guess_legacy(data)
    return Decoded(data.decode(guess, "replace"), guess, False)


def guess_legacy(data: bytes) -> str:
    """Pick a single-byte code page for bytes that are not UTF-8.

    Western text is mostly ASCII letters with a few accented ones; Cyrillic text read as cp1252
    is mostly accented letters. Between cp1251 and KOI8-R, the right one turns the bulk of the
    letters into lower case, as running text is.
    """
    western = data.decode("cp1252", "replace")
    letters = [c for c in western if c.isalpha()]
    high = sum(1 for c in letters if not c.isascii())
    if not letters or high * 2 < len(letters):
        return "cp1252"
    return max(("cp1251", "koi8_r"), key=lambda name: _lower_share(data.decode(name, "replace")))


def _lower_share(text: str) -> int:
    return sum(1 for c in text if c.islower() and not c.isascii()) - sum(
        1 for c in text if c.isupper() and not c.isascii()
    )
