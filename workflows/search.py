"""Search attributes that let operators find a conversation in the Temporal UI (M22).

Registered by the dev server at start (`worker.py --dev`) and by docker-compose's admin tools.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from core.conversation import (
    CONVERSATION_STATUS,
    CUSTOMER_PHONE,
    SEARCH_ATTRIBUTES,
    SENDER_NUMBER,
    ZENDESK_TICKET_ID,
    ConversationInput,
    ConversationState,
)
from workflows.versions import SKIP_UNCHANGED_SEARCH_ATTRIBUTES, adopted

#: Name and type of each attribute, for `temporal server start-dev --search-attribute`.
DEV_SERVER_ARGS = SEARCH_ATTRIBUTES

NO_TICKET = "no_ticket"


def upsert_identity(request: ConversationInput) -> None:
    """Runs started by smsdesk's intake carry these from their start (and a continued run
    from its predecessor); older starts did not, and replay their upsert."""
    current = workflow.info().typed_search_attributes
    if current.get(CUSTOMER_PHONE) is not None and current.get(SENDER_NUMBER) is not None:
        return
    workflow.upsert_search_attributes(
        [
            CUSTOMER_PHONE.value_set(request.customer_search_value),
            SENDER_NUMBER.value_set(request.sender_search_value),
        ]
    )


def upsert_ticket(state: ConversationState, generation: int) -> None:
    status = state.ticket_status.value if state.ticket_status else NO_TICKET
    updates: list[SearchAttributeUpdate[Any]] = [CONVERSATION_STATUS.value_set(status)]
    ticket_id = state.ticket_id or state.last_closed_ticket_id
    if ticket_id is not None:
        updates.append(ZENDESK_TICKET_ID.value_set(ticket_id))
    current = workflow.info().typed_search_attributes
    changed = any(current.get(update.key) != update.value for update in updates)
    # Each upsert is a visibility write on the server: most texts leave the ticket as it was.
    # (`patched` only when skipping: histories from before always upserted.)
    if changed or not adopted(generation, SKIP_UNCHANGED_SEARCH_ATTRIBUTES):
        workflow.upsert_search_attributes(updates)
