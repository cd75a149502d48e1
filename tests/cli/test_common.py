"""The commands' settings: the dev stack's sandboxes fill in silently only when nothing real
is configured; a half-configured `.env` is told which services are sandboxes."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr

from cli.common import (
    SERVICES,
    DevStackAddresses,
    any_service_configured,
    listing_settings,
    sandboxed,
    tls_for,
)
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


SERVICE_FIELDS = frozenset().union(*(fields for fields, _ in SERVICES.values()))


def test_the_services_are_named_by_settings_fields() -> None:
    assert SERVICE_FIELDS <= set(Settings.model_fields)


@pytest.mark.parametrize(
    ("environ", "env_file", "configured"),
    [
        ({}, "", False),
        ({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "DEBUG"}, "SMS_SYNC_ENABLED=true\n", False),
        ({"ZENDESK_URL": ""}, "KLAVIYO_API_KEY=\n", False),  # empty is unset
        ({"ZENDESK_URL": "https://acme.zendesk.com"}, "", True),
        ({"zendesk_url": "https://acme.zendesk.com"}, "", True),  # names in any case
        ({}, "TWILIO_ACCOUNT_SID=AC1\n", True),
        ({}, "export KLAVIYO_API_KEY='pk_real'\n", True),
    ],
)
def test_any_service_configured_reads_as_settings_do(
    environ: dict[str, str],
    env_file: str,
    configured: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.lower() in SERVICE_FIELDS:
            monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / ".env"
    path.write_text(env_file)
    assert any_service_configured(os.environ, path) is configured
    read = Settings(_env_file=path)  # type: ignore[call-arg]
    assert bool(SERVICE_FIELDS & read.model_fields_set) is configured


def test_the_listings_with_nothing_configured_read_what_sandboxed_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.lower() in SERVICE_FIELDS:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env
    addresses = listing_settings()
    effective = sandboxed(Settings(), SandboxPorts())
    assert isinstance(addresses, DevStackAddresses)  # no `Settings` built
    assert addresses.zendesk_url == effective.zendesk_url
    assert addresses.twilio_base_url == effective.twilio_base_url


def test_plain_http_gets_a_tls_context_that_trusts_nothing() -> None:
    assert tls_for("https://acme.zendesk.com") is True  # httpx's default: certifi's bundle
    context = tls_for("http://127.0.0.1:8101")
    assert isinstance(context, ssl.SSLContext)
    # Were a request to reach https anyway, it would be verified and refused, never let through.
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
