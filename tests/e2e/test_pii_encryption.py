"""B3 end to end: with PII protection on, neither a text's body nor the customer's number can
be read in Temporal's history, and the UI's codec endpoint opens payloads only for a caller
with the token."""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payloads
from temporalio.testing import WorkflowEnvironment

from core.codec import generate_key
from core.settings import Settings
from infra import temporal
from tests.helpers.stack import running_stack
from tests.helpers.tickets import first_ticket

SECRET_WORDS = "my card ends in 4242"


async def test_history_holds_no_readable_pii(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    private = {
        "pii_protection": True,
        "pii_hash_key": "hash-key-" + "x" * 32,
        "pii_encryption_key": generate_key(),
        "codec_auth_token": "ui-token",
    }
    sealed_client = await temporal.connect(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            temporal_address=temporal_env.client.service_client.config.target_host,
            **private,
        )
    )
    async with running_stack(sealed_client, engine, **private) as stack:
        customer = await stack.new_customer()
        await stack.text(customer, SECRET_WORDS)
        await first_ticket(stack, customer)
        state = await stack.settled(customer)  # the stack's own client reads it fine
        assert state["state"]["texts_received"] == 1

        handle = temporal_env.client.get_workflow_handle(stack.conversation(customer).id)
        raw = json.dumps((await handle.fetch_history()).to_json_dict())
        digits = customer.lstrip("+")
        assert digits not in raw and digits not in handle.id
        assert (
            SECRET_WORDS not in raw and base64.b64encode(SECRET_WORDS.encode()).decode() not in raw
        )

        started = (await handle.fetch_history()).events[0]
        payloads = started.workflow_execution_started_event_attributes.input
        body = json_format.MessageToJson(Payloads(payloads=payloads.payloads))
        url = stack.settings.public_base_url + "/codec/decode"
        refused = await stack.http.post(url, content=body, headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401
        opened = await stack.http.post(
            url, content=body, headers={"Authorization": "Bearer ui-token"}
        )
        assert opened.status_code == 200
        data = base64.b64decode(opened.json()["payloads"][0]["data"]).decode()
        assert customer in data
