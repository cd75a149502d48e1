"""The SMS provider's rules as the product meets them, and the webhooks they fire.

Sending checks what Twilio checks (the sender belongs to the account, the recipient is a valid
number and has not opted out) with Twilio's error codes; every message then moves on to
`sent` and `delivered` (or `undelivered` for unreachable numbers) with signed status callbacks.
Inbound texts are signed form posts to the product, and STOP/START keywords change the
opt-out list just as Twilio's default opt-out handling does.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel

from sandbox.delivery import TWILIO_POLICY, DeliveryConfig
from sandbox.e164 import E164
from sandbox.segments import segment_count
from sandbox.service import ApiError
from sandbox.signing import TWILIO_SIGNATURE_HEADER, twilio_signature
from sandbox.state import WebhookState

API_VERSION = "2010-04-01"
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
MAX_BODY = 1600

MessageStatus = Literal["queued", "sent", "delivered", "undelivered", "failed", "received"]
Direction = Literal["outbound-api", "inbound"]


class TwilioError(ApiError):
    """Twilio's error body: `{"code", "message", "more_info", "status"}`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        more_info = f"https://www.twilio.com/docs/errors/{code}"
        body = {"code": code, "message": message, "more_info": more_info, "status": status}
        super().__init__(status, body)


class TwilioConfig(DeliveryConfig):
    """Run-time settings (`POST /_sandbox/config`)."""

    inbound_webhook_url: str | None = None


class Message(BaseModel):
    sid: str
    direction: Direction
    to: str
    from_number: str
    body: str
    media_urls: list[str] = []
    media_fetched: list[dict[str, Any]] = []
    """What the provider fetched of an outbound message's media (`twilio_media`)."""
    status: MessageStatus
    num_segments: int
    status_callback: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    date_created: float
    date_updated: float
    date_sent: float | None = None


class TwilioData(BaseModel):
    messages: list[Message] = []
    opted_out: list[str] = []
    unreachable: list[str] = []


def rfc2822(seconds: float | None) -> str | None:
    return None if seconds is None else format_datetime(datetime.fromtimestamp(int(seconds), UTC))


class TwilioState(WebhookState[TwilioData, TwilioConfig]):
    """One Twilio account: its messages, opt-outs and unreachable numbers."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        owned_numbers: Sequence[str] | None,
        config: TwilioConfig,
        state_file: Path | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        super().__init__(TwilioData, state_file, config, transport, TWILIO_POLICY)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.owned_numbers = None if owned_numbers is None else frozenset(owned_numbers)
        #: Customers' media by media sid: (content type, bytes); kept for this process only.
        self.media: dict[str, tuple[str, bytes]] = {}
        #: Media sids of each message, in order.
        self.media_of: dict[str, list[str]] = {}
        #: Outbound media are fetched from the product the way webhooks reach it.
        self.media_transport = transport

    def message(self, sid: str) -> Message:
        found = next((m for m in self.data.messages if m.sid == sid), None)
        if found is None:
            raise TwilioError(
                404, 20404, f"The requested resource /Messages/{sid}.json was not found"
            )
        return found

    def message_json(self, message: Message) -> dict[str, Any]:
        """The Message resource as Twilio's API shows it (counts are strings there)."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": rfc2822(message.date_created),
            "date_sent": rfc2822(message.date_sent),
            "date_updated": rfc2822(message.date_updated),
            "direction": message.direction,
            "error_code": message.error_code,
            "error_message": message.error_message,
            "from": message.from_number,
            "messaging_service_sid": None,
            "num_media": str(len(message.media_urls)),
            "num_segments": str(message.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": message.status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }

    def send(
        self,
        *,
        to: str,
        from_number: str,
        body: str,
        media_urls: list[str],
        status_callback: str | None,
        media_fetched: list[dict[str, Any]] | None = None,
        media_failure: str | None = None,
    ) -> dict[str, Any]:
        """Accept one outbound message; returns the 201 body (status `queued`). A message
        whose media could not be fetched (`media_failure`) fails then, as at Twilio."""
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not E164.fullmatch(to):
            raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not from_number:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if self.owned_numbers is not None and from_number not in self.owned_numbers:
            raise TwilioError(
                400,
                21606,
                f"The From phone number {from_number} is not a valid, SMS-capable inbound phone"
                " number or short code for your account.",
            )
        if not body and not media_urls:
            raise TwilioError(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            raise TwilioError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if to in self.data.opted_out:
            raise TwilioError(400, 21610, "Attempt to send to unsubscribed recipient")
        message = self._new_message("outbound-api", from_number, to, body, media_urls)
        message.status_callback = status_callback
        message.media_fetched = media_fetched or []
        accepted = self.message_json(message)
        self.data.messages.append(message)
        self._carry(message, media_failure)
        self.save()
        return accepted

    def _new_message(
        self, direction: Direction, sender: str, to: str, body: str, media_urls: list[str]
    ) -> Message:
        now = self.clock()
        return Message(
            sid=("MM" if media_urls else "SM") + uuid.uuid4().hex,
            direction=direction,
            to=to,
            from_number=sender,
            body=body,
            media_urls=media_urls,
            status="queued",
            num_segments=segment_count(body),
            date_created=now,
            date_updated=now,
        )

    def _carry(self, message: Message, media_failure: str | None = None) -> None:
        """Hand the message to the (imaginary) carrier: its final status is known at once,
        and the status callbacks report `sent` and then that final status, in this order."""
        message.date_sent = message.date_updated = self.clock()
        steps: list[dict[str, str]] = [{"MessageStatus": "sent"}]
        if media_failure is not None:
            # Twilio fetches the media before sending: nothing reaches the handset.
            message.date_sent = None
            message.status, message.error_code = "failed", 11200
            message.error_message = f"HTTP retrieval failure: {media_failure}"
            steps = [{"MessageStatus": "failed", "ErrorCode": "11200"}]
        elif message.to in self.data.unreachable:
            message.status, message.error_code = "undelivered", 30003
            message.error_message = "Unreachable destination handset"
            steps.append({"MessageStatus": "undelivered", "ErrorCode": "30003"})
        else:
            message.status = "delivered"
            steps.append({"MessageStatus": "delivered"})
        if message.status_callback is None:
            return
        for step in steps:
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "From": message.from_number,
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "SmsStatus": step["MessageStatus"],
                "To": message.to,
                **step,
            }
            self._post_form(
                message.status_callback, params, f"status:{step['MessageStatus']}", message.sid
            )

    def receive(
        self,
        *,
        sender: str,
        to: str,
        body: str,
        media_urls: list[str],
        hosted_media: Callable[[str], list[tuple[str, str]]] | None = None,
    ) -> Message:
        """A text from a customer: recorded, opt-out keywords applied, posted to the product.

        `hosted_media` keeps the customer's own media under the message's sid and returns
        (URL, content type) for each; `media_urls` name media hosted elsewhere."""
        url = self.config.inbound_webhook_url
        if url is None:
            raise TwilioError(409, 20409, "inbound_webhook_url is not configured")
        message = self._new_message("inbound", sender, to, body, media_urls)
        typed = [(u, mimetypes.guess_type(u)[0] or "image/jpeg") for u in media_urls]
        if hosted_media is not None:
            message.sid = "MM" + message.sid[2:]
            typed += hosted_media(message.sid)
            message.media_urls = [u for u, _ in typed]
        message.status, message.date_sent = "received", message.date_created
        keyword = body.strip().upper()
        if keyword in OPT_OUT_WORDS | OPT_IN_WORDS:
            _set_listed(self.data.opted_out, sender, keyword in OPT_OUT_WORDS)
        self.data.messages.append(message)
        self.save()
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": sender,
            "MessageSid": message.sid,
            "NumMedia": str(len(typed)),
            "NumSegments": str(message.num_segments),
            "SmsMessageSid": message.sid,
            "SmsSid": message.sid,
            "SmsStatus": "received",
            "To": to,
        }
        for index, (media_url, content_type) in enumerate(typed):
            params[f"MediaUrl{index}"] = media_url
            params[f"MediaContentType{index}"] = content_type
        self._post_form(url, params, "inbound", message.sid)
        return message

    def _post_form(self, url: str, params: dict[str, str], label: str, sid: str) -> None:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            TWILIO_SIGNATURE_HEADER: twilio_signature(self.auth_token, url, params),
        }
        self.deliverer.submit(
            url=url, content=urlencode(params).encode(), headers=headers, label=label, key=sid
        )

    def set_listed(self, listing: list[str], phone: str, listed: bool) -> None:
        """Put a number on (or take it off) the opt-out or unreachable list."""
        _set_listed(listing, phone, listed)
        self.save()


def _set_listed(listing: list[str], phone: str, listed: bool) -> None:
    if listed and phone not in listing:
        listing.append(phone)
    elif not listed and phone in listing:
        listing.remove(phone)
