"""`replay FILE.jsonl`: drive a running stack with recorded events, for backfill tests (M22).

    python starter.py replay samples/backfill-500.jsonl --seed-sandbox

The file holds one JSON object per line, in the order the events happened. Every line is checked
before anything is sent. `at` (ISO 8601) is when the event was recorded; the product sees replay
time, as it does for live events. Phone numbers are E.164.

    {"type": "inbound_sms", "at": "...", "from": "+1555...", "to": "<account number>",
     "body": "Where is my order?", "message_sid": "SM...", "media_urls": []}
    {"type": "outbound_sms", "at": "...", "from": "<account number>", "to": "+1555...",
     "body": "Spring sale!", "message_id": "...", "kind": "campaign|flow|other",
     "campaign_or_flow_id": "c-spring", "name": "Spring sale"}
    {"type": "agent_comment", "at": "...", "customer": "+1555...", "sender": "<account number>",
     "body": "It ships today", "public": true, "author_id": 2, "status": "solved"}
    {"type": "status_change", "at": "...", "customer": "+1555...", "sender": "<account number>",
     "status": "open|pending|hold|solved|closed", "author_id": 2}

Agent events name the conversation, not a ticket: ticket ids only exist once the replayed texts
have made them. They act on the conversation's current ticket (see `cli/replay_send.py` for how
it is found and when an event counts as accepted). `author_id` (optional) is a Zendesk user of
the target account; `--agent-id` overrides it.

Texts are signed with the product's own secrets, so replay needs the same settings as the
webhooks; it also reads the product database (`DATABASE_URL`) and queries Temporal. Texts carry
their recorded ids, so replaying a file twice sends no text twice; agent comments through the
Zendesk API are new comments each time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import httpx

from cli.common import database, temporal_client
from cli.replay_events import ReplayFileError, load_events
from cli.replay_progress import Progress
from cli.replay_run import replay_all
from cli.replay_send import HttpSender
from cli.replay_summary import EndStateReader, Summary, describe
from core.conversation import conversation_id
from core.settings import Settings


def profiles_file(events_file: Path) -> Path:
    """The Klaviyo profiles next to a file: `x.jsonl` → `x.profiles.json`."""
    return events_file.with_suffix(".profiles.json")


async def seed_profiles(settings: Settings, http: httpx.AsyncClient, path: Path) -> int:
    """Load the customers' Klaviyo profiles (consent) into the Klaviyo sandbox."""
    profiles: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    url = settings.klaviyo_base_url.rstrip("/") + "/_sandbox/profiles"
    for profile in profiles:
        response = await http.post(url, json=profile)
        if response.status_code == 404:
            raise RuntimeError(f"{settings.klaviyo_base_url} is not the Klaviyo sandbox")
        response.raise_for_status()
    return len(profiles)


async def replay(settings: Settings, args: argparse.Namespace) -> int:
    """Replay the file; 0 when every event was accepted and every conversation settled."""
    path = Path(args.file)
    try:
        events = load_events(path)
    except (OSError, ReplayFileError) as exc:
        problems = getattr(exc, "problems", [str(exc)])
        print(f"{path}: not replayed, fix these first:\n  " + "\n  ".join(problems))
        return 2
    engine = database(settings)
    temporal = await temporal_client(settings)
    conversations = {e.event.conversation for e in events}
    async with httpx.AsyncClient(timeout=30) as http:
        if args.seed_sandbox:
            seeded = await seed_profiles(settings, http, profiles_file(path))
            print(f"seeded {seeded} Klaviyo sandbox profiles from {profiles_file(path)}")
        reader = EndStateReader(
            settings,
            http=http,
            engine=engine,
            conversation_ids={conversation_id(s, c, settings) for s, c in conversations},
            customers={customer for _, customer in conversations},
        )
        await reader.detect()
        before = await reader.counts()
        sender = HttpSender(
            settings,
            http=http,
            engine=engine,
            temporal=temporal,
            direct=args.direct_zendesk_events,
            wait_seconds=args.wait,
            agent_id=args.agent_id,
        )
        started = time.monotonic()
        outcomes = await replay_all(
            events, sender, concurrency=args.concurrency, progress=Progress(len(events))
        )
        seconds = time.monotonic() - started
        settled = await reader.settle(temporal, args.settle_timeout)
        summary = Summary(
            file=str(path),
            events=len(events),
            accepted=sum(o.accepted for o in outcomes),
            errors=[o for o in outcomes if not o.accepted],
            seconds=seconds,
            conversations=len(conversations),
            settled=settled,
            end_state=reader.end_state(before, await reader.counts()),
        )
    engine.dispose()
    print(describe(summary))
    if args.summary_json:
        Path(args.summary_json).write_text(summary.model_dump_json(indent=2), encoding="utf-8")
    return 0 if not summary.errors and settled == len(conversations) else 1
