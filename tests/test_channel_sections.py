"""Each channel reads its own section; without the section the channel is off."""

from __future__ import annotations

from pathlib import Path

from gateway.config import load_config
from tests.conftest import SAMPLE, GatewayFactory, signed_sms

SMS_SECTION = """[channels.sms]
secret = "sample-sms-secret"          # HMAC key for the generic SMS webhook (both directions)
outbound_url = "http://127.0.0.1:9000/send"   # where replies to generic-SMS cases are posted
"""


async def test_without_its_section_the_sms_webhook_is_off(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    text = SAMPLE.read_text()
    assert SMS_SECTION in text
    path = tmp_path / "config.toml"
    path.write_text(text.replace(SMS_SECTION, ""))
    config = load_config(str(path), env={})
    assert config.channels.sms is None and config.channels.webform is not None
    gateway = await make_gateway(config)
    sms = {"id": "off1", "from": "+79165550001", "to": "+74950000010", "text": "hi"}
    response = await gateway.post("/hooks/sms", **signed_sms(sms))
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "webhook_disabled"
