"""Admin endpoints: running config (redacted), reload without losing work, queues."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import redis
from aiohttp.test_utils import TestClient

from gateway.config import load_config
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE, GatewayFactory, signed_sms
from tests.helpers import product_env

ANNA = {"Authorization": "Bearer sample-token-anna"}


def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE.read_text())
    return path


async def send_sms(gateway: TestClient, n: int) -> int:
    sms = {"id": f"a{n}", "from": f"+7916555{n:04d}", "to": "+74950000000", "text": "hi"}
    resp = await gateway.post("/hooks/sms", **signed_sms(sms))
    assert resp.status == 200
    return int((await resp.json())["case_id"])


async def test_config_is_shown_without_secrets(gateway: TestClient) -> None:
    resp = await gateway.get("/api/admin/config", headers=ADMIN)
    assert resp.status == 200
    body = await resp.json()
    assert body["version"]
    text = await resp.text()
    for secret in ("change-me-admin", "sample-token-anna", "sample-sms-secret"):
        assert secret not in text
    assert (await gateway.get("/api/admin/config", headers=ANNA)).status == 403


async def test_bad_reload_keeps_the_old_config_with_check_config_messages(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    path = sample_copy(tmp_path)
    gateway = await make_gateway(load_config(str(path), env={}))
    before = (await (await gateway.get("/api/admin/config", headers=ADMIN)).json())["version"]
    path.write_text(
        path.read_text().replace('default_service = "support"', 'default_service = "x"')
    )
    resp = await gateway.post("/api/admin/config/reload", headers=ADMIN)
    assert resp.status == 422
    problems = (await resp.json())["error"]["problems"]
    cli = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", "--config", str(path)],
        capture_output=True, text=True, env=product_env(), check=False,
    )  # fmt: skip
    assert cli.returncode == 1
    assert problems == cli.stdout.splitlines()
    after = (await (await gateway.get("/api/admin/config", headers=ADMIN)).json())["version"]
    assert after == before


async def test_reload_raising_capacity_drains_the_queue_at_once(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    path = sample_copy(tmp_path)
    text = path.read_text()
    path.write_text(
        text.replace("email = 5, sms = 5, webform = 5 }", "email = 5, sms = 1, webform = 5 }", 1)
    )
    gateway = await make_gateway(load_config(str(path), env={}))
    await gateway.put("/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA)
    cases = [await send_sms(gateway, n) for n in range(3)]
    states = [await (await gateway.get(f"/api/cases/{c}", headers=ADMIN)).json() for c in cases]
    assert [s["status"] for s in states] == ["assigned", "queued", "queued"]
    path.write_text(text)  # anna's sms capacity back to 5
    resp = await gateway.post("/api/admin/config/reload", headers=ADMIN)
    assert resp.status == 200
    states = [await (await gateway.get(f"/api/cases/{c}", headers=ADMIN)).json() for c in cases]
    assert [(s["status"], s["assignee"]) for s in states] == [("assigned", "anna")] * 3
    queues = await (await gateway.get("/api/admin/queues", headers=ADMIN)).json()
    assert queues["services"]["support"]["queued"] == 0
    assert queues["operators"]["anna"] == {"presence": "available", "load": 3}


async def test_queues_report_waiting_work(gateway: TestClient) -> None:
    await send_sms(gateway, 7)
    queues = await (await gateway.get("/api/admin/queues", headers=ADMIN)).json()
    assert queues["services"]["support"]["queued"] == 1
    assert queues["services"]["support"]["oldest_wait_seconds"] >= 0
    assert queues["operators"]["boris"] == {"presence": "offline", "load": 0}


async def test_a_reload_missed_while_cut_off_is_caught_up(
    make_gateway: GatewayFactory, tmp_path: Path, sync_redis: redis.Redis, keys: Keys
) -> None:
    path = sample_copy(tmp_path)
    gateway = await make_gateway(load_config(str(path), env={}))
    path.write_text(path.read_text().replace('name = "Customer support"', 'name = "Care"'))
    new = load_config(str(path), env={}).version
    # Another process applied it, but its announcement never arrived (pub/sub keeps nothing).
    sync_redis.set(keys.config_version, new)

    async def version() -> str:
        body = await (await gateway.get("/api/admin/config", headers=ADMIN)).json()
        return str(body["version"])

    for _ in range(50):
        if await version() == new:
            break
        await asyncio.sleep(0.1)
    assert await version() == new
