"""HTML bodies: an allow-list sanitizer for display and a plain-text rendering."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# cid: keeps inline images pointing at their attachment; no javascript:, data: or vbscript:.
_URL_SCHEMES = nh3.ALLOWED_URL_SCHEMES | {"cid"}
_DROP_WITH_CONTENT = {"script", "style", "title", "head", "template", "noscript"}
_SKIP = frozenset({"script", "style", "title", "head", "template", "noscript", "svg"})
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "table",
        "tr",
        "ul",
        "ol",
        "dl",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "address",
        "li",
        "dt",
        "dd",
        "tbody",
        "thead",
        "tfoot",
        "caption",
        "form",
        "center",
    }
)
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACE_RUNS = re.compile(r"[ \t\f\v\r\u00a0]+")


def sanitize_html(html: str) -> str:
    """The HTML with only harmless tags and attributes: no scripts, handlers or script URLs."""
    return nh3.clean(html, url_schemes=_URL_SCHEMES, clean_content_tags=_DROP_WITH_CONTENT)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: blocks become lines, scripts and styles vanish."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):
        pass  # html.parser gives up on some malformed markup; keep what it read so far
    return parser.text()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._skipping = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br":
            self._out.append("\n")
        elif tag == "li":
            self._out.append("\n- ")
        elif tag in _BLOCKS:
            self._pre += tag == "pre"
            self._out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self._pre = max(0, self._pre - (tag == "pre"))
            self._out.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        self._out.append(data if self._pre else _SPACE_RUNS.sub(" ", data.replace("\n", " ")))

    def text(self) -> str:
        lines = (line.strip() for line in "".join(self._out).split("\n"))
        return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
