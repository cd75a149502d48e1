"""What every command shares: the effective settings (sandboxes filled in for any service
without real credentials) and a Temporal client."""

from __future__ import annotations

from temporalio.client import Client

from core.settings import Settings, get_settings
from devstack.sandboxes import SandboxPorts, with_sandboxes


def effective_settings() -> Settings:
    return with_sandboxes(get_settings(), SandboxPorts())


async def temporal_client(settings: Settings) -> Client:
    from worker import connect  # the worker module owns the client's data converter

    return await connect(settings)
