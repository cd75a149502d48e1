"""The journal's writers on SQLite take turns, and a webhook's write goes before the
forwarder's (a caller waits on it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from intake.journal import _WriteTurns


def _wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline, "the writers never queued"
        time.sleep(0.001)


def test_a_waiting_webhook_write_goes_before_a_waiting_forwarder_write() -> None:
    turns = _WriteTurns()
    order: list[str] = []

    def write(name: str, *, urgent: bool) -> None:
        with turns.turn(urgent=urgent):
            order.append(name)

    with turns.turn(urgent=False):  # a forwarder's write holds the file
        forwarder = threading.Thread(target=write, args=("forwarder",), kwargs={"urgent": False})
        forwarder.start()
        _wait_until(lambda: turns.waiting == 1)
        webhook = threading.Thread(target=write, args=("webhook",), kwargs={"urgent": True})
        webhook.start()
        _wait_until(lambda: turns.waiting == 2)
        order.append("holder")
    forwarder.join(5)
    webhook.join(5)

    assert order == ["holder", "webhook", "forwarder"]


def test_one_writer_at_a_time() -> None:
    turns = _WriteTurns()
    inside = 0
    most_inside = 0
    guard = threading.Lock()

    def write(urgent: bool) -> None:
        nonlocal inside, most_inside
        for _ in range(50):
            with turns.turn(urgent=urgent):
                with guard:
                    inside += 1
                    most_inside = max(most_inside, inside)
                time.sleep(0.0001)
                with guard:
                    inside -= 1

    writers = [threading.Thread(target=write, args=(i % 2 == 0,)) for i in range(6)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(10)

    assert most_inside == 1
    assert turns.waiting == 0
