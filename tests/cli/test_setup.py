"""`starter.py setup` against the Zendesk sandbox on loopback: what it asks for, the choices it
records in `.env` (M2, M3, M14), and idempotent provisioning (M16, M17)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import starter
from core.settings import Settings
from infra.env_file import read_env_file, update_env_file
from sandbox.zendesk_oauth import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET
from tests.helpers.zendesk_setup import (
    SETTINGS,
    Zendesk,
    client_flags,
    env_settings,
    setup,
)

# --- missing and refused answers ------------------------------------------------------------


async def test_non_interactive_run_names_everything_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    assert await setup(env, "--sms-sync") == 2
    err = capsys.readouterr().err
    assert "--zendesk-url" in err and "--oauth-client-id with --oauth-client-secret" in err
    assert "--sms-brand" in err
    assert not env.exists()


async def test_half_a_credential_pair_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await setup(tmp_path / ".env", "--zendesk-url", "acme", "--email", "a@b.c") == 2
    assert "--email and --api-token go together" in capsys.readouterr().err


async def test_sms_sync_needs_ticket_sync(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    code = await setup(
        env, *client_flags(zendesk), "--no-metrics-sync", "--sms-sync", "--sms-brand", "360002"
    )
    assert code == 2
    assert "needs ticket sync on (M3)" in capsys.readouterr().err
    assert not env.exists()


def test_settings_refuse_sms_sync_without_metrics_sync() -> None:
    with pytest.raises(ValueError, match="SMS_SYNC_ENABLED=true needs METRICS_SYNC_ENABLED=true"):
        Settings(_env_file=None, sms_sync_enabled=True, metrics_sync_enabled=False)  # type: ignore[call-arg]
    off = Settings(_env_file=None, sms_sync_enabled=False, metrics_sync_enabled=False)  # type: ignore[call-arg]
    assert not off.sms_sync_enabled


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--sms-sync", "--sms-brand", "999"], "--sms-brand 999 is not a brand"),
        (["--metrics-brands", "360001,999"], "999 is not a brand of this account"),
        (["--metrics-brands", "acme"], "'acme' is not a Zendesk brand id"),
    ],
)
async def test_brands_must_be_listed_by_zendesk(
    zendesk: Zendesk,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    problem: str,
) -> None:
    assert await setup(tmp_path / ".env", *client_flags(zendesk), *flags) == 2
    err = capsys.readouterr().err
    assert problem in err and "360001 Acme, 360002 Acme SMS" in err


# --- recording the choices ------------------------------------------------------------------


async def test_choices_are_recorded_in_env_and_the_product_reads_them(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# mine\nKLAVIYO_API_KEY=pk_keep\nZENDESK_OAUTH_TOKEN=stale\n#ZENDESK_METRICS_BRANDS=all\n"
    )
    flags = [
        *client_flags(zendesk),
        "--metrics-brands",
        "360002, 360001",
        "--sms-sync",
        "--sms-brand",
        "360002",
    ]
    assert await setup(env, *flags) == 0
    out = capsys.readouterr().out
    assert OAUTH_CLIENT_SECRET not in out and "ZENDESK_OAUTH_CLIENT_SECRET=sand…cret" in out

    text = env.read_text()
    assert text.startswith("# mine\nKLAVIYO_API_KEY=pk_keep\nZENDESK_OAUTH_TOKEN=\n")
    assert "ZENDESK_METRICS_BRANDS=360001,360002\n" in text  # filled in on the commented line
    settings = env_settings(env)
    assert settings.zendesk_url == zendesk.url and settings.zendesk_oauth_token is None
    assert settings.zendesk_oauth_client_id == OAUTH_CLIENT_ID
    assert settings.metrics_brand_ids == frozenset({360001, 360002})
    assert settings.sms_sync_enabled and settings.zendesk_sms_brand_id == 360002
    first_switch_on = settings.sms_sync_enabled_at
    assert first_switch_on is not None

    # A re-run keeps the moment SMS sync was first switched on (M14).
    update_env_file(env, {"SMS_SYNC_ENABLED_AT": "2026-01-02T03:04:05Z"})
    assert await setup(env, *flags) == 0
    assert read_env_file(env)["SMS_SYNC_ENABLED_AT"] == "2026-01-02T03:04:05Z"


async def test_sms_sync_stays_off_unless_asked_for(zendesk: Zendesk, tmp_path: Path) -> None:
    env = tmp_path / ".env"
    assert await setup(env, *client_flags(zendesk)) == 0
    settings = env_settings(env)
    assert settings.metrics_sync_enabled and not settings.sms_sync_enabled
    assert settings.sms_sync_enabled_at is None and settings.zendesk_metrics_brands == "all"


async def test_a_refresh_token_is_rotated_and_the_new_one_recorded_even_on_failure(
    zendesk: Zendesk, tmp_path: Path
) -> None:
    from sandbox.zendesk_oauth import RefreshGrant

    given = zendesk.oauth.mint_refresh_token(RefreshGrant()).token
    env = tmp_path / ".env"
    flags = [*client_flags(zendesk), "--oauth-refresh-token", given]
    assert await setup(env, *flags, "--sms-sync", "--sms-brand", "999") == 2
    recorded = read_env_file(env)["ZENDESK_OAUTH_REFRESH_TOKEN"]
    assert recorded != given and recorded in zendesk.oauth.refresh
    assert given not in zendesk.oauth.refresh

    # The next run uses the recorded one (same client), and records its successor.
    assert await setup(env, *client_flags(zendesk)) == 0
    successor = read_env_file(env)["ZENDESK_OAUTH_REFRESH_TOKEN"]
    assert successor != recorded and successor in zendesk.oauth.refresh


# --- provisioning ---------------------------------------------------------------------------


async def test_provisioning_is_idempotent_and_stores_the_signing_secret(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    flags = [*client_flags(zendesk), "--provision", "--public-url", "https://sms.example.com/"]
    assert await setup(env, *flags) == 0
    out = capsys.readouterr().out
    assert out.count(": created") == 3
    [hook] = zendesk.admin.webhooks.values()
    assert hook.endpoint == "https://sms.example.com/webhooks/zendesk"
    assert sorted(hook.subscriptions) == [
        "zen:event-type:ticket.comment_added",
        "zen:event-type:ticket.created",
        "zen:event-type:ticket.status_changed",
    ]
    settings = env_settings(env)
    assert settings.zendesk_webhook_secret is not None
    assert settings.zendesk_webhook_secret.get_secret_value() == hook.signing_secret
    assert settings.public_base_url == "https://sms.example.com"
    assert hook.signing_secret not in out

    assert await setup(env, *flags) == 0
    assert capsys.readouterr().out.count(": unchanged") == 3
    assert (
        len(zendesk.admin.webhooks),
        len(zendesk.admin.views),
        len(zendesk.admin.automations),
    ) == (1, 1, 1)
    assert zendesk.app.state.sandbox.spec_violations == []


async def test_provisioning_puts_back_what_was_changed(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    flags = [*client_flags(zendesk), "--provision", "--public-url", "https://sms.example.com"]
    assert await setup(env, *flags) == 0
    [hook] = zendesk.admin.webhooks.values()
    hook.endpoint = "https://old.example.com/hook"
    [automation] = zendesk.admin.automations.values()
    automation.active = False
    capsys.readouterr()

    assert await setup(env, *flags) == 0
    out = capsys.readouterr().out
    assert "-> https://sms.example.com/webhooks/zendesk: updated" in out
    assert "view 'SMS conversations': unchanged" in out
    assert "automation 'Close solved SMS tickets after 24 hours': updated" in out
    assert zendesk.admin.webhooks[hook.id].endpoint == "https://sms.example.com/webhooks/zendesk"
    assert zendesk.admin.automations[automation.id].active is True


# --- interactive ----------------------------------------------------------------------------


class Terminal(io.StringIO):
    """Typed answers, one a line, on what looks like a terminal."""

    def isatty(self) -> bool:
        return True


async def test_interactive_run_asks_for_what_is_missing(
    zendesk: Zendesk,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = [
        zendesk.url,  # Zendesk URL
        "1",  # OAuth client
        OAUTH_CLIENT_ID,
        OAUTH_CLIENT_SECRET,
        "n",  # provision
        "",  # metrics sync: default yes
        "360001",  # metrics brands
        "y",  # SMS sync
        "360002",  # SMS brand
    ]
    monkeypatch.setattr("sys.stdin", Terminal("\n".join(answers) + "\n"))
    env = tmp_path / ".env"
    args = starter.parser().parse_args(["setup", "--env-file", str(env)])
    assert await args.run(SETTINGS, args) == 0
    settings = env_settings(env)
    assert settings.zendesk_oauth_client_id == OAUTH_CLIENT_ID
    assert settings.metrics_brand_ids == frozenset({360001})
    assert settings.sms_sync_enabled and settings.zendesk_sms_brand_id == 360002
    assert "Ticket metrics from which brands ('all' or ids) [all]" in capsys.readouterr().out


# --- the .env file --------------------------------------------------------------------------


def test_env_updates_keep_comments_order_and_other_keys(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# top\nA=1\n#B=default\nC=3\nA=dup\n")
    update_env_file(env, {"A": "new", "B": "set", "D": "added", "C": None})
    assert env.read_text() == (
        "# top\nA=new\nB=set\nC=\nA=new\n\n# Written by `python starter.py setup`\nD=added\n"
    )
    assert read_env_file(env) == {"A": "new", "B": "set", "D": "added"}
    with pytest.raises(ValueError, match="cannot be written to .env unquoted"):
        update_env_file(env, {"A": "two\nlines"})


def test_a_new_env_file_is_private(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    update_env_file(env, {"ZENDESK_OAUTH_TOKEN": "secret-value"})
    assert env.stat().st_mode & 0o777 == 0o600
