"""Offline Twilio Programmable Messaging: the Messages API and `/_sandbox/*` for tests.

Paths and form fields follow `twilio_api_v2010.json`. Tests play the customer through
`POST /_sandbox/inbound`, which posts a signed inbound-SMS webhook to the product.
"""

from __future__ import annotations

import base64
import hmac
import operator
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import QueryParams
from starlette.responses import Response

from sandbox import credentials
from sandbox.middleware import CONTROL_PREFIX, ApiSurface
from sandbox.service import service_app
from sandbox.twilio_media import (
    InboundMedia,
    add_media_routes,
    fetch_outbound_media,
    host_inbound_media,
    media_json,
)
from sandbox.twilio_state import Message, TwilioConfig, TwilioError, TwilioState

ACCOUNT_SID = credentials.TWILIO_ACCOUNT_SID
AUTH_TOKEN = credentials.TWILIO_AUTH_TOKEN

_DATE_FILTERS: dict[str, Callable[[Any, Any], bool]] = {
    "DateSent": operator.eq,
    "DateSent<": operator.le,
    "DateSent>": operator.ge,
}


def twilio_error(status: int, message: str) -> Response:
    """Codes 20xxx are Twilio's generic HTTP-level errors."""
    return TwilioError(status, 20001 if status == 400 else 20000 + status, message).response()


def _surface(account_sid: str, auth_token: str) -> ApiSurface:
    expected = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()

    def admit(request: Request) -> Response | None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and hmac.compare_digest(
            credential.encode(), expected.encode()
        ):
            return None
        return TwilioError(401, 20003, "Authenticate").response()

    return ApiSurface(spec="twilio", admit=admit, error=twilio_error)


def _sent_on_filters(message: Message, params: QueryParams) -> bool:
    """`DateSent`, `DateSent<` (on or before) and `DateSent>` (on or after), each a GMT date
    (`YYYY-MM-DD`, compared by day) or a full ISO date-time."""
    sent = datetime.fromtimestamp(message.date_sent or message.date_created, UTC)
    for name, compare in _DATE_FILTERS.items():
        value = params.get(name)
        if value is None:
            continue
        try:
            if len(value) == 10:
                if not compare(sent.date(), date.fromisoformat(value)):
                    return False
                continue
            bound = datetime.fromisoformat(value)
        except ValueError as exc:
            raise TwilioError(400, 20001, f"Invalid {name}: {value}") from exc
        if not compare(sent, bound if bound.tzinfo else bound.replace(tzinfo=UTC)):
            return False
    return True


def _page_start(found: list[Message], token: str | None, page: int, size: int) -> int:
    """Where a page starts: right after the message a `PA<sid>` token names, `size` messages
    before the one a `PB<sid>` token names, else at `Page` * size."""
    if token is None:
        return page * size
    for index, message in enumerate(found):
        if token == f"PA{message.sid}":
            return index + 1
        if token == f"PB{message.sid}":
            return max(index - size, 0)
    raise TwilioError(400, 20001, f"Invalid PageToken: {token}")


def _add_api_routes(app: FastAPI, state: TwilioState) -> None:
    """The Messages API."""

    def own_account(account_sid: str) -> None:
        if account_sid != state.account_sid:
            raise TwilioError(
                404, 20404, f"The requested resource /Accounts/{account_sid} was not found"
            )

    @app.post("/2010-04-01/Accounts/{account_sid}/Messages.json", status_code=201)
    async def create_message(account_sid: str, request: Request) -> JSONResponse:
        own_account(account_sid)
        form: dict[str, list[str]] = {}
        for name, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
            form.setdefault(name, []).append(value)
        media_urls = form.get("MediaUrl", [])
        fetched, failure = await fetch_outbound_media(media_urls, state.media_transport)
        created = state.send(
            to=form.get("To", [""])[0],
            from_number=form.get("From", [""])[0],
            body=form.get("Body", [""])[0],
            media_urls=media_urls,
            status_callback=form.get("StatusCallback", [None])[0],
            media_fetched=media_json(fetched),
            media_failure=failure,
        )
        return JSONResponse(created, status_code=201)

    @app.get("/2010-04-01/Accounts/{account_sid}/Messages.json")
    async def list_messages(account_sid: str, request: Request) -> dict[str, Any]:
        """Newest first, filtered by To, From and the DateSent bounds, in pages.

        Like Twilio's, `next_page_uri` carries a `PageToken` naming the last message shown,
        and the next page starts after that message: texts arriving meanwhile (on top of the
        list) neither shift a message onto a second page nor push one past it.
        """
        own_account(account_sid)
        params = request.query_params
        try:
            size = min(max(int(params.get("PageSize", "50")), 1), 1000)
            page = max(int(params.get("Page", "0")), 0)
        except ValueError as exc:
            raise TwilioError(400, 20001, "PageSize and Page must be integers") from exc
        newest_first = sorted(
            enumerate(state.data.messages), key=lambda pair: (pair[1].date_created, pair[0])
        )
        found = [
            m
            for _, m in reversed(newest_first)
            if params.get("To", m.to) == m.to
            and params.get("From", m.from_number) == m.from_number
            and _sent_on_filters(m, params)
        ]
        first = _page_start(found, params.get("PageToken"), page, size)
        shown = found[first : first + size]
        kept = [
            (k, v) for k, v in params.multi_items() if k not in {"Page", "PageSize", "PageToken"}
        ]

        def uri(number: int, token: str | None = None) -> str:
            query = [*kept, ("PageSize", size), ("Page", number)]
            if token is not None:
                query.append(("PageToken", token))
            return f"{request.url.path}?{urlencode(query)}"

        more = len(found) > first + size
        return {
            "messages": [state.message_json(m) for m in shown],
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(shown) - 1, 0),
            "uri": uri(page, params.get("PageToken")),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, f"PA{shown[-1].sid}") if more else None,
            "previous_page_uri": uri(max(page - 1, 0), f"PB{shown[0].sid}")
            if first > 0 and shown
            else None,
        }

    add_media_routes(app, state)

    @app.get("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json")
    async def show_message(account_sid: str, sid: str) -> dict[str, Any]:
        own_account(account_sid)
        return state.message_json(state.message(sid))


class Phone(BaseModel):
    phone: str


class Reachability(BaseModel):
    phone: str
    unreachable: bool = True


class InboundText(BaseModel):
    """A text a customer sends (`from` is a Python keyword, hence the alias)."""

    sender: str = Field(alias="from")
    to: str
    body: str = ""
    media_urls: list[str] = []
    #: The customer's own pictures: kept by the sandbox behind the account's credentials.
    media: list[InboundMedia] = []


def _sandbox_router(state: TwilioState) -> APIRouter:
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox"])

    @router.get("/messages")
    async def all_messages() -> dict[str, Any]:
        return {
            "messages": [
                {
                    **state.message_json(m),
                    "media_urls": m.media_urls,
                    "media_fetched": m.media_fetched,
                    "status_callback": m.status_callback,
                }
                for m in state.data.messages
            ]
        }

    @router.post("/opt_out")
    async def opt_out(given: Phone) -> dict[str, Any]:
        state.set_listed(state.data.opted_out, given.phone, True)
        return {"opted_out": state.data.opted_out}

    @router.post("/opt_in")
    async def opt_in(given: Phone) -> dict[str, Any]:
        state.set_listed(state.data.opted_out, given.phone, False)
        return {"opted_out": state.data.opted_out}

    @router.post("/unreachable")
    async def unreachable(given: Reachability) -> dict[str, Any]:
        state.set_listed(state.data.unreachable, given.phone, given.unreachable)
        return {"unreachable": state.data.unreachable}

    @router.post("/inbound")
    async def inbound(text: InboundText, request: Request) -> dict[str, Any]:
        """Play the customer: the signed webhook goes out in the background (see /flush)."""
        base = str(request.base_url)
        message = state.receive(
            sender=text.sender,
            to=text.to,
            body=text.body,
            media_urls=text.media_urls,
            hosted_media=(lambda sid: host_inbound_media(state, base, sid, text.media))
            if text.media
            else None,
        )
        return {"sid": message.sid, "media_urls": message.media_urls}

    return router


def create_twilio_app(
    *,
    account_sid: str = ACCOUNT_SID,
    auth_token: str = AUTH_TOKEN,
    state_file: Path | None = None,
    inbound_webhook_url: str | None = None,
    owned_numbers: list[str] | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the SMS provider sandbox; its state is `app.state.sandbox` (a `TwilioState`).

    Args:
        account_sid, auth_token: the account's credentials (HTTP Basic), also the key
            webhooks are signed with.
        state_file: JSON file the data is kept in across restarts (None: memory only).
        inbound_webhook_url: where inbound texts are posted (settable later via config).
        owned_numbers: the account's numbers; sending from another is error 21606
            (None: any sender is accepted).
        webhook_transport: httpx transport for webhooks (tests deliver in-process with it).
    """
    state = TwilioState(
        account_sid=account_sid,
        auth_token=auth_token,
        owned_numbers=owned_numbers,
        config=TwilioConfig(inbound_webhook_url=inbound_webhook_url),
        state_file=state_file,
        transport=webhook_transport,
    )

    return service_app(
        "Twilio sandbox",
        state,
        _surface(account_sid, auth_token),
        add_api_routes=lambda app: _add_api_routes(app, state),
        control=_sandbox_router(state),
    )
