"""Under pressure on the update budget (B5, B14), texts that wait for an update slot join one
comment: the whole stack, with smsdesk's share of Update Ticket cut to 12 a minute."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.helpers.stack import eventually, running_stack


async def test_texts_waiting_for_an_update_slot_join_one_comment(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_stack(
        temporal_env.client, engine, zendesk_update_requests_per_minute=12
    ) as stack:
        customer = await stack.new_customer()
        await stack.text(customer, "Where is my order?")
        await stack.settled(customer)
        sent = [f"Text {i}" for i in range(6)]
        for body in sent:
            await stack.text(customer, body)

        async def all_written() -> bool:
            [ticket] = await stack.tickets_of(customer)
            return sent[-1] in ticket["comments"][-1]["body"]

        # Writes wait their slots (5 s apart): longer than `settled` waits by default.
        await eventually(all_written, timeout=60)
        await stack.settled(customer)

        [ticket] = await stack.tickets_of(customer)
        comments = [c["body"] for c in ticket["comments"] if c["public"]]
        updates = [
            r
            for r in (await stack.http.get(stack.url("zendesk", "/_sandbox/requests"))).json()[
                "requests"
            ]
            if r["method"] == "PUT"
        ]
    # Every text once, in order, in fewer update requests than texts, and none refused.
    assert "\n\n".join(comments[1:]).split("\n\n") == sent
    assert len(updates) == len(comments) - 1 < len(sent)
    assert {r["status"] for r in updates} == {200}
