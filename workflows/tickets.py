"""The conversation's view of its ticket: status changes, internal notes and the timers that
act on the ticket (M16 auto-close, M21 inactivity).

The real status in Zendesk wins: a refused update or a timer's fresh read replaces what the
conversation remembered.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.zendesk import (
        InternalNoteInput,
        TicketResult,
        TransitionInput,
        ZendeskActivities,
    )
    from core.conversation import (
        TICKET_UPDATE_BUDGET,
        TICKET_UPDATE_WINDOW,
        ConversationInput,
        ConversationState,
        paced_update_at,
    )
    from core.messages import TicketStatus, TicketStatusChanged
    from workflows import search
    from workflows.calls import Calls
    from workflows.versions import PACED_TICKET_UPDATES, adopted

#: Statuses the inactivity timer solves: the agent side is still working on them.
WORKING = (TicketStatus.NEW, TicketStatus.OPEN)


class TicketKeeper:
    def __init__(self, request: ConversationInput, state: ConversationState, calls: Calls) -> None:
        self._request = request
        self._state = state
        self._calls = calls

    def set_ticket(self, ticket: TicketResult) -> None:
        """Adopt Zendesk's answer about the conversation's ticket."""
        if ticket.ticket_id != self._state.ticket_id:
            self._state.ticket_updates = []  # the update budget is per ticket
        if ticket.status is TicketStatus.CLOSED:
            self._state.ticket_id = ticket.ticket_id
            self.close()
            return
        if ticket.status is not TicketStatus.SOLVED:
            self._state.solved_at = None
        elif self._state.ticket_status is not TicketStatus.SOLVED or self._state.solved_at is None:
            self._state.solved_at = workflow.now()  # the auto-close clock starts now
        self._state.ticket_id, self._state.ticket_status = ticket.ticket_id, ticket.status
        search.upsert_ticket(self._state, self._request.generation)

    def close(self) -> None:
        self._state.last_closed_ticket_id = self._state.ticket_id
        self._state.ticket_id, self._state.ticket_status = None, None
        self._state.solved_at = None
        self._state.ticket_updates = []
        search.upsert_ticket(self._state, self._request.generation)

    def on_status(self, change: TicketStatusChanged) -> None:
        if change.ticket_id != self._state.ticket_id:
            return  # an older ticket of this conversation: nothing to track
        self.set_ticket(TicketResult(ticket_id=change.ticket_id, status=change.status))

    # --- Zendesk's per-ticket update limit (B5) -----------------------------------------------

    def record_update(self) -> None:
        self._state.ticket_updates.append(workflow.now())
        del self._state.ticket_updates[:-TICKET_UPDATE_BUDGET]

    def update_slot_free_at(self) -> datetime | None:
        """When the next write to the ticket fits the budget and its pace; None if it fits now."""
        updates = self._state.ticket_updates
        if self._state.ticket_id is None:
            return None
        now = workflow.now()
        frees_at = None
        if len(updates) >= TICKET_UPDATE_BUDGET:
            frees_at = updates[-TICKET_UPDATE_BUDGET] + TICKET_UPDATE_WINDOW
        paced_at = paced_update_at(updates)
        # Asked only when the pace decides, so that a run that never met it records no marker
        # (each costs a visibility write); histories from before the pace replay without it.
        if (
            paced_at is not None
            and paced_at > now
            and (frees_at is None or paced_at > frees_at)
            and adopted(self._request.generation, PACED_TICKET_UPDATES)
        ):
            frees_at = paced_at
        return frees_at if frees_at is not None and frees_at > now else None

    async def wait_for_update_slot(self) -> None:
        """Sleep until the ticket can take another update. Texts that arrive meanwhile queue
        up and are written together, so a chatty customer never trips Zendesk's 429."""
        frees_at = self.update_slot_free_at()
        if frees_at is not None:
            await workflow.sleep(frees_at - workflow.now())

    async def note(
        self, ticket_id: int, body: str, key: str, tags: list[str] | None = None
    ) -> bool:
        """An internal note for agents; False when the ticket was closed and took none."""
        if ticket_id == self._state.ticket_id:
            await self.wait_for_update_slot()
            self.record_update()
        written = await self._calls.zendesk_update(
            ZendeskActivities.add_internal_note,
            InternalNoteInput(ticket_id=ticket_id, body=body, key=key, tags=tags or []),
        )
        return bool(written.written)

    # --- timers -----------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        """When a timer next acts on the ticket, if one is running."""
        policy, state = self._request.policy, self._state
        if state.ticket_id is None:
            return None
        if state.ticket_status is TicketStatus.SOLVED and state.solved_at is not None:
            return state.solved_at + policy.auto_close_after
        if (
            policy.inactivity_close_after is not None
            and state.ticket_status in WORKING
            and state.last_customer_text_at is not None
        ):
            return state.last_customer_text_at + policy.inactivity_close_after
        return None

    async def on_deadline(self) -> None:
        policy, state = self._request.policy, self._state
        if state.ticket_id is None:
            return
        if state.ticket_status is TicketStatus.SOLVED:
            hours = policy.auto_close_after.total_seconds() / 3600
            transition = TransitionInput(
                ticket_id=state.ticket_id,
                when=[TicketStatus.SOLVED],
                to_status=TicketStatus.CLOSED,
                note=f"Closed by smsdesk: solved for {hours:g} hours with no new text.",
            )
        else:
            assert policy.inactivity_close_after is not None
            hours = policy.inactivity_close_after.total_seconds() / 3600
            transition = TransitionInput(
                ticket_id=state.ticket_id,
                when=list(WORKING),
                to_status=TicketStatus.SOLVED,
                note=f"Solved by smsdesk: no text from the customer for {hours:g} hours.",
            )
        # Zendesk answers with the ticket's real status, moved or (if an agent changed it
        # meanwhile) left alone; either way the conversation adopts it.
        moved = await self._calls.zendesk_update(ZendeskActivities.transition_ticket, transition)
        self.set_ticket(moved)


class ConversationPart:
    """A piece of the conversation's behaviour: shares the workflow's input, its state (the
    same object, mutated in place), its activity calls and its ticket keeper."""

    def __init__(
        self,
        request: ConversationInput,
        state: ConversationState,
        calls: Calls,
        tickets: TicketKeeper,
    ) -> None:
        self._request = request
        self._state = state
        self._calls = calls
        self._tickets = tickets
