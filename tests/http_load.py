"""An HTTP client process for `test_processes`: signed SMS arrivals plus operator actions.

Runs in its own OS process (spawn), so only plain data goes in and out.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

from channels.signature import sign

SMS_SECRET = "sample-sms-secret"


def call(base: str, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def send_sms(base: str, sender: str, delivery: str) -> int:
    body = json.dumps({"id": delivery, "from": sender, "to": "+74950000000", "text": "hi"})
    raw = body.encode()
    request = urllib.request.Request(base + "/hooks/sms", data=raw, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("X-Intake-Signature", sign(SMS_SECRET, raw))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def act(base: str, rnd: random.Random, op: str, token: str, seen: Counter[int]) -> None:
    """One operator looks at their cases and acts on one, as a person would."""
    status, me = call(base, "GET", f"/api/operators/{op}", token)
    seen[status] += 1
    if status != 200 or not me["cases"]:
        return
    case = rnd.choice(me["cases"])
    path = f"/api/cases/{case['id']}"
    choices = {
        "assigned": [("accept", None)] * 4 + [("decline", None)],
        "in_progress": [("resolve", None)] * 3 + [("pause", {"reason": "customer"})],
        "waiting": [("resume", None)],
    }.get(case["status"], [])
    if choices:
        action, body = rnd.choice(choices)
        seen[call(base, "POST", f"{path}/{action}", token, body)[0]] += 1


def run_http_worker(base: str, seed: int, arrivals: int, tokens: dict[str, str]) -> dict[str, Any]:
    rnd = random.Random(seed)
    seen: Counter[int] = Counter()
    pids: set[int] = set()
    ops = sorted(tokens)
    for i in range(arrivals):
        seen[send_sms(base, f"+7916{seed:02d}{i:05d}", f"p{seed}-{i}")] += 1
        op = rnd.choice(ops)
        if rnd.random() < 0.05:
            presence = rnd.choice(["away", "available", "available"])
            seen[
                call(
                    base, "PUT", f"/api/operators/{op}/presence", tokens[op], {"presence": presence}
                )[0]
            ] += 1
        act(base, rnd, op, tokens[op], seen)
        if i % 20 == 0:
            pids.add(call(base, "GET", "/readyz", None)[1]["pid"])
    return {"statuses": dict(seen), "pids": sorted(pids)}
