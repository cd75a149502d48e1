"""Every command's arguments, with nothing heavy imported: `starter.py --help` and argument
errors answer at once, and a command imports its module (Temporal, the database, Zendesk's
client, matplotlib...) only when it runs.

A command's code is named as `"module:function"`, an `async function(settings, args) -> int`
(see `lazy`), and so is what makes its settings: the effective `Settings` for most, only the
sandboxes' addresses for the listings. Argument types and defaults stay cheap on purpose: what
needs the settings or the sandboxes is resolved by the command itself (e.g. agent-reply's
default author).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.phone import to_e164

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import TypeAlias

    # The settings are what the command's loader makes (`Settings`, or for the listings
    # `cli.common.SandboxAddresses`): the pairing is by name, checked by the tests.
    Run: TypeAlias = Callable[[Any, argparse.Namespace], Awaitable[int]]
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

#: What makes a command's settings unless it says otherwise: `Settings`, sandboxes filled in.
EFFECTIVE_SETTINGS = "cli.common:effective_settings"
#: The listings read two addresses: with nothing configured, they need no `Settings` at all.
LISTING_SETTINGS = "cli.common:listing_settings"

#: `find --status`: the ticket statuses a conversation can be in (`core.messages.TicketStatus`
#: without `closed`, which ends the ticket) and `workflows.search.NO_TICKET`. Written out so
#: that parsing needs neither module; `tests/cli/test_commands.py` keeps them in step.
CONVERSATION_STATUSES = ("new", "open", "pending", "hold", "solved", "no_ticket")


def named(target: str) -> Any:
    """The object `"module:name"`, its module imported now."""
    module_name, _, name = target.partition(":")
    return getattr(importlib.import_module(module_name), name)


class LazyCommand:
    """A command `"module:function"`, imported when it runs (not when parsing), and the
    function `"module:function"` that makes the settings `starter.py` runs it with."""

    def __init__(self, target: str, settings: str = EFFECTIVE_SETTINGS) -> None:
        self.target = target
        self.settings = settings

    async def __call__(self, settings: Any, args: argparse.Namespace) -> int:
        command: Run = named(self.target)
        return await command(settings, args)

    def load_settings(self) -> Any:
        return named(self.settings)()


def lazy(target: str, *, settings: str = EFFECTIVE_SETTINGS) -> LazyCommand:
    """The command `"module:function"`, run with what `settings` makes."""
    return LazyCommand(target, settings)


def module_doc(module_name: str) -> str:
    """A module's docstring read from its source, without importing it."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        return ""
    return ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""


def moment(value: str) -> datetime:
    """An ISO 8601 time; UTC when no offset is given."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(commands: Commands) -> None:
    """Add every command's sub-parser."""
    for add in (conversation, find, replay, report, setup, integration, reconcile, migrate):
        add(commands)


def conversation(commands: Commands) -> None:
    sms = commands.add_parser("send-sms", help="send a signed inbound text to the webhooks")
    sms.add_argument("--from", dest="from_number", required=True, type=to_e164)
    sms.add_argument("--to", dest="to_number", required=True, type=to_e164)
    sms.add_argument("--media", action="append", default=[], help="a media URL (MMS)")
    sms.add_argument("body")
    sms.set_defaults(run=lazy("cli.conversation:send_sms"))

    reply = commands.add_parser("agent-reply", help="comment on a ticket as an agent")
    reply.add_argument("ticket_id", type=int)
    reply.add_argument("body")
    reply.add_argument("--internal", action="store_true", help="an internal note, never texted")
    reply.add_argument("--author-id", type=int, help="default: the sandbox's agent")
    reply.add_argument("--status", choices=["open", "pending", "hold", "solved"])
    reply.set_defaults(run=lazy("cli.conversation:agent_reply"))

    state = commands.add_parser("state", help="query a conversation's state")
    state.add_argument(
        "--from", dest="from_number", required=True, type=to_e164, help="the customer's phone"
    )
    state.add_argument(
        "--to",
        dest="to_number",
        required=True,
        type=to_e164,
        help="the account number the customer texts",
    )
    state.set_defaults(run=lazy("cli.conversation:show_state"))

    tickets = commands.add_parser("tickets", help="list the sandbox Zendesk's tickets")
    tickets.add_argument("--json", action="store_true", help="machine-readable output")
    tickets.set_defaults(run=lazy("cli.listing:sandbox_listing", settings=LISTING_SETTINGS))
    texts = commands.add_parser("texts", help="list the texts the sandbox SMS provider sent")
    texts.add_argument("--json", action="store_true", help="machine-readable output")
    texts.set_defaults(run=lazy("cli.listing:sandbox_listing", settings=LISTING_SETTINGS))


def find(commands: Commands) -> None:
    parser = commands.add_parser(
        "find", help="find conversations by phone, sender, ticket or status (Temporal visibility)"
    )
    parser.add_argument("--phone", type=to_e164, help="the customer's phone number")
    parser.add_argument("--sender", type=to_e164, help="the account number the customer texts")
    parser.add_argument("--ticket", type=int, help="a Zendesk ticket id")
    parser.add_argument(
        "--status",
        choices=CONVERSATION_STATUSES,
        help="the conversation's ticket status (ConversationStatus)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=lazy("cli.find:find"))


def replay(commands: Commands) -> None:
    parser = commands.add_parser(
        "replay",
        help="replay a JSONL file of recorded events through the webhooks (backfill tests)",
        description=module_doc("cli.replay"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the JSONL file of events")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="conversations replayed at once (default 8)"
    )
    parser.add_argument(
        "--direct-zendesk-events",
        action="store_true",
        help="post agent events as signed Zendesk webhooks instead of using the Zendesk API",
    )
    parser.add_argument(
        "--seed-sandbox",
        action="store_true",
        help="first load FILE's companion .profiles.json into the Klaviyo sandbox",
    )
    parser.add_argument("--agent-id", type=int, help="Zendesk user id that writes agent comments")
    parser.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for a ticket or an event"
    )
    parser.add_argument(
        "--settle-timeout", type=float, default=120.0, help="seconds to wait for the end state"
    )
    parser.add_argument("--summary-json", help="also write the summary to this file")
    parser.set_defaults(run=lazy("cli.replay:replay"))


def report(commands: Commands) -> None:
    parser = commands.add_parser(
        "report", help="ticket volume, first response and resolution times (per agent, tag, day)"
    )
    parser.add_argument("--since", type=date.fromisoformat, help="first day (YYYY-MM-DD, UTC)")
    parser.add_argument("--until", type=date.fromisoformat, help="day after the last (UTC)")
    parser.add_argument("--by-day", action="store_true", help="also list tickets per day")
    parser.add_argument("--no-zendesk", action="store_true", help="database only: no resolution")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the report to a PNG file")
    parser.set_defaults(run=lazy("cli.report:report"))


def setup(commands: Commands) -> None:
    parser = commands.add_parser(
        "setup",
        help="connect Zendesk, choose what is synced, provision the webhook (M1-M3)",
        description="Secrets left out are asked for (not echoed) when run in a terminal.",
    )
    parser.add_argument("--zendesk-url", help="https://<subdomain>.zendesk.com or the subdomain")
    parser.add_argument("--oauth-client-id", help="OAuth client (recommended)")
    parser.add_argument("--oauth-client-secret")
    parser.add_argument("--oauth-refresh-token", help="use the refresh-token grant")
    parser.add_argument("--oauth-token", help="an OAuth access token")
    parser.add_argument("--email", help="legacy: the agent's email, with --api-token")
    parser.add_argument("--api-token", help="legacy: disabled by Zendesk on 2027-04-30")
    parser.add_argument("--metrics-sync", action=argparse.BooleanOptionalAction)
    parser.add_argument("--metrics-brands", help="'all' or brand ids: 360001,360002")
    parser.add_argument("--sms-sync", action=argparse.BooleanOptionalAction)
    parser.add_argument("--sms-brand", type=int, help="brand id of SMS tickets")
    parser.add_argument(
        "--provision",
        action=argparse.BooleanOptionalAction,
        help="create or update the webhook, view and automation (idempotent)",
    )
    parser.add_argument("--public-url", help="where Zendesk reaches the webhooks")
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--non-interactive", action="store_true", help="never ask")
    parser.set_defaults(run=lazy("cli.setup:run_setup"))


def integration(commands: Commands) -> None:
    check = commands.add_parser(
        "test-integration",
        help="send a test text through the whole path and report each hop (M19)",
    )
    check.add_argument(
        "--customer",
        type=to_e164,
        help="a consented subscriber's phone (default: the sandbox's demo customer)",
    )
    check.add_argument("--to", dest="to_number", type=to_e164, help="default: first SMS_NUMBERS")
    check.add_argument("--timeout", type=float, default=30.0, help="seconds per waiting hop")
    check.add_argument(
        "--author-id", type=int, help="the replying agent (default: the API user, an agent)"
    )
    check.set_defaults(run=lazy("cli.integration:run_integration_test"))


def reconcile(commands: Commands) -> None:
    parser = commands.add_parser(
        "reconcile", help="repair now what never reached a webhook, and print what was repaired"
    )
    parser.add_argument(
        "--since", type=moment, help="read from this ISO time instead of the saved cursors"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=lazy("cli.reconcile:reconcile"))
    backlog = commands.add_parser("intake", help="events waiting in the intake journal")
    backlog.add_argument("--json", action="store_true", help="machine-readable output")
    backlog.set_defaults(run=lazy("cli.reconcile:intake"))


def migrate(commands: Commands) -> None:
    parser = commands.add_parser("migrate", help="bring the product database's schema to head")
    parser.set_defaults(run=lazy("cli.migrate:migrate"))
