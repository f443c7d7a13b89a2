"""The Lua function library: a generated prelude and routing/lua/*.lua as one FUNCTION LOAD source.

The library is named `intake_<version>` and each function `intake_<version>_<name>`, the
version being a hash of the whole source by default: two versions of the gateway running side
by side (a rolling deploy) each call their own code, and loading one never replaces the other.
The prelude carries what Python defines once: the constants (routing/constants.py), the
timeline codec (routing/timeline.py), the key builders (from routing/keys.py's layout) and
`register`, which sets P, NOW, RID and the fixed keys from the call's KEYS, ARGV[1] (the time)
and ARGV[2] (the id of the request or mail the step is part of, '' for none; taken out, so a
function's own arguments start at ARGV[2]) before a function's body runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from routing import constants, timeline
from routing.keys import FIXED, OUTBOX_GROUP, PER_ID
from routing.schedule import ALWAYS

FILES = (
    "lib.lua",
    "slalib.lua",
    "wflib.lua",
    "intake.lua",
    "sync.lua",
    "actions.lua",
    "operators.lua",
    "explain.lua",
    "calls.lua",
    "chat.lua",
    "sla.lua",
    "callbacks.lua",
    "outbox.lua",
    "media.lua",
    "workflow.lua",
    "move.lua",
    "limits.lua",
    "upgrade.lua",
)
# their locals are seen by every later file; the others are wrapped in do/end
SHARED = ("lib.lua", "slalib.lua", "wflib.lua")
_VERSION = re.compile(r"[A-Za-z0-9_]+")
_LINE = re.compile(r"user_function:(\d+)")


@dataclass(frozen=True)
class Library:
    name: str
    source: str
    starts: tuple[tuple[int, str], ...]  # (first source line, its file), in source order

    def function(self, name: str) -> str:
        return f"{self.name}_{name}"

    def locate(self, message: str) -> str:
        """A server error with its `user_function:<line>` turned into `<file>:<line>`."""
        return _LINE.sub(lambda found: self._where(int(found.group(1))), message)

    def _where(self, line: int) -> str:
        place = "routing/library.py prelude", 1
        for start, name in self.starts:
            if line >= start:
                place = f"routing/lua/{name}", start
        return f"{place[0]}:{line - place[1] + 1}"


def build(version: str | None = None) -> Library:
    """The library; `version` overrides the content hash (tests load two versions)."""
    body, starts = _body()
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    tag = version or digest
    if not _VERSION.fullmatch(tag):
        raise ValueError(f"library version {tag!r}: letters, digits and _ only")
    name = f"intake_{tag}"
    head = f"#!lua name={name}\nlocal NAME = '{name}'\n"
    return Library(name, head + body, tuple((start + 2, file) for start, file in starts))


def _body() -> tuple[str, list[tuple[int, str]]]:
    lines = _prelude()
    starts = []
    for file in FILES:
        text = resources.files("routing").joinpath("lua", file).read_text().rstrip("\n")
        wrapped = file not in SHARED
        if wrapped:
            lines.append(f"do -- routing/lua/{file}")
        starts.append((len(lines) + 1, file))
        lines.extend(text.split("\n"))
        if wrapped:
            lines.append("end")
    return "\n".join(lines) + "\n", starts


def _prelude() -> list[str]:
    channels = ", ".join(_quoted(ch) for ch in constants.CHANNELS)
    lines = [
        f"local CHANNELS = {{{channels}}}",
        f"local CALL_PROVIDERS = {{{', '.join(_quoted(p) for p in constants.CALL_PROVIDERS)}}}",
        f"local EVENTS_MAXLEN = {constants.EVENTS_MAXLEN}",
        f"local PRIORITY_SCALE = {constants.PRIORITY_SCALE}",
        f"local UTIL_SCALE = {constants.UTIL_SCALE}",
        f"local SEQ_SCALE = {constants.SEQ_SCALE}",
        f"local SLA_BUCKETS = {{{', '.join(str(le) for le in constants.SLA_BUCKETS)}}}",
        f"local ENTRY = {{{_entry_table()}}}",
        f"local OUTBOX_GROUP = {_quoted(OUTBOX_GROUP)}",
        f"local ALWAYS_SCHEDULE = {_quoted(ALWAYS)}",
        "local P, NOW, RID = '', 0, ''",
        # The case this call created (CREATED), it while it has no status yet (FRESH), and the
        # contact this call created (NEW_CONTACT): what new ones cannot hold yet is neither
        # looked up nor cleared (a third of a new SMS case's Redis calls).
        "local CREATED, FRESH, NEW_CONTACT = false, false, false",
        "local K = {}",
    ]
    lines.extend(_builder(name, template) for name, template in PER_ID.items())
    lines.append("local function begin(keys, args)")
    lines.append(f"  assert(#keys == {len(FIXED) + 1}, 'KEYS: the base key, then keys.FIXED')")
    lines.append("  P, NOW, RID = keys[1], tonumber(args[1]), table.remove(args, 2) or ''")
    lines.append("  CREATED, FRESH, NEW_CONTACT = false, false, false")
    lines.extend(f"  K.{name} = keys[{i}]" for i, name in enumerate(FIXED, start=2))
    lines.append("end")
    lines.extend(_REGISTER)
    return lines


def _entry_table() -> str:
    """routing/timeline.py's codec: API name -> stored key."""
    return ", ".join(f"[{_quoted(name)}] = {_quoted(key)}" for name, key in timeline.STORED.items())


def _builder(name: str, template: str) -> str:
    """`case:{}` -> `function K.case(a1) return P .. 'case:' .. a1 end`."""
    parts = template.split("{}")
    params = [f"a{i}" for i in range(1, len(parts))]
    pieces = ["P"]
    for i, part in enumerate(parts):
        if part:
            pieces.append(_quoted(part))
        if i < len(params):
            pieces.append(params[i])
    return f"function K.{name}({', '.join(params)}) return {' .. '.join(pieces)} end"


def _quoted(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_:.-]*", text):
        raise ValueError(f"{text!r} is not a plain Lua string")
    return f"'{text}'"


_REGISTER = [
    "local FUNCTIONS = {}  -- each body by name: one step may run another's (chat_message, intake)",
    "local function register(name, callback, flags)",
    "  FUNCTIONS[name] = callback",
    "  redis.register_function{function_name = NAME .. '_' .. name, flags = flags or {},",
    "    callback = function(keys, args) begin(keys, args) return callback(args) end}",
    "end",
]
