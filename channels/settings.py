"""The TOML reader every settings section uses: typed values, each problem keyed by its dotted
name (`config.toml: <dotted.key>: <what is wrong>`), keys nobody read refused as unknown.

A section reads what it needs from its `Table` and closes it; `Problems` gathers every line, so
one pass reports all that is wrong, not the first thing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

_ID = re.compile(r"[a-z0-9_-]+")
_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Secret:
    """A secret value whose repr and str hide it; `reveal()` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


def parse_duration(text: str | int) -> float:
    """Seconds in "90s", "15m", "4h", "2d" or a plain whole number of seconds."""
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return float(text)
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'expected a duration like "90s", "15m", "4h" or "2d", got {text!r}')
    return float(int(match[1]) * _UNITS[match[2]])


def kind_of(value: object) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    kinds.update({list: "an array", dict: "a table"})
    return kinds.get(type(value), type(value).__name__)


class Problems:
    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.lines: list[str] = []

    def add(self, key: str, what: str) -> None:
        self.lines.append(f"{self.file_name}: {key}: {what}")


def read_toml(path: str, problems: Problems) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and its tables; a file that cannot be read or parsed is a problem."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        problems.add("<file>", f"cannot read {path}: {error.strerror or error}")
        return b"", {}
    try:
        return data, tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        problems.add("<syntax>", f"not UTF-8 text ({error.reason} at byte {error.start})")
    except tomllib.TOMLDecodeError as error:
        problems.add("<syntax>", str(error))
    return data, {}


class Table:
    """One TOML table being read; keys nobody asked for are reported as unknown by `close`."""

    def __init__(
        self,
        data: Mapping[str, Any],
        path: str,
        problems: Problems,
        env: Mapping[str, str],
        present: bool,
        secret_keys: set[str] | None = None,
    ) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.env = env
        self.present = present  # False for an absent optional section: its keys are not needed
        self.used: set[str] = set()
        # Dotted keys of every value read as a Secret, shared by the whole file's tables.
        self.secret_keys = set() if secret_keys is None else secret_keys

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, what: str) -> None:
        self.problems.add(self.key(name), what)

    def has(self, name: str) -> bool:
        return name in self.data

    def close(self) -> None:
        for name in self.data:
            if name not in self.used:
                self.problem(name, "unknown key")

    def entries(self) -> list[tuple[str, Any]]:
        self.used.update(self.data)
        return list(self.data.items())

    def child(self, data: Mapping[str, Any], path: str, present: bool = True) -> Table:
        return Table(data, path, self.problems, self.env, present, self.secret_keys)

    def get(self, name: str, kind: type | tuple[type, ...], expected: str, required: bool) -> Any:
        """The value if present and of `kind`; None when absent or wrong (wrong is reported)."""
        self.used.add(name)
        if name not in self.data:
            if required:
                self.problem(name, "missing")
            return None
        value = self.data[name]
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return value
        self.problem(name, f"expected {expected}, got {kind_of(value)}")
        return None

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.get(name, str, "a string", required)
        if isinstance(value, str):
            return value
        return default if name not in self.data else None

    def integer(
        self, name: str, default: int = 0, *, required: bool = False, minimum: int = 0
    ) -> int:
        value = self.get(name, int, "an integer", required)
        if not isinstance(value, int):
            return default
        if value < minimum:
            self.problem(name, f"must be at least {minimum}, got {value}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name, bool, "true or false", False)
        return value if isinstance(value, bool) else default

    def strings(self, name: str, *, required: bool = False) -> list[str]:
        value = self.get(name, list, "a list of strings", required)
        if not isinstance(value, list):
            return []
        if not all(isinstance(item, str) for item in value):
            self.problem(name, "expected a list of strings")
            return []
        return [str(item) for item in value]

    def duration(self, name: str, default: str | None = None, *, positive: bool = False) -> float:
        value = self.get(name, (str, int), 'a duration like "15m"', default is None)
        if value is None:
            value = default if name not in self.data else None
        if value is None:
            return 0.0
        try:
            seconds = parse_duration(value)
        except ValueError as error:
            self.problem(name, str(error))
            return 0.0
        if positive and seconds <= 0:
            self.problem(name, "must be longer than zero")
        return seconds

    def table(self, name: str) -> Table:
        value = self.get(name, dict, "a table", False)
        return self.child(value or {}, self.key(name), present=isinstance(value, dict))

    def tables(self, name: str) -> list[Table]:
        value = self.get(name, list, f"an array of tables ([[{self.key(name)}]])", False)
        result = []
        for index, item in enumerate(value or []):
            path = f"{self.key(name)}[{index}]"
            if isinstance(item, dict):
                result.append(self.child(item, path))
            else:
                self.problems.add(path, f"expected a table, got {kind_of(item)}")
        return result

    def secret(self, name: str, *, required: bool = True) -> Secret:
        """`name` given inline, or `name_env` naming an environment variable: exactly one."""
        env_name = f"{name}_env"
        self.used.update((name, env_name))
        self.secret_keys.add(self.key(name))
        if self.has(name) and self.has(env_name):
            self.problem(name, f"give either {name} or {env_name}, not both")
            return Secret("")
        if self.has(env_name):
            return Secret(self._from_env(env_name))
        if not self.has(name):
            if required:
                self.problem(name, f"missing (or set {env_name})")
            return Secret("")
        value = self.text(name)
        if value == "":
            self.problem(name, "must not be empty")
        return Secret(value or "")

    def _from_env(self, env_name: str) -> str:
        variable = self.text(env_name)
        if variable is None:
            return ""
        value = self.env.get(variable, "")
        if not value:
            self.problem(env_name, f"environment variable {variable} is not set")
        return value

    def identifier(self, name: str = "id") -> str:
        value = self.text(name, required=True)
        if value is not None and not _ID.fullmatch(value):
            self.problem(name, f"{value!r} must match [a-z0-9_-]+")
        return value or ""

    def reference(
        self, name: str, known: Collection[str], what: str, *, required: bool = False
    ) -> str | None:
        """A name that must be one of `known` (a service id, a type, a form id...)."""
        value = self.text(name, required=required)
        if value is not None and value not in known:
            self.problem(name, f"unknown {what} {value!r}")
        return value

    def choice(self, name: str, options: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in options:
            self.problem(name, f"expected one of {', '.join(options)}; got {value!r}")
        return value

    def url(self, name: str, default: str, *, base: bool = False) -> str:
        text = self.text(name, default)
        if not text:
            return ""
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.problem(name, f"expected an http:// or https:// URL, got {text!r}")
        # Base URLs get paths appended (Twilio signs the full URL), so one slash, not two.
        return text.rstrip("/") if base else text

    def host_port(self, name: str, default: str) -> tuple[str, int]:
        text = self.text(name, default)
        if text is None:
            return ("127.0.0.1", 0)
        host, colon, port = text.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]  # IPv6 literal
        if not colon or not host or not port.isdigit() or int(port) > 65535:
            self.problem(name, f'expected "HOST:PORT", got {text!r}')
            return ("127.0.0.1", 0)
        return (host, int(port))

    def port(self, name: str, default: int) -> int:
        port = self.integer(name, default, minimum=1)
        if port > 65535:
            self.problem(name, f"must be at most 65535, got {port}")
        return port
