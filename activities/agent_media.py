"""Which of an agent's attachments can be texted as MMS (B11), and why the others cannot.

Zendesk's comment event does not list attachments, so the comment is read back. Pictures
the provider formats for handsets (JPEG, PNG, GIF) go, up to 10 and 5 MB together, in the
order the agent attached them; the rest are named, with the reason, in a note (B8). The
URLs themselves are signed when the text is sent (`activities.sms`), so a retried send
never carries an expired one.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.errors import retry_decisions
from clients.zendesk import ZendeskAttachment, ZendeskClient

TEXTABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
MAX_ITEMS = 10
MAX_BYTES = 5 * 1024 * 1024


class AgentMediaInput(BaseModel):
    ticket_id: int
    comment_id: int


class AgentMediaResult(BaseModel):
    #: Attachments to text, in order.
    attachment_ids: list[int] = []
    #: Those that will not be texted, each with its reason, for the agents' note.
    refused: list[str] = []


def choose(attachments: list[ZendeskAttachment], *, can_sign: bool) -> AgentMediaResult:
    chosen = AgentMediaResult()
    total = 0
    for item in attachments:
        name = f'"{item.file_name}" ({item.content_type}, {item.size / 1_048_576:.1f} MB)'
        if not can_sign:
            why = "MEDIA_URL_SECRET is not set, so no picture can be texted"
        elif item.content_type not in TEXTABLE_TYPES:
            why = "only JPEG, PNG and GIF pictures can be texted"
        elif len(chosen.attachment_ids) == MAX_ITEMS:
            why = f"a text carries at most {MAX_ITEMS} pictures"
        elif total + item.size > MAX_BYTES:
            why = "the pictures of one text must stay under 5 MB together"
        else:
            chosen.attachment_ids.append(item.id)
            total += item.size
            continue
        chosen.refused.append(f"{name}: {why}")
    return chosen


class AgentMediaActivities:
    def __init__(self, zendesk: ZendeskClient, *, can_sign: bool) -> None:
        self._zendesk = zendesk
        self._can_sign = can_sign

    @activity.defn
    async def agent_attachments(self, request: AgentMediaInput) -> AgentMediaResult:
        with retry_decisions():
            comments = await self._zendesk.list_comments(request.ticket_id)
        comment = next((c for c in comments if c.id == request.comment_id), None)
        if comment is None:
            # Off the first page (a very long ticket): the reply is still texted, without media.
            activity.logger.warning(
                "comment %s not on ticket %s's latest page", request.comment_id, request.ticket_id
            )
            return AgentMediaResult()
        return choose(comment.attachments, can_sign=self._can_sign)
