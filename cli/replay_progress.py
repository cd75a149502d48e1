"""A progress bar for `replay` that degrades to plain lines when the output is not a terminal.

Written here rather than taken from tqdm or rich: it is a screenful of code, and a log file or CI
output gets ten readable lines instead of carriage-return noise.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
#: Redraws per second on a terminal; more only costs CPU.
REDRAW_EVERY = 0.1
#: Without a terminal, one line per this share of the events.
LINE_EVERY = 0.1


class Progress:
    """Counts events as they finish and shows how far the replay is."""

    def __init__(self, total: int, *, stream: TextIO | None = None, label: str = "replay") -> None:
        self.total = total
        self.done = 0
        self.errors = 0
        self._stream = stream or sys.stdout
        self._label = label
        self._tty = self._stream.isatty()
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._next_line = self._step()

    def _step(self) -> int:
        return max(1, int(self.total * LINE_EVERY))

    def advance(self, *, ok: bool) -> None:
        """One more event finished (accepted, or failed when `ok` is False)."""
        self.done += 1
        self.errors += not ok
        if self._tty:
            now = time.monotonic()
            if now - self._drawn_at >= REDRAW_EVERY or self.done == self.total:
                self._drawn_at = now
                self._stream.write("\r" + self.render())
                self._stream.flush()
        elif self.done >= self._next_line or self.done == self.total:
            self._next_line = self.done + self._step()
            self._stream.write(self.render() + "\n")
            self._stream.flush()

    def render(self) -> str:
        """The status line, e.g. `replay [#####-----] 250/500 (50%) 0 errors 12.3/s`."""
        share = self.done / self.total if self.total else 1.0
        filled = int(share * BAR_WIDTH)
        elapsed = max(time.monotonic() - self._started, 1e-9)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return (
            f"{self._label} [{bar}] {self.done}/{self.total} ({share:.0%}) "
            f"{self.errors} error{'s' if self.errors != 1 else ''} {self.done / elapsed:.1f}/s"
        )

    def close(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()
