"""Commands that act as the outside world and look inside: send-sms, agent-reply, state (the
listings `tickets` and `texts` are in `cli/listing.py`)."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cli.common import tls_for, zendesk_session
from devstack.sandboxes import AGENT_ID

if TYPE_CHECKING:
    import httpx

    from clients.zendesk import ZendeskClient, ZendeskTicket
    from core.settings import Settings

# These are the quick commands of the dev loop: what only one of them needs (httpx, the
# Zendesk client, FastAPI behind the signature helpers, Temporal) is imported by that one.


async def post_inbound_text(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    from_number: str,
    to_number: str,
    body: str,
    media: Sequence[str] = (),
) -> tuple[httpx.Response, str]:
    """Post a signed Twilio-format inbound webhook, as the SMS provider would; returns the
    answer and the text's MessageSid."""
    from webhooks.signatures import twilio_signature

    url = settings.public_base_url.rstrip("/") + "/webhooks/sms/inbound"
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": settings.twilio_account_sid or "",
        "From": from_number,
        "To": to_number,
        "Body": body,
        "NumMedia": str(len(media)),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    for index, media_url in enumerate(media):
        form[f"MediaUrl{index}"] = media_url
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    headers = {"X-Twilio-Signature": twilio_signature(token, url, form)}
    return await http.post(url, data=form, headers=headers), form["MessageSid"]


async def post_agent_comment(
    zendesk: ZendeskClient,
    ticket_id: int,
    body: str,
    *,
    public: bool = True,
    author_id: int | None = None,
    status: str | None = None,
) -> ZendeskTicket:
    """Comment on a ticket through the Zendesk API with the product's credentials; Zendesk
    then emits `comment_added`. Without `author_id` the API user (an agent) writes it.

    Raises:
        clients.errors.ApiError: Zendesk refused or could not be reached.
    """
    comment: dict[str, Any] = {"body": body, "public": public}
    if author_id is not None:
        comment["author_id"] = author_id
    ticket: dict[str, Any] = {"comment": comment}
    if status:
        ticket["status"] = status
    return await zendesk.update_ticket(ticket_id, ticket)


async def send_sms(settings: Settings, args: argparse.Namespace) -> int:
    """Post a signed Twilio-format inbound webhook, as the SMS provider would."""
    import httpx

    async with httpx.AsyncClient(timeout=30, verify=tls_for(settings.public_base_url)) as http:
        response, sid = await post_inbound_text(
            settings,
            http,
            from_number=args.from_number,
            to_number=args.to_number,
            body=args.body,
            media=args.media,
        )
    print(f"{response.status_code} {sid} {response.text}")
    return 0 if response.is_success else 1


async def agent_reply(settings: Settings, args: argparse.Namespace) -> int:
    """Add an agent comment through the Zendesk API; Zendesk then emits `comment_added`."""
    import httpx

    from clients.errors import ApiError

    if not settings.zendesk_configured:
        print("agent-reply needs Zendesk credentials (or the dev stack's sandbox)", file=sys.stderr)
        return 2
    # Zendesk alone: the API and, for an OAuth client, its token endpoint.
    async with (
        httpx.AsyncClient(timeout=30, verify=tls_for(settings.zendesk_url)) as http,
        zendesk_session(settings, http) as client,
    ):
        try:
            ticket = await post_agent_comment(
                client,
                args.ticket_id,
                args.body,
                public=not args.internal,
                author_id=AGENT_ID if args.author_id is None else args.author_id,
                status=args.status,
            )
        except ApiError as exc:
            print(exc, file=sys.stderr)
            return 1
    print(f"ticket {ticket.id} status {ticket.status}")
    return 0


async def show_state(settings: Settings, args: argparse.Namespace) -> int:
    """Query a conversation workflow for its state."""
    from cli.common import temporal_client
    from core.conversation import STATE_QUERY, conversation_id

    client = await temporal_client(settings)
    workflow_id = conversation_id(args.to_number, args.from_number, settings)
    handle = client.get_workflow_handle(workflow_id)
    view = await handle.query(STATE_QUERY)
    print(json.dumps(view, indent=2, default=str) if isinstance(view, dict) else view)
    return 0
