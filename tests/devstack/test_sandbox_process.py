"""The sandboxes' one process launcher (`python -m sandbox`) wired from the product's settings,
as the process assembler (`devstack.cluster`) starts it for the bench: the product's
credentials are let in, webhooks go to the product, the receipt log answers, and SIGTERM stops
all three at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from devstack.cluster import Cluster
from devstack.processes import free_port
from devstack.sandboxes import SandboxPorts, with_sandboxes
from devstack.subprocesses import sandboxes_args


@pytest.fixture
def settings() -> Settings:
    ports = SandboxPorts(zendesk=free_port(), twilio=free_port(), klaviyo=free_port())
    base = Settings(_env_file=None, public_base_url="http://127.0.0.1:9")  # type: ignore[call-arg]
    return with_sandboxes(base, ports)


async def test_the_sandbox_process_serves_the_product_as_configured(
    settings: Settings, tmp_path: Path
) -> None:
    cluster = Cluster(settings, tmp_path)
    try:
        process = await cluster.start_sandboxes()  # once all three listen
        token = settings.zendesk_oauth_token
        assert token is not None
        async with httpx.AsyncClient(base_url=settings.zendesk_url) as zendesk:
            me = await zendesk.get(
                "/api/v2/users/me", headers={"Authorization": f"Bearer {token.get_secret_value()}"}
            )
            assert me.status_code == 200, me.text
            receipts = await zendesk.get("/_sandbox/receipts")
            assert receipts.status_code == 200 and receipts.json()["receipts"] == {}
            config = (await zendesk.get("/_sandbox/config")).json()
        assert config["webhook_url"] == "http://127.0.0.1:9/webhooks/zendesk"
        async with httpx.AsyncClient(base_url=settings.twilio_base_url) as twilio:
            owned = (await twilio.get("/_sandbox/config")).json()
        assert owned["inbound_webhook_url"] == "http://127.0.0.1:9/webhooks/sms/inbound"
        started = time.monotonic()
        process.popen.terminate()
        assert process.popen.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        cluster.stop()  # kills it if SIGTERM did not, and closes its log


def test_the_arguments_name_the_ports_the_settings_give(settings: Settings) -> None:
    args = sandboxes_args(settings)
    assert args[1:3] == ["-m", "sandbox"]
    given = dict(zip(args[3::2], args[4::2], strict=False))
    assert given["--zendesk-port"] == str(httpx.URL(settings.zendesk_url).port)
    assert given["--twilio-port"] == str(httpx.URL(settings.twilio_base_url).port)
    assert given["--klaviyo-port"] == str(httpx.URL(settings.klaviyo_base_url).port)
    with pytest.raises(ValueError, match="explicit port"):
        sandboxes_args(settings.model_copy(update={"zendesk_url": "http://127.0.0.1"}))


def test_python_m_sandbox_explains_itself() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "sandbox", "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0
    assert "--receipts" in shown.stdout and "--zendesk-webhook-url" in shown.stdout
