"""Zendesk's request limits as Zendesk enforces them (B14), and the headers that tell of them.

- The plan's limit counts every API request of the account (`requests_per_minute`; Enterprise
  is 700). Every response says where the account stands: `X-Rate-Limit` and
  `X-Rate-Limit-Remaining`.
- Update Ticket (`PUT /api/v2/tickets/{id}`, and Update Many, which Zendesk counts alike) has
  its own 100 a minute per account (`update_ticket_requests_per_minute`), agents' own saves
  included; those requests count against the plan too.
- Ticketing endpoints (`/api/v2/tickets…`) also send `ratelimit-limit`, `ratelimit-remaining`
  and `ratelimit-reset` for the window that governs them: Update Ticket's own for an update,
  the account's for the rest. `ratelimit-reset` is the whole seconds until one more request
  fits again (each window is rolling, so that is when its oldest request ages out).
- Over a limit: 429 with `Retry-After`. A window with no limit configured sends no headers.

The 30 updates per ticket per 10 minutes are judged with the ticket itself
(`zendesk_checks.check_updatable`), after these.
"""

from __future__ import annotations

import re

from sandbox.ratelimit import RollingWindow
from sandbox.zendesk_model import ZendeskConfig, ZendeskError

_UPDATE_TICKET = re.compile(r"/api/v2/tickets/(?:\d+|update_many)")


def is_ticket_update(method: str, path: str) -> bool:
    """Does this request count against Update Ticket's own limit?"""
    return method == "PUT" and _UPDATE_TICKET.fullmatch(path.removesuffix(".json")) is not None


def is_ticketing(path: str) -> bool:
    return path == "/api/v2/tickets" or path.startswith(("/api/v2/tickets/", "/api/v2/tickets."))


class ZendeskLimits:
    """The account's two rolling windows: all API requests, and Update Ticket's."""

    def __init__(self) -> None:
        self.account = RollingWindow()
        self.update = RollingWindow()

    def clear(self) -> None:
        self.account.clear()
        self.update.clear()

    def admit(
        self, method: str, path: str, config: ZendeskConfig, now: float
    ) -> ZendeskError | None:
        """Count one request; the 429 that refuses it, if a window is full."""
        self._size(config)
        wait = self.account.admit(now, config.requests_per_minute)
        if wait is not None:
            return ZendeskError(
                429, "TooManyRequests", "Account rate limit exceeded", retry_after=wait
            )
        if is_ticket_update(method, path):
            wait = self.update.admit(now, config.update_ticket_requests_per_minute)
            if wait is not None:
                return ZendeskError(
                    429,
                    "TooManyRequests",
                    "Update Ticket rate limit exceeded for this account",
                    retry_after=wait,
                )
        return None

    def headers(self, method: str, path: str, config: ZendeskConfig, now: float) -> dict[str, str]:
        """The rate-limit headers of a response, counted after the request was admitted."""
        self._size(config)
        headers: dict[str, str] = {}
        plan = config.requests_per_minute
        if plan is not None:
            headers["X-Rate-Limit"] = str(plan)
            headers["X-Rate-Limit-Remaining"] = str(self.account.remaining(now, plan))
        if is_ticketing(path):
            window, limit = self.account, plan
            if is_ticket_update(method, path):
                window, limit = self.update, config.update_ticket_requests_per_minute
            if limit is not None:
                headers["ratelimit-limit"] = str(limit)
                headers["ratelimit-remaining"] = str(window.remaining(now, limit))
                headers["ratelimit-reset"] = str(window.reset(now))
        return headers

    def _size(self, config: ZendeskConfig) -> None:
        self.account.seconds = self.update.seconds = config.rate_limit_window_seconds
