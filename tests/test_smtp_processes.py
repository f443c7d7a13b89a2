"""`serve --processes 3`: every acceptor listens on the one SMTP port, and mail sent on many
connections is all stored."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from routing.keys import Keys
from tests.helpers import Serve, wait_for
from tests.smtp_helpers import mail, send_sync, wire

DEFAULT = Keys()  # what `serve` uses
MAILS = 30


def listening_inodes(port: int) -> set[str]:
    """Socket inodes of TCP listeners on 127.0.0.1:`port` (state 0A in /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":
            found.add(fields[9])
    return found


def sockets_of(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def test_three_acceptors_share_the_smtp_port_and_store_every_mail(
    serve: Callable[..., Serve],
) -> None:
    gateway = serve("--processes", "3", "--workers", "0")
    gateway.wait_ready()
    acceptors = gateway.children("gateway.process.acceptor")
    assert len(acceptors) == 3

    def each_listens() -> bool:
        listeners = listening_inodes(gateway.smtp_port)
        return all(sockets_of(pid) & listeners for pid in acceptors)

    wait_for(each_listens, 20, "every acceptor listening on the SMTP port")
    assert len(listening_inodes(gateway.smtp_port)) == 3  # three sockets, one port

    def one(n: int) -> dict[str, tuple[int, bytes]]:
        message = mail(f"mail {n}", sender=f"customer{n}@example.org", subject=f"Mail {n}")
        return send_sync(gateway.smtp_port, wire(message), f"customer{n}@example.org")

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(one, range(MAILS))) == [{}] * MAILS
    client = redis.Redis.from_url(gateway.embedded_url())
    try:
        assert int(client.get(DEFAULT.case_seq) or 0) == MAILS
        texts = {json.loads(client.lindex(DEFAULT.timeline(n), 0) or "{}").get("x", "").strip()
                 for n in range(1, MAILS + 1)}  # fmt: skip
        assert texts == {f"mail {n}" for n in range(MAILS)}
    finally:
        client.close()
    assert gateway.stop() == 0
