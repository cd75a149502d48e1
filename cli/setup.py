"""`python starter.py setup`: connect Zendesk and record the choices in `.env` (M1-M3), and
optionally provision the webhook, the "SMS conversations" view and the auto-close automation.

    python starter.py setup                                   # asks for what it needs
    python starter.py setup --non-interactive --zendesk-url acme \\
        --oauth-client-id smsdesk --oauth-client-secret … --metrics-brands all \\
        --sms-sync --sms-brand 360002 --provision --public-url https://sms.example.com

Exit codes: 0 done, 1 Zendesk refused or failed (the message says what to fix), 2 an answer is
missing or cannot be accepted.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from cli.setup_check import (
    API_TOKEN_WARNING,
    RECONCILER_NEEDS_ADMIN,
    CheckFailed,
    check_credentials,
)
from cli.setup_inputs import (
    MissingInputs,
    Prompter,
    SetupRefused,
    brand_list,
    choose_metrics_brands,
    choose_sms_brand,
    credential_values,
    flag_or_file,
    missing_inputs,
    normalise_url,
    resolve_credentials,
)
from cli.setup_provision import provision
from clients.errors import ApiError
from core.settings import Settings
from infra.env_file import masked, read_env_file, update_env_file

SECRET_KEY = re.compile(r"SECRET|TOKEN|PASSWORD|API_KEY")


async def run_setup(settings: Settings, args: argparse.Namespace) -> int:
    env_path = Path(args.env_file)
    existing = read_env_file(env_path)
    ask = Prompter(interactive=not args.non_interactive and sys.stdin.isatty())
    try:
        if not ask.interactive:
            missing = missing_inputs(args, existing)
            if missing:
                raise MissingInputs(missing)
        return await _set_up(settings, args, env_path, existing, ask)
    except SetupRefused as exc:
        print(f"setup: {exc}", file=sys.stderr)
        return 2
    except CheckFailed as exc:
        print(f"setup: Zendesk credentials do not work: {exc}", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"setup: Zendesk refused a set-up call: {exc}", file=sys.stderr)
        return 1


async def _set_up(
    settings: Settings,
    args: argparse.Namespace,
    env_path: Path,
    existing: dict[str, str],
    ask: Prompter,
) -> int:
    url = normalise_url(
        args.zendesk_url or ask.text("Zendesk URL or subdomain", existing.get("ZENDESK_URL")) or ""
    )
    if url == "https://.zendesk.com":
        raise MissingInputs(["--zendesk-url (ZENDESK_URL): https://<subdomain>.zendesk.com"])
    creds = resolve_credentials(args, existing, ask, url)
    wants_provision = args.provision
    if wants_provision is None:
        wants_provision = ask.yes_no(
            "Provision the Zendesk webhook, the SMS view and the auto-close automation?", False
        )

    async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
        checked = await check_credentials(http, creds, need_admin=wants_provision)
        values = credential_values(creds, checked.rotated_refresh_token)
        if checked.rotated_refresh_token:
            # Zendesk deleted the refresh token we were given: record its successor at once,
            # whatever happens next, or the next run has nothing that works.
            update_env_file(env_path, values)
        if creds.kind == "api-token":
            print(f"warning: {API_TOKEN_WARNING}", file=sys.stderr)
        user = checked.user
        if user.role != "admin":
            print(f"warning: {RECONCILER_NEEDS_ADMIN.format(name=user.name)}", file=sys.stderr)
        print(
            f"Zendesk: {url} signs in {user.name} <{user.email}> (role {user.role}) with "
            f"{creds.describe()}"
            + (f"; scopes {' '.join(checked.scopes)}" if checked.scopes else "")
        )

        brands = await checked.client.brands()
        print(f"Brands: {brand_list(brands)}")
        values |= _sync_choices(args, existing, ask, brands)
        if wants_provision:
            public = _public_url(args, existing, ask, settings, url)
            done = await provision(checked.client, public)
            print(f"webhook {done.webhook_id} -> {public}/webhooks/zendesk: {done.webhook}")
            print(f"view 'SMS conversations': {done.view}")
            print(f"automation 'Close solved SMS tickets after 24 hours': {done.automation}")
            values["ZENDESK_WEBHOOK_SECRET"] = done.signing_secret
            values["PUBLIC_BASE_URL"] = public

    _refuse_invalid_settings(existing, values)
    update_env_file(env_path, values)
    _report(env_path, values)
    return 0


def _sync_choices(
    args: argparse.Namespace, existing: dict[str, str], ask: Prompter, brands: list[Any]
) -> dict[str, str | None]:
    """M2 and M3: what is synced, from which brands, and the SMS tickets' brand."""
    metrics = flag_or_file(args.metrics_sync, existing, "METRICS_SYNC_ENABLED")
    if metrics is None:
        metrics = ask.yes_no("Sync ticket metrics (Opened/Resolved Ticket) to Klaviyo?", True)
    values: dict[str, str | None] = {
        "METRICS_SYNC_ENABLED": str(metrics).lower(),
        "ZENDESK_METRICS_BRANDS": choose_metrics_brands(args, existing, ask, brands),
    }
    sms = flag_or_file(args.sms_sync, existing, "SMS_SYNC_ENABLED")
    if sms is None:
        # Off unless asked for: M14, no text is ticketed before someone switched it on.
        sms = metrics and ask.yes_no("Sync SMS conversations into Zendesk tickets?", False)
    if sms and not metrics:
        raise SetupRefused(
            "'Sync SMS conversations' needs ticket sync on (M3): add --metrics-sync, or leave "
            "out --sms-sync"
        )
    values["SMS_SYNC_ENABLED"] = str(sms).lower()
    if sms:
        values["ZENDESK_SMS_BRAND_ID"] = str(choose_sms_brand(args, existing, ask, brands))
        # M14: texts from before the switch was first turned on are never ticketed; a re-run
        # keeps the first moment.
        values["SMS_SYNC_ENABLED_AT"] = existing.get("SMS_SYNC_ENABLED_AT") or datetime.now(
            UTC
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif args.sms_brand is not None:
        values["ZENDESK_SMS_BRAND_ID"] = str(choose_sms_brand(args, existing, ask, brands))
    return values


def _public_url(
    args: argparse.Namespace,
    existing: dict[str, str],
    ask: Prompter,
    settings: Settings,
    zendesk_url: str,
) -> str:
    default = existing.get("PUBLIC_BASE_URL") or settings.public_base_url
    public = args.public_url or ask.text("Public https address of the webhooks", default) or ""
    public = public.rstrip("/")
    host = urlsplit(public).hostname or ""
    loopback = host in ("localhost", "127.0.0.1", "::1")
    if loopback and urlsplit(zendesk_url).hostname not in ("localhost", "127.0.0.1"):
        print(
            f"warning: Zendesk cannot reach {public}; give --public-url the public https "
            "address of the webhooks (behind your TLS proxy)",
            file=sys.stderr,
        )
    return public


def _refuse_invalid_settings(existing: dict[str, str], values: dict[str, str | None]) -> None:
    """Check the file as it will be, so set-up never leaves a `.env` the product refuses."""
    merged = {**existing, **{k: v for k, v in values.items() if v}}
    for key, value in values.items():
        if not value:
            merged.pop(key, None)
    fields = {name.upper(): name for name in Settings.model_fields}
    known: dict[str, Any] = {fields[k]: value for k, value in merged.items() if k in fields}
    try:
        Settings(_env_file=None, **known)
    except ValidationError as exc:
        problems = "; ".join(str(error["msg"]) for error in exc.errors())
        raise SetupRefused(f"the resulting settings would be refused: {problems}") from exc


def _report(env_path: Path, values: dict[str, str | None]) -> None:
    print(f"Recorded in {env_path}:")
    for key, value in values.items():
        if value is None:
            continue
        shown = masked(value) if SECRET_KEY.search(key) else value
        print(f"  {key}={shown}")
        if key in os.environ and os.environ[key] != value:
            print(f"  note: {key} is also set in the environment, which wins over {env_path}")
