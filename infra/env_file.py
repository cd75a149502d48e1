"""Reading and updating the `.env` file set-up records its choices in.

Keys are changed where they stand, so the file keeps its comments, order and other keys; a key
that is only shown commented out (`#NAME=default`, as in `.env.example`) is filled in on that
line. Values are written unquoted, because Docker Compose and the product read quotes
differently (see `.env.example`); a value that cannot be written so is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path


class EnvFileError(ValueError):
    """A value that cannot be written to `.env` unquoted."""


def read_env_file(path: Path) -> dict[str, str]:
    """The file's non-empty values (an empty value means unset, as for `Settings`)."""
    if not path.exists():
        return {}
    from dotenv import dotenv_values  # only for a file to read: `starter.py tickets` has none

    return {key: value for key, value in dotenv_values(path).items() if value}


def _line_pattern(key: str, *, commented: bool) -> re.Pattern[str]:
    prefix = r"\s*#\s*" if commented else r"\s*(?:export\s+)?"
    return re.compile(prefix + re.escape(key) + r"\s*=")


def _checked(key: str, value: str) -> str:
    unsafe = "\n" in value or "\r" in value or " #" in value or value[:1] in {"'", '"', "#"}
    if unsafe or value != value.strip():
        raise EnvFileError(f"{key}: this value cannot be written to .env unquoted: {value!r}")
    return value


def update_env_file(path: Path, values: Mapping[str, str | None]) -> None:
    """Set each key to its value (None writes `KEY=`, which reads as unset).

    Raises:
        EnvFileError: a value with a newline, a leading quote or an inline ` #`.
    """
    lines = path.read_text().splitlines() if path.exists() else []
    pending = {key: _checked(key, value or "") for key, value in values.items()}
    written: set[str] = set()
    for index, line in enumerate(lines):
        # Every active line of a key: with duplicates, the last one is what readers see.
        for key, value in pending.items():
            if _line_pattern(key, commented=False).match(line):
                lines[index] = f"{key}={value}"
                written.add(key)
                break
    pending = {key: value for key, value in pending.items() if key not in written}
    for index, line in enumerate(lines):
        for key in list(pending):
            if _line_pattern(key, commented=True).match(line):
                lines[index] = f"{key}={pending.pop(key)}"
                break
    if pending:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append("# Written by `python starter.py setup`")
        lines += [f"{key}={value}" for key, value in pending.items()]
    _write(path, "\n".join(lines) + "\n")


def _write(path: Path, text: str) -> None:
    # Atomic, and owner-only when new: the file holds credentials.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as stream:
        stream.write(text)
    os.chmod(partial, mode)
    os.replace(partial, path)


def masked(secret: str) -> str:
    """Enough of a secret to recognise it, never the whole of it."""
    if len(secret) < 12:
        return "****"
    return f"{secret[:4]}…{secret[-4:]}"
