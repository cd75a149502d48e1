"""`tickets` and `texts`: what the dev stack's sandbox Zendesk and SMS provider hold, as
tables for the terminal (the sandbox's own JSON with `--json`).

Quick commands of the dev loop: run with nothing configured, they read two addresses and
make one or two plain-http requests, so they import neither pydantic nor the settings (see
`cli.common.listing_settings`) and build no TLS context (`cli.common.tls_for`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

import httpx

from cli.common import tls_for
from cli.table import cut, table

if TYPE_CHECKING:
    from cli.common import SandboxAddresses


async def sandbox_listing(settings: SandboxAddresses, args: argparse.Namespace) -> int:
    """List the sandbox Zendesk's tickets (`tickets`) or the sandbox SMS provider's texts."""
    tickets = args.command == "tickets"
    base = (settings.zendesk_url if tickets else settings.twilio_base_url).rstrip("/")
    async with httpx.AsyncClient(timeout=30, verify=tls_for(base)) as http:
        try:
            response = await http.get(
                base + ("/_sandbox/tickets" if tickets else "/_sandbox/messages")
            )
            if response.status_code == 404:
                print(f"{base} is not a sandbox: {args.command} lists the dev stack's sandbox only")
                return 1
            listing: dict[str, Any] = response.json()
            users = (await http.get(base + "/_sandbox/users")).json()["users"] if tickets else []
        except httpx.TransportError as exc:
            print(f"{base} cannot be reached ({exc!r}): is ./scripts/dev running?", file=sys.stderr)
            return 1
    rows = listing["tickets" if tickets else "messages"]
    if args.json:
        print(json.dumps(listing, indent=2))
    elif not rows:
        print("no tickets in the sandbox Zendesk" if tickets else "the sandbox sent no texts")
    elif tickets:
        print(ticket_table(rows, users))
    else:
        print(text_table(rows))
    return 0


def ticket_table(tickets: list[dict[str, Any]], users: list[dict[str, Any]]) -> str:
    """A line per ticket: id, status, subject, requester, last comment."""
    names = {u["id"]: f"{u.get('name') or ''} {u.get('phone') or ''}".strip() for u in users}

    def last_comment(ticket: dict[str, Any]) -> str:
        comments = ticket.get("comments") or []
        if not comments:
            return ""
        last = comments[-1]
        who = "" if last.get("public", True) else "(internal) "
        return who + cut(last.get("body"), 50)

    rows = [
        (
            t["id"],
            t["status"],
            cut(t.get("subject"), 30),
            cut(names.get(t.get("requester_id"), str(t.get("requester_id") or "")), 24),
            last_comment(t),
        )
        for t in tickets
    ]
    return table(["TICKET", "STATUS", "SUBJECT", "REQUESTER", "LAST COMMENT"], rows)


def text_table(messages: list[dict[str, Any]]) -> str:
    """A line per text: sid, from, to, status, body."""
    rows = [(m["sid"], m["from"], m["to"], m["status"], cut(m.get("body"), 50)) for m in messages]
    return table(["SID", "FROM", "TO", "STATUS", "BODY"], rows)
