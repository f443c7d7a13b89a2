"""Reading a browser's multipart form post (2 KiB file): channels.webform against aiohttp's reader.

`python bench/multipart.py [--posts N]`. Both read the same bodies, each with a new boundary as
browsers send them, into the same fields and files; aiohttp's `MultipartReader` is what served
forms before the adapters took bytes. Prints microseconds per post and the ratio of this run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from aiohttp import BodyPartReader, MultipartReader, StreamReader
from multidict import CIMultiDict

from bench.common import browser_multipart
from channels.base import Delivery
from channels.webform.adapter import read_fields

ATTACHMENT = os.urandom(2 * 1024)


class _Protocol:
    """What aiohttp's StreamReader asks of its connection; nothing to pause here."""

    _reading_paused = False

    def pause_reading(self, **_: Any) -> None:
        pass

    def resume_reading(self, **_: Any) -> None:
        pass


def posts(count: int) -> list[tuple[str, bytes]]:
    found = []
    for n in range(count):
        head, _, body = browser_multipart(n, ATTACHMENT).partition(b"\r\n\r\n")
        kind = next(line for line in head.split(b"\r\n") if line.startswith(b"Content-Type:"))
        found.append((kind.split(b":", 1)[1].strip().decode(), body))
    return found


async def aiohttp_read(kind: str, body: bytes) -> tuple[dict[str, str], list[bytes]]:
    stream = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    stream.feed_data(body)
    stream.feed_eof()
    fields: dict[str, str] = {}
    files: list[bytes] = []
    async for part in MultipartReader(CIMultiDict({"Content-Type": kind}), stream):
        if isinstance(part, BodyPartReader) and part.name:
            if part.filename:
                files.append(bytes(await part.read()))
            else:
                fields[part.name] = await part.text()
    return fields, files


async def timed_aiohttp(bodies: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    for kind, body in bodies:
        await aiohttp_read(kind, body)
    return time.perf_counter() - started


def timed_bytes(bodies: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    for kind, body in bodies:
        read_fields(Delivery(CIMultiDict({"Content-Type": kind}), body))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=5000)
    bodies = posts(parser.parse_args().posts)
    fields, files = asyncio.run(aiohttp_read(*bodies[0]))
    ours = read_fields(Delivery(CIMultiDict({"Content-Type": bodies[0][0]}), bodies[0][1]))
    assert ours[0] == fields and [a.data for a in ours[1]] == files, "the readers disagree"
    best_aiohttp = min(asyncio.run(timed_aiohttp(bodies)) for _ in range(3))
    best_bytes = min(timed_bytes(bodies) for _ in range(3))
    per = 1e6 / len(bodies)
    print(f"aiohttp MultipartReader: {best_aiohttp * per:7.1f} us/post")
    print(f"channels.webform:        {best_bytes * per:7.1f} us/post")
    print(f"ratio: {best_aiohttp / best_bytes:.1f}x faster (best of 3, {len(bodies)} posts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
