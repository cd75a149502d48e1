"""Where each set-up answer comes from: a flag, else the `.env` being updated, else a prompt
(interactive mode, with the current value as the default), else it is missing.

Non-interactive runs (`--non-interactive`, or no terminal) name everything missing at once,
before any network call. Choices the product cannot accept (a brand Zendesk does not list,
SMS sync without ticket sync) are `SetupRefused` with the reason.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from cli.setup_check import CredentialKind, Credentials
from clients.zendesk_admin import ZendeskBrand
from core.settings import parse_brand_ids

TRUE_WORDS = {"1", "true", "yes", "on", "y"}
CREDENTIAL_KEYS = (
    "ZENDESK_OAUTH_CLIENT_ID",
    "ZENDESK_OAUTH_CLIENT_SECRET",
    "ZENDESK_OAUTH_REFRESH_TOKEN",
    "ZENDESK_OAUTH_TOKEN",
    "ZENDESK_EMAIL",
    "ZENDESK_API_TOKEN",
)
CREDENTIALS_HELP = (
    "Zendesk credentials: --oauth-client-id with --oauth-client-secret (OAuth client), or "
    "--oauth-token, or --email with --api-token (legacy)"
)


class SetupRefused(Exception):
    """An answer smsdesk cannot accept; the message says which and why."""


class MissingInputs(SetupRefused):
    def __init__(self, missing: list[str]) -> None:
        super().__init__("set-up needs:\n" + "\n".join(f"  - {item}" for item in missing))
        self.missing = missing


def _hidden(prompt: str) -> str:
    # getpass reads the terminal itself; when stdin was replaced (piped answers) read that.
    console = sys.__stdin__
    if console is not None and sys.stdin is console and console.isatty():
        return getpass.getpass(prompt)
    return input(prompt)


@dataclass
class Prompter:
    interactive: bool
    read_line: Callable[[str], str] = input
    read_secret: Callable[[str], str] = _hidden

    def text(self, question: str, default: str | None = None) -> str | None:
        if not self.interactive:
            return default
        shown = f" [{default}]" if default else ""
        answer = self.read_line(f"{question}{shown}: ").strip()
        return answer or default

    def secret(self, question: str, current: str | None = None) -> str | None:
        if not self.interactive:
            return current
        shown = " [keep the current one]" if current else ""
        return self.read_secret(f"{question}{shown}: ").strip() or current

    def yes_no(self, question: str, default: bool) -> bool:
        if not self.interactive:
            return default
        answer = self.read_line(f"{question} [{'Y/n' if default else 'y/N'}]: ").strip()
        return default if not answer else answer.lower() in TRUE_WORDS


def normalise_url(value: str) -> str:
    """`acme`, `acme.zendesk.com` or a full URL, as `https://acme.zendesk.com`."""
    value = value.strip().rstrip("/")
    if "://" in value:
        return value
    return f"https://{value}" if "." in value else f"https://{value}.zendesk.com"


def flag_or_file(flag: bool | None, existing: dict[str, str], key: str) -> bool | None:
    if flag is not None:
        return flag
    return existing[key].lower() in TRUE_WORDS if key in existing else None


def missing_inputs(args: argparse.Namespace, existing: dict[str, str]) -> list[str]:
    """What a non-interactive run lacks (nothing is asked)."""
    missing = []
    if not (args.zendesk_url or existing.get("ZENDESK_URL")):
        missing.append("--zendesk-url (ZENDESK_URL): https://<subdomain>.zendesk.com")
    kind = _given_kind(args)
    if kind is None and _file_kind(existing) is None:
        missing.append(CREDENTIALS_HELP)
    if kind == "oauth-client" and not (args.oauth_client_id and args.oauth_client_secret):
        missing.append("--oauth-client-id and --oauth-client-secret go together")
    if kind == "api-token" and not (args.email and args.api_token):
        missing.append("--email and --api-token go together")
    sms = flag_or_file(args.sms_sync, existing, "SMS_SYNC_ENABLED")
    if sms and args.sms_brand is None and not existing.get("ZENDESK_SMS_BRAND_ID"):
        missing.append("--sms-brand ID (ZENDESK_SMS_BRAND_ID): the brand of SMS tickets")
    return missing


def _given_kind(args: argparse.Namespace) -> CredentialKind | None:
    given: list[CredentialKind] = []
    if args.oauth_client_id or args.oauth_client_secret or args.oauth_refresh_token:
        given.append("oauth-client")
    if args.oauth_token:
        given.append("oauth-token")
    if args.email or args.api_token:
        given.append("api-token")
    if len(given) > 1:
        raise SetupRefused(
            f"give one kind of Zendesk credentials, not {' and '.join(given)}: {CREDENTIALS_HELP}"
        )
    return given[0] if given else None


def _file_kind(existing: dict[str, str]) -> CredentialKind | None:
    # The product's own order of preference (clients.zendesk_oauth.zendesk_authorization).
    if existing.get("ZENDESK_OAUTH_CLIENT_ID") and existing.get("ZENDESK_OAUTH_CLIENT_SECRET"):
        return "oauth-client"
    if existing.get("ZENDESK_OAUTH_TOKEN"):
        return "oauth-token"
    if existing.get("ZENDESK_EMAIL") and existing.get("ZENDESK_API_TOKEN"):
        return "api-token"
    return None


def _secret(value: str | None) -> SecretStr | None:
    return SecretStr(value) if value else None


def resolve_credentials(
    args: argparse.Namespace, existing: dict[str, str], ask: Prompter, url: str
) -> Credentials:
    """The credentials to check, from flags, the file or prompts.

    Raises:
        SetupRefused: two kinds given at once, or a part left empty.
    """
    kind = _given_kind(args) or _file_kind(existing)
    if kind is None:
        if not ask.interactive:
            raise MissingInputs([CREDENTIALS_HELP])
        print(
            "Zendesk credentials: 1) OAuth client (recommended)  2) OAuth access token  "
            "3) email + API token (legacy, disabled by Zendesk on 2027-04-30)"
        )
        picked = ask.text("Which", "1")
        kinds: dict[str, CredentialKind] = {"1": "oauth-client", "2": "oauth-token"}
        kind = kinds.get(picked or "1", "api-token")
    from_file = _given_kind(args) is None

    def value(flag: str | None, key: str, question: str, *, secret: bool = False) -> str | None:
        current = flag or (existing.get(key) if from_file else None)
        if flag:
            return flag
        return ask.secret(question, current) if secret else ask.text(question, current)

    if kind == "oauth-client":
        client_id = value(args.oauth_client_id, "ZENDESK_OAUTH_CLIENT_ID", "OAuth client id")
        secret = value(
            args.oauth_client_secret,
            "ZENDESK_OAUTH_CLIENT_SECRET",
            "OAuth client secret",
            secret=True,
        )
        # A refresh token belongs to its client: reuse the file's only for the same client.
        same_client = client_id == existing.get("ZENDESK_OAUTH_CLIENT_ID")
        refresh = args.oauth_refresh_token or (
            existing.get("ZENDESK_OAUTH_REFRESH_TOKEN") if same_client else None
        )
        if not (client_id and secret):
            raise MissingInputs(["--oauth-client-id and --oauth-client-secret go together"])
        return Credentials(
            zendesk_url=url,
            kind=kind,
            client_id=client_id,
            client_secret=_secret(secret),
            refresh_token=_secret(refresh),
            scope=existing.get("ZENDESK_OAUTH_SCOPE", "read write"),
        )
    if kind == "oauth-token":
        token = value(args.oauth_token, "ZENDESK_OAUTH_TOKEN", "OAuth access token", secret=True)
        if not token:
            raise MissingInputs(["--oauth-token"])
        return Credentials(zendesk_url=url, kind=kind, oauth_token=_secret(token))
    email = value(args.email, "ZENDESK_EMAIL", "Agent email")
    api_token = value(args.api_token, "ZENDESK_API_TOKEN", "API token", secret=True)
    if not (email and api_token):
        raise MissingInputs(["--email and --api-token go together"])
    return Credentials(zendesk_url=url, kind="api-token", email=email, api_token=_secret(api_token))


def credential_values(creds: Credentials, rotated_refresh: str | None) -> dict[str, str | None]:
    """The .env values of these credentials; the other kinds' keys are emptied, so the
    product cannot fall back to stale ones."""
    values: dict[str, str | None] = {"ZENDESK_URL": creds.zendesk_url}
    values |= dict.fromkeys(CREDENTIAL_KEYS)
    if creds.kind == "oauth-client":
        assert creds.client_secret is not None
        refresh = rotated_refresh or (
            creds.refresh_token.get_secret_value() if creds.refresh_token else None
        )
        values |= {
            "ZENDESK_OAUTH_CLIENT_ID": creds.client_id,
            "ZENDESK_OAUTH_CLIENT_SECRET": creds.client_secret.get_secret_value(),
            "ZENDESK_OAUTH_REFRESH_TOKEN": refresh,
        }
    elif creds.kind == "oauth-token":
        assert creds.oauth_token is not None
        values["ZENDESK_OAUTH_TOKEN"] = creds.oauth_token.get_secret_value()
    else:
        assert creds.api_token is not None
        values |= {
            "ZENDESK_EMAIL": creds.email,
            "ZENDESK_API_TOKEN": creds.api_token.get_secret_value(),
        }
    return values


def brand_list(brands: list[ZendeskBrand]) -> str:
    return ", ".join(f"{b.id} {b.name}" for b in brands)


def choose_metrics_brands(
    args: argparse.Namespace, existing: dict[str, str], ask: Prompter, brands: list[ZendeskBrand]
) -> str:
    """`all` or the chosen brand ids (M2), each one a brand Zendesk lists."""
    current = args.metrics_brands or existing.get("ZENDESK_METRICS_BRANDS", "all")
    raw = args.metrics_brands or ask.text(
        "Ticket metrics from which brands ('all' or ids)", current
    )
    raw = (raw or "all").replace(" ", "")
    try:
        chosen = parse_brand_ids(raw)
    except ValueError as exc:
        raise SetupRefused(f"{exc}. Brands: {brand_list(brands)}") from exc
    if chosen is None:
        return "all"
    unknown = sorted(chosen - {b.id for b in brands})
    if unknown:
        raise SetupRefused(
            f"--metrics-brands: {', '.join(map(str, unknown))} is not a brand of this account; "
            f"its brands are {brand_list(brands)}"
        )
    return ",".join(str(i) for i in sorted(chosen))


def choose_sms_brand(
    args: argparse.Namespace, existing: dict[str, str], ask: Prompter, brands: list[ZendeskBrand]
) -> int:
    """The brand SMS tickets are created under (M3): one of the account's brands."""
    current = existing.get("ZENDESK_SMS_BRAND_ID") or (
        str(brands[0].id) if len(brands) == 1 else None
    )
    raw = (
        str(args.sms_brand)
        if args.sms_brand is not None
        else ask.text("Brand of SMS tickets (id)", current)
    )
    if not raw:
        raise MissingInputs([f"--sms-brand ID: one of {brand_list(brands)}"])
    listed = {b.id: b for b in brands}
    if not raw.isdigit() or int(raw) not in listed:
        raise SetupRefused(
            f"--sms-brand {raw} is not a brand of this account; its brands are {brand_list(brands)}"
        )
    return int(raw)
