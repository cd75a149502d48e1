"""The three sandboxes as one launch: what they are told (where their webhooks go, which numbers
the SMS account owns, where their data is kept) and the apps that makes, on the one credential
set of `sandbox.credentials`.

Hosted two ways, built the same: in the product's process by `devstack/sandboxes.py` (the dev
stack, the tests) and in a process of their own by `python -m sandbox` (by hand, the benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from sandbox import credentials
from sandbox.klaviyo import create_klaviyo_app
from sandbox.twilio import create_twilio_app
from sandbox.zendesk import create_zendesk_app


@dataclass(frozen=True)
class Launch:
    #: Where Zendesk posts its webhooks and the SMS provider its inbound texts (none if unset).
    zendesk_webhook_url: str | None = None
    twilio_inbound_url: str | None = None
    #: The numbers the SMS account owns (any sender is accepted if none).
    twilio_numbers: list[str] | None = None
    #: Each service keeps its data in `sandbox-<name>.json` here (memory only if unset).
    state_dir: Path | None = None
    #: Klaviyo profiles present from the start and after each reset.
    klaviyo_profiles: list[dict[str, Any]] = field(default_factory=list)
    zendesk_subdomain: str = "acme"

    def state_file(self, name: str) -> Path | None:
        return None if self.state_dir is None else self.state_dir / f"sandbox-{name}.json"

    def apps(self) -> dict[str, FastAPI]:
        """The three apps, by service name: `zendesk`, `twilio`, `klaviyo`."""
        return {
            "zendesk": create_zendesk_app(
                webhook_url=self.zendesk_webhook_url,
                webhook_secret=credentials.ZENDESK_WEBHOOK_SECRET,
                oauth_token=credentials.ZENDESK_OAUTH_TOKEN,
                api_email=credentials.ZENDESK_API_EMAIL,
                api_token=credentials.ZENDESK_API_TOKEN,
                state_file=self.state_file("zendesk"),
                subdomain=self.zendesk_subdomain,
            ),
            "twilio": create_twilio_app(
                account_sid=credentials.TWILIO_ACCOUNT_SID,
                auth_token=credentials.TWILIO_AUTH_TOKEN,
                state_file=self.state_file("twilio"),
                inbound_webhook_url=self.twilio_inbound_url,
                owned_numbers=self.twilio_numbers,
            ),
            "klaviyo": create_klaviyo_app(
                api_key=credentials.KLAVIYO_API_KEY,
                state_file=self.state_file("klaviyo"),
                seed_profiles=self.klaviyo_profiles or None,
            ),
        }
