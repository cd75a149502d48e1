"""The commands' settings: the dev stack's sandboxes fill in silently only when nothing real
is configured; a half-configured `.env` is told which services are sandboxes."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from cli.common import sandboxed
from core.settings import Settings
from devstack.sandboxes import TWILIO_SID, ZENDESK_TOKEN, SandboxPorts

PORTS = SandboxPorts()


def settings(**configured: object) -> Settings:
    return Settings(_env_file=None, **configured)  # type: ignore[call-arg]


def test_nothing_configured_is_the_dev_stack_silently(capsys: pytest.CaptureFixture[str]) -> None:
    effective = sandboxed(settings(), PORTS)
    assert effective.zendesk_url == f"http://127.0.0.1:{PORTS.zendesk}"
    assert effective.twilio_account_sid == TWILIO_SID
    assert capsys.readouterr().err == ""


def test_a_half_configured_env_is_told_which_services_are_sandboxes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    effective = sandboxed(
        settings(
            zendesk_url="https://acme.zendesk.com",
            zendesk_oauth_token=SecretStr("real-token"),
            klaviyo_api_key=SecretStr("pk_real"),
        ),
        PORTS,
    )
    # What is configured stays as configured...
    assert effective.zendesk_url == "https://acme.zendesk.com"
    token = effective.zendesk_oauth_token
    assert token is not None and token.get_secret_value() == "real-token"
    # ...and what is not is named, with the settings that would make it real.
    err = capsys.readouterr().err
    assert (
        "the SMS provider is not configured, so its dev-stack sandbox" in err
        and "TWILIO_ACCOUNT_SID" in err
    )
    assert f"http://127.0.0.1:{PORTS.twilio}" in err
    assert "OUTBOUND_WEBHOOK_SECRET" in err
    assert "Zendesk is not" not in err and "Klaviyo is not" not in err


def test_a_zendesk_url_without_credentials_is_not_replaced_silently(
    capsys: pytest.CaptureFixture[str],
) -> None:
    effective = sandboxed(settings(zendesk_url="https://acme.zendesk.com"), PORTS)
    err = capsys.readouterr().err
    assert "Zendesk is not configured" in err and "ZENDESK_OAUTH_CLIENT_ID" in err
    token = effective.zendesk_oauth_token
    assert token is not None and token.get_secret_value() == ZENDESK_TOKEN
