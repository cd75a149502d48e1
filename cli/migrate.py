"""`migrate`: bring the product database to the schema this code expects (Alembic's head).

    python starter.py migrate

Run it once before starting (or after upgrading) the worker and the webhooks; they check the
schema at start and stop, naming this command, while it is behind. Safe to run again.
"""

from __future__ import annotations

import argparse
import asyncio

import migrations
from core.settings import Settings


async def migrate(settings: Settings, args: argparse.Namespace) -> int:
    revision = await asyncio.to_thread(migrations.upgrade, settings.database_url)
    print(f"product database at revision {revision} (head)")
    return 0
