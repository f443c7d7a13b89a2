"""A provider as the tests play it: signed SMS posted from threads, each retried with the same id
until a 2xx, every answer counted by phase; and what the gateway stored, read through the API.
Shared by the fault tests (tests/test_valkey_supervision.py, tests/test_sentinel.py)."""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import ADMIN, signed_sms
from tests.helpers import wait_for

MESSAGES = 240
SENDERS = 20
PROVIDERS = 4  # threads posting at once
GIVE_UP = 60.0  # seconds one message is retried before the provider gives up on it


class Provider:
    """Delivers MESSAGES signed SMS like a provider: each retried with the same id until a 2xx.

    `answers[phase]` counts the statuses seen (0: no HTTP answer) for requests sent while `phase`
    was set; `without_retry_after` the 503 answers that lacked a Retry-After header. With
    `hold`, the last third waits for `release` to be set, so a test can be sure some messages are
    still to be sent when its outage starts.
    """

    def __init__(self, base_url: str, hold: bool = False) -> None:
        self.base_url = base_url
        self.phase = "up"
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.answers: dict[str, Counter[int]] = {}
        self.delivered: list[str] = []
        self.without_retry_after = 0
        self._lock = threading.Lock()
        self._todo: queue.Queue[int] = queue.Queue()
        for n in range(MESSAGES):
            self._todo.put(n)
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(PROVIDERS)]
        for thread in self._threads:
            thread.start()

    def wait_delivered(self, count: int) -> None:
        wait_for(lambda: len(self.delivered) >= count, 30, f"{count} messages delivered")

    def seen(self, status: int) -> int:
        with self._lock:
            return sum(counts[status] for counts in self.answers.values())

    def join(self) -> None:
        for thread in self._threads:
            thread.join(GIVE_UP + 10)
        assert len(self.delivered) == MESSAGES, self.answers

    def _run(self) -> None:
        while True:
            try:
                n = self._todo.get_nowait()
            except queue.Empty:
                return
            if n >= MESSAGES * 2 // 3:
                self.release.wait(GIVE_UP)
            self._deliver(n)

    def _deliver(self, n: int) -> None:
        sms = {"id": f"m{n}", "from": f"+7916000{n % SENDERS:04d}", "to": "+74950000099"}
        deadline = time.monotonic() + GIVE_UP
        while time.monotonic() < deadline:
            # phase and address as the request leaves: one sent to the old serve counts as "down"
            phase, base_url = self.phase, self.base_url
            status = self._post(base_url, signed_sms({**sms, "text": f"m{n}"}))
            with self._lock:
                self.answers.setdefault(phase, Counter())[status] += 1
                if 200 <= status < 300:
                    self.delivered.append(f"m{n}")
                    return
            time.sleep(0.02)

    def _post(self, base_url: str, request: dict[str, Any]) -> int:
        connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
        try:
            connection.request("POST", "/hooks/sms", request["data"], request["headers"])
            response = connection.getresponse()
            response.read()
            if response.status == 503 and not response.getheader("Retry-After"):
                with self._lock:
                    self.without_retry_after += 1
            return response.status
        except OSError:
            return 0
        finally:
            connection.close()


def stored_texts(base_url: str) -> list[str]:
    """Every inbound message text of every case, through the API."""
    texts, cursor = [], ""
    while True:
        status, page = api(base_url, f"/api/cases?limit=200{cursor}")
        assert status == 200, page
        for case in page["cases"]:
            status, full = api(base_url, f"/api/cases/{case['id']}")
            assert status == 200, full
            texts += [e["text"] for e in full["timeline"] if e["kind"] == "message"]
        if page["next_cursor"] is None:
            return sorted(texts)
        cursor = f"&cursor={page['next_cursor']}"


def api(base_url: str, path: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
    try:
        connection.request("GET", path, headers=ADMIN)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()
