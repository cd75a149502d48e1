"""A busy Temporal (a reply storm) is treated as an absent one: once it takes longer than
INTAKE_SLOW_SECONDS to take an event, the next events go straight to the journal, so the
webhooks answer without waiting on it, until the forwarder finds it quick again.

"Busy" is made real: the test's own Temporal server is frozen (SIGSTOP) for a moment while a
text is handed over, so that one answer is slow but comes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from core.settings import Settings
from devstack.cluster import Cluster
from devstack.processes import free_port
from tests.helpers.stack import eventually
from webhooks.app import create_app
from webhooks.signatures import twilio_signature

SENDER = "+15550100001"
FROZEN_SECONDS = 0.8


def journaled() -> float:
    value = REGISTRY.get_sample_value(
        "smsdesk_events_total", {"kind": "inbound_sms", "outcome": "journaled"}
    )
    return value or 0.0


async def test_a_slow_answer_sends_the_next_texts_to_the_journal(
    engine: Engine, tmp_path: Path
) -> None:
    # A Temporal server of its own: freezing the session's would stall every other test.
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_address=f"127.0.0.1:{free_port()}",
        twilio_auth_token="token",
        sms_numbers=SENDER,
        public_base_url="http://test",
        intake_signal_timeout_seconds=5.0,  # slow, not failed: the freeze is shorter
        intake_suspect_seconds=1.0,
    )
    temporal = Cluster(settings, tmp_path)
    try:
        server = await temporal.start_temporal()
        client = await temporal.client()
        app = create_app(settings, temporal=client, engine=engine)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http,
        ):

            async def text(sid: str) -> None:
                form = {"MessageSid": sid, "From": "+15551230001", "To": SENDER, "Body": sid}
                signature = twilio_signature("token", "http://test/webhooks/sms/inbound", form)
                answer = await http.post(
                    "/webhooks/sms/inbound", data=form, headers={"X-Twilio-Signature": signature}
                )
                assert answer.status_code == 200

            async def trusted() -> bool:
                return (await http.get("/intake")).json()["temporal_suspect"] is False

            await text("SM1")  # a fresh server may be slow to its first answer
            await eventually(trusted)

            before = journaled()
            server.pause()
            asyncio.get_running_loop().call_later(FROZEN_SECONDS, server.resume)
            await text("SM2")  # taken by Temporal, after the freeze
            assert journaled() == before
            await text("SM3")  # Temporal is back, but was slow a moment ago
            assert journaled() == before + 1
            assert (await http.get("/intake")).json()["temporal_suspect"] is True

            await eventually(trusted)  # the forwarder delivered SM3 quickly
    finally:
        server.resume()
        temporal.stop()
