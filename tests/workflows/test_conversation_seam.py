"""The names that connect the doors to `SmsConversation`: the workflow type, its one query, and
one signal per event kind (the door signals an event under its `kind`)."""

from __future__ import annotations

import typing

from temporalio.workflow import _Definition

from core.conversation import STATE_QUERY, WORKFLOW_NAME
from core.messages import ConversationEvent
from workflows.conversation import SmsConversation


def _event_kinds() -> set[str]:
    union = typing.get_args(ConversationEvent)[0]
    return {model.model_fields["kind"].default for model in typing.get_args(union)}


def test_the_workflow_answers_to_the_names_the_doors_use() -> None:
    definition = _Definition.must_from_class(SmsConversation)
    assert definition.name == WORKFLOW_NAME
    assert set(definition.queries) == {STATE_QUERY}
    kinds = _event_kinds()
    assert len(kinds) == 5  # inbound and outbound texts, agent comments, statuses, receipts
    assert set(definition.signals) == kinds
