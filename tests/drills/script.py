"""The drill's events, generated from a seed: what each customer does, step by step.

A consented customer texts (sometimes several texts in a row, a burst), an agent answers in
Zendesk (public replies, now and then an internal note), and the ticket is solved (the next
text reopens it) or closed (the next text opens a follow-up). Some customers never agreed to
texts (they get the auto-responder and no ticket); some text STOP mid-conversation (replies
after that are not sent). Every text and reply carries a unique token, so the end state can be
checked exactly against the script.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

StepKind = Literal["text", "reply", "note", "solve", "close", "stop"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    #: A text's or comment's words; unique across the drill for texts, replies and notes.
    body: str = ""
    #: For a text: the SMS provider delivers its webhook twice.
    duplicate: bool = False


@dataclass
class CustomerScript:
    phone: str
    consented: bool
    steps: list[Step] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        return any(step.kind == "stop" for step in self.steps)

    def ticket_texts(self) -> list[str]:
        """Texts that must each be in Zendesk exactly once."""
        if not self.consented:
            return []
        texts: list[str] = []
        for step in self.steps:
            if step.kind == "stop":
                break
            if step.kind == "text":
                texts.append(step.body)
        return texts

    def replies(self) -> tuple[list[str], list[str]]:
        """Public agent replies: (must be texted exactly once, must never be texted)."""
        sent: list[str] = []
        unsent: list[str] = []
        after_stop = False
        for step in self.steps:
            after_stop = after_stop or step.kind == "stop"
            if step.kind == "reply":
                (unsent if after_stop else sent).append(step.body)
        return sent, unsent

    def expected_tickets(self) -> int:
        """One, plus a follow-up for every close that a later text comes after."""
        if not self.consented:
            return 0
        tickets, closed = 1, False
        for step in self.steps:
            if step.kind == "close":
                closed = True
            elif step.kind == "text" and closed:
                tickets, closed = tickets + 1, False
        return tickets

    def expected_closes(self) -> int:
        return sum(1 for step in self.steps if step.kind == "close")


@dataclass
class DrillScript:
    customers: list[CustomerScript]

    @property
    def events(self) -> int:
        """Events the outside world sends (a duplicate delivery is not a new event)."""
        return sum(len(c.steps) for c in self.customers)

    @property
    def duplicated_texts(self) -> int:
        return sum(1 for c in self.customers for s in c.steps if s.duplicate)


def generate(
    *, seed: int, customers: int, first_number: int, unconsented: int = 6, stopping: int = 6
) -> DrillScript:
    rng = random.Random(seed)
    scripts: list[CustomerScript] = []
    for index in range(customers):
        phone = f"+1555{first_number + index:07d}"
        tag = f"c{index:03d}"
        if index < unconsented:
            scripts.append(_unconsented(phone, tag, rng))
        elif index < unconsented + stopping:
            scripts.append(_stopping(phone, tag, rng))
        else:
            scripts.append(_conversation(phone, tag, rng))
    rng.shuffle(scripts)
    return DrillScript(scripts)


class _Words:
    """Unique bodies: `<customer tag>-<kind><n>` first, so a token never prefixes another."""

    def __init__(self, tag: str, rng: random.Random) -> None:
        self.tag, self.rng, self.count = tag, rng, 0

    def text(self, kind: StepKind, words: str) -> Step:
        self.count += 1
        token = f"{self.tag}-{kind[0]}{self.count:02d}."
        duplicate = kind == "text" and self.rng.random() < 0.1
        return Step(kind, f"{token} {words}", duplicate)


def _conversation(phone: str, tag: str, rng: random.Random) -> CustomerScript:
    words = _Words(tag, rng)
    steps: list[Step] = []
    rounds = rng.choice([2, 3, 3])
    for round_ in range(rounds):
        for _ in range(rng.choice([1, 1, 2, 3])):  # 2 or 3: a burst
            steps.append(words.text("text", "Where is my order?"))
        for _ in range(rng.choice([1, 1, 2])):
            steps.append(words.text("reply", "We are looking into it."))
        if rng.random() < 0.25:
            steps.append(words.text("note", "Internal: check the warehouse."))
        if round_ < rounds - 1:
            steps.append(Step(rng.choice(["solve", "close"])))
        elif rng.random() < 0.5:
            steps.append(Step("close"))  # a Resolved Ticket metric with no follow-up
    return CustomerScript(phone, consented=True, steps=steps)


def _unconsented(phone: str, tag: str, rng: random.Random) -> CustomerScript:
    words = _Words(tag, rng)
    steps = [words.text("text", "Hello?"), words.text("text", "Anyone there?")]
    return CustomerScript(phone, consented=False, steps=steps)


def _stopping(phone: str, tag: str, rng: random.Random) -> CustomerScript:
    words = _Words(tag, rng)
    steps = [
        words.text("text", "My parcel is late"),
        words.text("reply", "Sorry, it ships tomorrow."),
        Step("stop", "STOP"),
        words.text("reply", "Did it arrive?"),
    ]
    return CustomerScript(phone, consented=True, steps=steps)
