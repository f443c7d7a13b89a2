"""The history export of one case: which timeline entries a filter keeps, and how a page of them
is written as JSON, JSON lines or CSV (RFC 4180), one page at a time so memory stays flat."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

KINDS = ("message", "call", "status", "assignment", "note", "change", "callback", "sla", "moved")
FORMATS = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
}
BOM = "\ufeff"  # spreadsheets read the CSV as UTF-8 only with it
COLUMNS = (
    "id", "at", "kind", "by", "direction", "channel", "from", "to", "subject", "text", "status",
)  # fmt: skip
CSV_HEADER = (*COLUMNS, "attachments", "details")
# A cell a spreadsheet would run as a formula (CSV injection) gets a leading apostrophe; a
# phone number (+7 916 ...) or a negative number is data, not a formula.
_RISKY = frozenset("=@\t\r+-")
_FORMULA = re.compile(r"[=@\t\r]|[+-](?![\d ()\-.]*$)")


@dataclass(frozen=True)
class HistoryFilter:
    kinds: frozenset[str] = frozenset()  # empty: every kind
    by: str | None = None  # the entry's `by`, `operator` or `from`
    since: str | None = None  # RFC 3339 as the API writes times: they compare as strings
    until: str | None = None

    def keeps(self, entry: dict[str, Any]) -> bool:
        if self.kinds and entry.get("kind") not in self.kinds:
            return False
        if self.by is not None and self.by not in (
            entry.get("by"),
            entry.get("operator"),
            entry.get("from"),
        ):
            return False
        at = entry.get("at") or ""
        if self.since is not None and at < self.since:
            return False
        return self.until is None or at <= self.until


def json_page(entries: Iterable[dict[str, Any]], first: bool) -> str:
    """Array members of `{"case_id", "entries": [...]}`, each after a comma but the very first."""
    parts = [json.dumps(entry, ensure_ascii=False) for entry in entries]
    if not parts:
        return ""
    return ("" if first else ",") + ",".join(parts)


def jsonl_page(entries: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)


def csv_page(entries: Iterable[dict[str, Any]], header: bool) -> str:
    """RFC 4180 rows (CRLF, quoted where needed); fields beyond the columns go to `details`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_HEADER)
    for entry in entries:
        writer.writerow([_cell(value) for value in _row(entry)])
    return out.getvalue()


def _row(entry: dict[str, Any]) -> list[Any]:
    by = entry.get("by") or entry.get("operator") or ""
    cells = [by if name == "by" else entry.get(name, "") for name in COLUMNS]
    attachments = entry.get("attachments") or []
    names = "; ".join(str(a.get("name", "")) for a in attachments if isinstance(a, dict))
    rest = {k: v for k, v in entry.items() if k not in COLUMNS and k != "attachments"}
    if rest.get("operator") == by:  # shown as `by` already
        rest.pop("operator")
    return [*cells, names, json.dumps(rest, ensure_ascii=False) if rest else ""]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if shown[:1] in _RISKY and _FORMULA.match(shown):
        return "'" + shown
    return shown
