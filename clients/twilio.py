"""Twilio-compatible Messages API client: send a text, and look sent texts up again."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from email.utils import parsedate_to_datetime

import httpx
from pydantic import BaseModel, ConfigDict, Field

from clients.errors import RejectedRequest, send

SERVICE = "sms"

#: Twilio error code for a recipient who replied STOP: no text can reach them.
OPTED_OUT_ERROR = 21610


class TwilioMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    sid: str
    status: str
    to: str
    from_: str = Field(alias="from")
    body: str = ""
    num_segments: int | None = None
    error_code: int | None = None
    direction: str | None = None
    num_media: int | None = None
    #: RFC 2822, as Twilio writes it ("Wed, 02 Dec 2026 10:15:00 +0000").
    date_sent: str | None = None

    @property
    def sent_at(self) -> datetime | None:
        return parsedate_to_datetime(self.date_sent) if self.date_sent else None


def twilio_error_code(error: RejectedRequest) -> int | None:
    """The provider's error code (e.g. 21610) from a rejected request's JSON body."""
    try:
        code = json.loads(error.body).get("code")
    except (ValueError, AttributeError):
        return None
    return int(code) if isinstance(code, int | str) and str(code).isdigit() else None


class TwilioClient:
    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, account_sid: str, auth_token: str
    ) -> None:
        self._http = http
        self._api_root = base_url.rstrip("/")
        self._messages_url = f"{self._api_root}/2010-04-01/Accounts/{account_sid}/Messages.json"
        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json"}

    async def send_message(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        status_callback: str | None = None,
        media_urls: list[str] | None = None,
    ) -> TwilioMessage:
        """Send a text; with `media_urls` (up to 10) an MMS, whose media the provider fetches."""
        form: dict[str, str | list[str]] = {"To": to, "From": from_, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        if media_urls:
            form["MediaUrl"] = media_urls
        request = self._http.build_request(
            "POST", self._messages_url, data=form, headers=self._headers
        )
        response = await send(SERVICE, self._http, request)
        return TwilioMessage.model_validate(response.json())

    async def list_messages(
        self, *, to: str, from_: str, sent_on_or_after: date | None = None
    ) -> list[TwilioMessage]:
        """Messages sent from `from_` to `to`, newest first (the first page)."""
        params = {"To": to, "From": from_, "PageSize": "100"}
        if sent_on_or_after is not None:
            params["DateSent>"] = sent_on_or_after.isoformat()
        request = self._http.build_request(
            "GET", self._messages_url, params=params, headers=self._headers
        )
        response = await send(SERVICE, self._http, request)
        return [TwilioMessage.model_validate(m) for m in response.json()["messages"]]

    async def list_media(self, message_sid: str) -> list[tuple[str, str]]:
        """A message's media as (URL, content type): the URL is the Media resource without
        `.json`, what the inbound webhook names as `MediaUrl{N}`."""
        url = self._messages_url.removesuffix(".json") + f"/{message_sid}/Media.json"
        request = self._http.build_request("GET", url, headers=self._headers)
        response = await send(SERVICE, self._http, request)
        return [
            (self._api_root + str(m["uri"]).removesuffix(".json"), str(m.get("content_type") or ""))
            for m in response.json()["media_list"]
        ]

    async def received_messages(
        self, *, to: str, sent_on_or_after: date
    ) -> AsyncIterator[list[TwilioMessage]]:
        """Every inbound text to `to` sent on or after that day (UTC), a page at a time,
        following `next_page_uri` to the end (the reconciler's view, B10)."""
        params = {"To": to, "DateSent>": sent_on_or_after.isoformat(), "PageSize": "1000"}
        request = self._http.build_request(
            "GET", self._messages_url, params=params, headers=self._headers
        )
        while True:
            page = (await send(SERVICE, self._http, request)).json()
            yield [
                TwilioMessage.model_validate(m)
                for m in page["messages"]
                if m.get("direction") == "inbound"
            ]
            next_uri = page.get("next_page_uri")
            if not next_uri:
                return
            request = self._http.build_request(
                "GET", self._api_root + next_uri, headers=self._headers
            )
