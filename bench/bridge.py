"""The floor: a minimal direct bridge from inbound texts to Zendesk, with no durability.

`python bench/bridge.py --port N` (settings from the environment, like the product). The
webhook handler checks the signature and calls the sandbox Zendesk inline: the requester once
per customer and the ticket once (both remembered in memory only), then one comment per text.
A crash loses whatever was in flight and everything it remembered; a Zendesk 429 or 500 is
simply an error to the SMS provider. It is what the product would cost with none of its
guarantees, so the gap between the two is the price of durability.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from clients.zendesk import ZendeskClient  # noqa: E402
from core.markers import audit_metadata  # noqa: E402
from core.settings import Settings  # noqa: E402
from webhooks.signatures import twilio_signature  # noqa: E402

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def create_bridge(settings: Settings, public_url: str) -> FastAPI:
    http = httpx.AsyncClient(
        timeout=10, limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
    )
    assert settings.zendesk_oauth_token is not None and settings.twilio_auth_token is not None
    zendesk = ZendeskClient(
        http,
        base_url=settings.zendesk_url,
        authorization=f"Bearer {settings.zendesk_oauth_token.get_secret_value()}",
    )
    auth_token = settings.twilio_auth_token.get_secret_value()
    requesters: dict[str, int] = {}
    tickets: dict[str, int] = {}
    # One customer's texts go in order, and the first one alone creates the ticket.
    locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
    app = FastAPI(title="bench direct bridge")

    @app.post("/webhooks/sms/inbound")
    async def inbound(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        url = public_url + "/webhooks/sms/inbound"
        if request.headers.get("X-Twilio-Signature") != twilio_signature(auth_token, url, form):
            raise HTTPException(401, "bad signature")
        customer, sid, body = form["From"], form["MessageSid"], form.get("Body", "")
        # Written as the product writes it (B13): the text as sent, the reference in metadata.
        comment: dict[str, Any] = {"body": body, "public": True}
        metadata = audit_metadata(sid)
        async with locks[customer]:
            if customer not in requesters:
                user = await zendesk.create_or_update_user(
                    name=customer, external_id=f"sms:{customer}"
                )
                requesters[customer] = user.id
            comment["author_id"] = requesters[customer]
            if customer in tickets:
                await zendesk.update_ticket(
                    tickets[customer], {"comment": comment, "metadata": metadata}
                )
            else:
                created = await zendesk.create_ticket(
                    {
                        "subject": f"SMS from {customer}",
                        "comment": comment,
                        "requester_id": requesters[customer],
                        "tags": ["sms"],
                        "metadata": metadata,
                    },
                    idempotency_key=sid,
                )
                tickets[customer] = created.ticket.id
        return Response(TWIML, media_type="text/xml")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    public_url = f"http://127.0.0.1:{args.port}"
    app = create_bridge(Settings(), public_url)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
