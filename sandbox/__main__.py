"""Run the three sandboxes by hand: `python -m sandbox --zendesk-port 8101 ...`.

The product's `worker.py --dev` builds the same apps itself; this entry point is for poking
at the sandboxes with curl or pointing a locally run product at them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from sandbox import klaviyo, twilio, zendesk


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--zendesk-port", type=int, default=8101)
    parser.add_argument("--twilio-port", type=int, default=8102)
    parser.add_argument("--klaviyo-port", type=int, default=8103)
    parser.add_argument(
        "--state-dir", type=Path, help="keep each service's data in a JSON file here"
    )
    parser.add_argument("--zendesk-subdomain", default="acme")
    parser.add_argument("--zendesk-oauth-token", default=zendesk.OAUTH_TOKEN)
    parser.add_argument("--zendesk-api-email", default=zendesk.API_EMAIL)
    parser.add_argument("--zendesk-api-token", default=zendesk.API_TOKEN)
    parser.add_argument("--zendesk-webhook-url", help="where Zendesk webhooks go (none if unset)")
    parser.add_argument("--zendesk-webhook-secret", default=zendesk.WEBHOOK_SECRET)
    parser.add_argument("--twilio-account-sid", default=twilio.ACCOUNT_SID)
    parser.add_argument("--twilio-auth-token", default=twilio.AUTH_TOKEN)
    parser.add_argument("--twilio-inbound-url", help="where inbound texts are posted")
    parser.add_argument(
        "--twilio-number",
        action="append",
        dest="twilio_numbers",
        help="a number the account owns (repeatable; any sender is accepted if none is given)",
    )
    parser.add_argument("--klaviyo-api-key", default=klaviyo.API_KEY)
    return parser.parse_args()


def _apps(args: argparse.Namespace) -> dict[str, tuple[FastAPI, int]]:
    def state_file(name: str) -> Path | None:
        return None if args.state_dir is None else args.state_dir / f"{name}.json"

    return {
        "zendesk": (
            zendesk.create_zendesk_app(
                webhook_url=args.zendesk_webhook_url,
                webhook_secret=args.zendesk_webhook_secret,
                oauth_token=args.zendesk_oauth_token,
                api_email=args.zendesk_api_email,
                api_token=args.zendesk_api_token,
                state_file=state_file("zendesk"),
                subdomain=args.zendesk_subdomain,
            ),
            args.zendesk_port,
        ),
        "twilio": (
            twilio.create_twilio_app(
                account_sid=args.twilio_account_sid,
                auth_token=args.twilio_auth_token,
                state_file=state_file("twilio"),
                inbound_webhook_url=args.twilio_inbound_url,
                owned_numbers=args.twilio_numbers,
            ),
            args.twilio_port,
        ),
        "klaviyo": (
            klaviyo.create_klaviyo_app(
                api_key=args.klaviyo_api_key, state_file=state_file("klaviyo")
            ),
            args.klaviyo_port,
        ),
    }


async def _serve(args: argparse.Namespace) -> None:
    """All three on one event loop; Ctrl-C stops them together."""
    servers = []
    for name, (app, port) in _apps(args).items():
        print(f"{name:8} sandbox: http://{args.host}:{port}  (control: /_sandbox/...)")
        servers.append(uvicorn.Server(uvicorn.Config(app, host=args.host, port=port)))
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(_arguments()))


if __name__ == "__main__":
    main()
