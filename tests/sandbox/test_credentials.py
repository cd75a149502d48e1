"""A hand-started sandbox (`python -m sandbox`, its default credentials) lets in the product
as the CLI and the dev stack configure it (`devstack.sandboxes.with_sandboxes`): one set."""

from __future__ import annotations

import httpx

from clients.zendesk import ZendeskClient
from clients.zendesk_oauth import zendesk_authorization
from core.settings import Settings
from devstack.sandboxes import SandboxPorts, with_sandboxes
from sandbox.zendesk import create_zendesk_app


async def test_the_product_configured_for_the_sandboxes_is_let_into_a_default_sandbox() -> None:
    settings = with_sandboxes(Settings(_env_file=None), SandboxPorts())  # type: ignore[call-arg]
    app = create_zendesk_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as http:
        authorization = zendesk_authorization(settings, http)
        zendesk = ZendeskClient(http, base_url=settings.zendesk_url, authorization=authorization)
        me = await zendesk.me()
    assert me.id > 0
    await app.state.sandbox.aclose()
