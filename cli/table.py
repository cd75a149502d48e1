"""Plain-text tables for the terminal: a header row, then one line per row, columns aligned."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: What an empty cell shows.
NOTHING = "-"


def cut(text: str | None, width: int) -> str:
    """`text` on one line, at most `width` characters (an ellipsis marks a cut)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The rows under their headers, each column as wide as its widest cell; the last column
    is not padded (it may be long, such as a link)."""
    cells = [[str(h) for h in headers]]
    cells += [[NOTHING if v is None or v == "" else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)
