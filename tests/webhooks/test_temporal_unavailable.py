"""When Temporal cannot take the signal, the receiver answers 503 so the provider retries:
a 2xx is only ever given for an event that is durable."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from devstack.processes import binary
from webhooks.app import create_app
from webhooks.signatures import twilio_signature


async def test_inbound_text_is_503_when_temporal_is_down(engine: Engine) -> None:
    # A server that was up when the webhooks started, then went away.
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=binary("temporal"))
    address = env.client.service_client.config.target_host
    client = await Client.connect(
        address,
        data_converter=pydantic_data_converter,
        retry_config=RetryConfig(max_retries=1),  # keep the test quick
    )
    await env.shutdown()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_address=address,
        twilio_auth_token="token",
        sms_numbers="+15550100001",
        public_base_url="http://test",
    )
    app = create_app(settings, temporal=client, engine=engine)
    form = {"MessageSid": "SM1", "From": "+15551230001", "To": "+15550100001", "Body": "Hi"}
    signature = twilio_signature("token", "http://test/webhooks/sms/inbound", form)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http,
    ):
        response = await http.post(
            "/webhooks/sms/inbound", data=form, headers={"X-Twilio-Signature": signature}
        )
    assert response.status_code == 503
    assert "retry" in response.json()["detail"]
