"""Generate `samples/backfill-500.jsonl` and its Klaviyo profiles, and say what replaying them
must leave behind.

    python samples/make_sample.py            # rewrites the two files (same seed, same bytes)

Sixty customers, each with a story drawn from a seeded random generator: a campaign text before
or during the conversation, a few texts (sometimes HELP, sometimes with a picture), agent answers
and internal notes, solving, a text that reopens the solved ticket, closing and a follow-up
ticket, STOP then an answer that must not be texted, START again, JOIN. One customer texts both
account numbers; one never agreed to texts and gets the auto-responder instead of a ticket.

The generator keeps its own model of the product's rules (SPEC M4, M5, M7, M8, M12, M18) while it
writes the events, and `build()` returns that model's expectations next to the events: the
end-to-end test replays the file and compares. The model is written from the spec, not from the
product's code, so the two can disagree.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

SEED = 2026
HERE = Path(__file__).resolve().parent
EVENTS_FILE = HERE / "backfill-500.jsonl"
PROFILES_FILE = HERE / "backfill-500.profiles.json"
ACCOUNT_NUMBERS = ("+15550100001", "+15550100002")
CUSTOMERS = 60
AGENTS = (2, 2, 2, 1)  # the sandbox's agent answers most; its admin sometimes
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

ASKS = [
    "Where is my order?",
    "Can I change the delivery address?",
    "My parcel arrived damaged",
    "Do you ship to Canada?",
    "I was charged twice",
    "How do I return the shoes?",
    "Is the blue jacket back in stock?",
    "The discount code does not work",
]
ANSWERS = [
    "It ships today",
    "Done, the new address is on the order",
    "Sorry about that, a replacement is on its way",
    "Yes, in 3 to 5 days",
    "The second charge is refunded",
    "Here is your return label",
    "Back next week",
    "Try SPRING10 at checkout",
]


class Expected(BaseModel):
    """What the product must show once the file has been replayed."""

    events: int
    tickets: int
    #: Tickets per conversation, keyed "sender>customer".
    tickets_by_conversation: dict[str, int]
    #: Bodies of customer texts that must each be on exactly one ticket comment.
    ticketed_texts: list[str]
    #: Bodies of customer texts (not keywords) that must be on no ticket.
    unticketed_texts: list[str]
    #: Agent answers that must each be texted to the customer exactly once; and never.
    texted_replies: list[str]
    untexted_replies: list[str]
    public_agent_comments: int
    #: Customers who must get exactly one auto-responder text.
    auto_responded: list[str]
    #: The last ticket's status per conversation: "active" (new/open), "solved" or "closed".
    final_status: dict[str, str]
    attributed_tickets: int


@dataclass
class _Ticket:
    status: str = "active"
    attributed: bool = False


@dataclass
class _Conversation:
    """One (account number, customer) pair as the model sees it."""

    sender: str
    customer: str
    consented: bool
    clock: datetime
    tickets: list[_Ticket] = field(default_factory=list)
    window_open: bool = False
    texts: int = 0

    @property
    def key(self) -> str:
        return f"{self.sender}>{self.customer}"

    @property
    def current(self) -> _Ticket | None:
        return self.tickets[-1] if self.tickets and self.tickets[-1].status != "closed" else None


class _Writer:
    """Writes events and keeps the model (and so the expectations) up to date."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[tuple[datetime, int, dict[str, Any]]] = []
        self.ticketed: list[str] = []
        self.unticketed: list[str] = []
        self.texted: list[str] = []
        self.untexted: list[str] = []
        self.public_comments = 0
        self.auto_responded: set[str] = set()

    def _emit(self, conv: _Conversation, event: dict[str, Any]) -> None:
        conv.clock += timedelta(minutes=self.rng.randint(2, 120))
        event = {"type": event.pop("type"), "at": conv.clock.isoformat(), **event}
        self.events.append((conv.clock, len(self.events), event))

    def text(self, conv: _Conversation, body: str, *, keyword: bool = False) -> None:
        conv.texts += 1
        n = len(self.events)
        event: dict[str, Any] = {
            "type": "inbound_sms",
            "from": conv.customer,
            "to": conv.sender,
            "body": body,
            "message_sid": f"SMb{SEED}{n:05d}{conv.customer[-4:]}",
        }
        if not keyword and self.rng.random() < 0.05:
            event["media_urls"] = [f"https://media.example.com/{n}.jpg"]
        self._emit(conv, event)
        word = body.strip().upper()
        if word in ("STOP", "START", "JOIN"):
            conv.consented = {"STOP": False, "START": True}.get(word, conv.consented)
            return  # keywords never make a ticket (M5)
        if not conv.consented:
            self.unticketed.append(body)  # M12: the auto-responder instead
            self.auto_responded.add(conv.customer)
            return
        self.ticketed.append(body)
        current = conv.current
        if current is None:
            current = _Ticket()  # a first ticket, or the follow-up of a closed one (M7)
            conv.tickets.append(current)
        current.status = "active"  # a solved or pending ticket is reopened (M7)
        if conv.window_open:  # M18: the first text after a campaign is attributed
            conv.window_open, current.attributed = False, True

    def agent(
        self, conv: _Conversation, body: str, *, public: bool = True, status: str | None = None
    ) -> None:
        if conv.current is None:
            return  # nothing for an agent to answer
        event: dict[str, Any] = {
            "type": "agent_comment",
            "customer": conv.customer,
            "sender": conv.sender,
            "body": body,
            "public": public,
            "author_id": self.rng.choice(AGENTS),
        }
        if status:
            event["status"] = status
        self._emit(conv, event)
        if public:
            self.public_comments += 1
            (self.texted if conv.consented else self.untexted).append(body)  # M8, M12
        if status:
            conv.current.status = status

    def status(self, conv: _Conversation, status: str) -> None:
        if conv.current is None:
            return
        self._emit(
            conv,
            {
                "type": "status_change",
                "customer": conv.customer,
                "sender": conv.sender,
                "status": status,
                "author_id": self.rng.choice(AGENTS),
            },
        )
        conv.current.status = status

    def campaign(self, conv: _Conversation, name: str) -> None:
        slug = name.lower().replace(" ", "-")
        self._emit(
            conv,
            {
                "type": "outbound_sms",
                "from": conv.sender,
                "to": conv.customer,
                "body": f"{name}: 20% off everything this week. Reply STOP to opt out.",
                "message_id": f"cmp-{slug}-{conv.customer[-4:]}-{len(self.events)}",
                "kind": "campaign",
                "campaign_or_flow_id": slug,
                "name": name,
            },
        )
        conv.window_open = True


def _ask(writer: _Writer, conv: _Conversation) -> str:
    return f"{writer.rng.choice(ASKS)} (ref {conv.customer[-4:]}-{conv.texts + 1})"


def _answer(writer: _Writer, conv: _Conversation) -> str:
    return f"{writer.rng.choice(ANSWERS)} (answer {conv.customer[-4:]}-{len(writer.events)})"


def _story(writer: _Writer, conv: _Conversation) -> None:
    """One consented customer's conversation; the guards in `_Writer` keep it coherent."""
    rng = writer.rng
    if rng.random() < 0.3:
        writer.campaign(conv, "Spring sale")
    for index in range(rng.randint(1, 3)):
        writer.text(conv, "HELP" if index == 0 and rng.random() < 0.1 else _ask(writer, conv))
    if rng.random() < 0.25:
        writer.agent(conv, f"Checking with the warehouse ({conv.customer[-4:]})", public=False)
    writer.agent(conv, _answer(writer, conv))
    if rng.random() < 0.6:
        for _ in range(rng.randint(1, 2)):
            writer.text(conv, _ask(writer, conv))
        writer.agent(conv, _answer(writer, conv))
    if rng.random() < 0.5:
        writer.agent(conv, _answer(writer, conv), status="solved")
    else:
        writer.status(conv, "solved")
    if rng.random() < 0.45:
        writer.text(conv, _ask(writer, conv))  # reopens the solved ticket
        writer.agent(conv, _answer(writer, conv), status="solved")
    if rng.random() < 0.2:
        writer.campaign(conv, "Summer preview")
    if rng.random() < 0.4:
        writer.status(conv, "closed")
        if rng.random() < 0.75:
            writer.text(conv, _ask(writer, conv))  # a follow-up ticket
            writer.agent(conv, _answer(writer, conv))
    ending = rng.random()
    if ending < 0.15:
        writer.text(conv, "STOP", keyword=True)
        writer.agent(conv, _answer(writer, conv))  # must not be texted
        if rng.random() < 0.6:
            writer.text(conv, "START", keyword=True)
            writer.text(conv, _ask(writer, conv))
            writer.agent(conv, _answer(writer, conv))
    elif ending < 0.25:
        writer.text(conv, "JOIN", keyword=True)


def _profile(index: int, phone: str) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "phone_number": phone,
        "email": f"customer{index}@example.com",
        "first_name": f"Customer {index}",
    }
    if index == CUSTOMERS:
        profile["sms_marketing"] = "NEVER_SUBSCRIBED"
    elif index % 4 == 0:
        profile["sms_transactional"] = "SUBSCRIBED"
    else:
        profile["sms_marketing"] = "SUBSCRIBED"
    return profile


def build(seed: int = SEED) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Expected]:
    """The events (in file order), the Klaviyo profiles and what replaying them must give."""
    writer = _Writer(random.Random(seed))
    conversations: list[_Conversation] = []
    profiles = []
    for index in range(1, CUSTOMERS + 1):
        phone = f"+1555900{index:04d}"
        profiles.append(_profile(index, phone))
        begins = START + timedelta(minutes=writer.rng.randint(0, 600))
        conv = _Conversation(ACCOUNT_NUMBERS[index % 2], phone, index != CUSTOMERS, begins)
        conversations.append(conv)
        if index == CUSTOMERS:
            # Exactly one text: the auto-responder is sent at most once per run (M12), and a
            # conversation without a ticket ends its run after each text.
            writer.text(conv, f"Hello? I need help with my order (ref {phone[-4:]}-1)")
            writer.text(conv, "JOIN", keyword=True)
            continue
        _story(writer, conv)
        if index == 1:  # the same customer texting the other number is another conversation
            other = _Conversation(ACCOUNT_NUMBERS[0], phone, True, begins + timedelta(hours=1))
            conversations.append(other)
            _story(writer, other)
    events = [event for _, _, event in sorted(writer.events, key=lambda e: (e[0], e[1]))]
    expected = Expected(
        events=len(events),
        tickets=sum(len(c.tickets) for c in conversations),
        tickets_by_conversation={c.key: len(c.tickets) for c in conversations},
        ticketed_texts=writer.ticketed,
        unticketed_texts=writer.unticketed,
        texted_replies=writer.texted,
        untexted_replies=writer.untexted,
        public_agent_comments=writer.public_comments,
        auto_responded=sorted(writer.auto_responded),
        final_status={c.key: c.tickets[-1].status for c in conversations if c.tickets},
        attributed_tickets=sum(t.attributed for c in conversations for t in c.tickets),
    )
    return events, profiles, expected


def render(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events)


def main() -> None:
    events, profiles, expected = build()
    EVENTS_FILE.write_text(render(events), encoding="utf-8")
    PROFILES_FILE.write_text(json.dumps(profiles, indent=1) + "\n", encoding="utf-8")
    print(f"{EVENTS_FILE.name}: {expected.events} events, {expected.tickets} tickets expected")


if __name__ == "__main__":
    main()
