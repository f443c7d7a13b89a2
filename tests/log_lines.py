"""The gateway's own log lines in tests: root logging as `logs.configure` leaves it, writing to
pytest's captured stderr, each line read back (JSON lines: parsed)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[str]]]:
    """Root logging's handlers and level restored after the test. Reading flushes the handler
    first: it writes its lines in batches."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def read() -> list[str]:
        for handler in root.handlers:
            handler.flush()
        return capsys.readouterr().err.splitlines()

    yield read
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.strip()]
