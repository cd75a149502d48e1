"""Tracing (OpenTelemetry): with OTEL_EXPORTER_OTLP_ENDPOINT set, the product's Temporal client
makes spans and sends them over OTLP/HTTP to the collector, here a receiver on loopback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from temporalio.testing import WorkflowEnvironment

from core.conversation import ConversationInput
from core.messages import InboundSms
from core.settings import Settings
from devstack.processes import reserve_port, serve_app
from infra.temporal import connect
from infra.tracing import tracer_provider


async def test_a_signal_with_start_is_traced_to_the_collector(
    temporal_env: WorkflowEnvironment,
) -> None:
    received: list[bytes] = []
    collector = FastAPI()

    @collector.post("/v1/traces")
    async def traces(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=200)

    port = reserve_port()
    async with serve_app(collector, port):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            temporal_address=temporal_env.client.service_client.config.target_host,
            temporal_task_queue=f"traced-{uuid.uuid4().hex[:8]}",  # nobody polls it
            otel_exporter_otlp_endpoint=f"http://127.0.0.1:{port}",
            otel_service_name="smsdesk-test",
        )
        client = await connect(settings)
        start = ConversationInput.for_numbers("+15550100001", "+15551239999", settings)
        text = InboundSms(
            message_sid="SMtraced",
            customer_phone="+15551239999",
            sender_number="+15550100001",
            body="hello",
            received_at=datetime.now(UTC),
        )
        handle = await client.start_workflow(
            "SmsConversation",
            start,
            id=f"traced-{uuid.uuid4().hex[:8]}",
            task_queue=settings.temporal_task_queue,
            start_signal="inbound_sms",
            start_signal_args=[text],
        )
        await handle.terminate("test over")
        endpoint = settings.otel_exporter_otlp_endpoint
        assert endpoint is not None
        assert tracer_provider(endpoint, "smsdesk-test").force_flush(10_000)
    spans = b"".join(received)
    assert b"SignalWithStartWorkflow:SmsConversation" in spans
    assert b"smsdesk-test" in spans  # the service name travels as a resource attribute
